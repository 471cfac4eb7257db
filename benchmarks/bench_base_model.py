"""How competent the base model is before any task training: sampled at T=1
on each env's evaluation splits, what share of its actions are valid
(admissible), well-formed (``<action>...</action>``), and how often it wins.

A base model for this benchmark must read its prompt (copy an admissible
action, an instruction's words into a search) without knowing the tasks:
valid actions high, success near the random agent's. The random agent is
measured on the same tasks side by side as the floor.

    python benchmarks/bench_base_model.py                      # embedded default model
    python benchmarks/bench_base_model.py --episodes 128 --max-steps 15 --model path/to/model
    python benchmarks/bench_base_model.py --temperature 0.4   # at the evaluation's decoding
    python benchmarks/bench_base_model.py --decoding admissible   # answers masked to the admissible actions
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time


def measure(env: str, split: str, agent, episodes: int, max_steps: int) -> dict:
    import torch

    from prism_gym.evaluation import evaluate

    started = time.perf_counter()
    with torch.no_grad():
        m = evaluate(env, agent, split=split, episodes=episodes, seed=0, max_steps=max_steps, progress=False)
    steps = m["mean_steps"] * m["episodes"]
    return {"env": env, "split": split, "agent": m["agent"], "episodes": m["episodes"], "steps": int(steps),
            "valid_action_rate": round(1 - m["invalid_action_rate"], 4),
            "well_formed_rate": round(1 - m["malformed_action_rate"], 4),
            "success_rate": round(m["success_rate"], 4), "score": round(m["score"], 2),
            "seconds": round(time.perf_counter() - started, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="model directory (default: the embedded default model)")
    parser.add_argument("--episodes", type=int, default=32, help="episodes per split")
    parser.add_argument("--max-steps", type=int, default=15, help="step limit per episode")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--temperature", type=float, default=1.0,
                        help="sampling temperature (default 1: the base model's own distribution)")
    parser.add_argument("--decoding", choices=("free", "admissible"), default="free",
                        help="free (the model's own answers) or admissible (masked to the listed actions)")
    parser.add_argument("--slot-text", choices=("free", "goal-span"), default="free",
                        help="admissible decoding: a search query's text, free or a span of the goal's words")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.temperature <= 0:
        parser.error("--temperature must be positive (the benchmark samples)")

    import torch

    torch.set_num_threads(args.threads)
    from prism_gym.agents.baselines import RandomAgent
    from prism_gym.agents.llm import LLMAgent
    from prism_gym.models import load_model_and_tokenizer
    from prism_gym.plugins import get_registry
    from prism_gym.runner.run import BUDGET_REFERENCE_TASKS
    from prism_gym.runner import services
    from prism_gym.agents.prompts import answer_budget, trajectory_chats
    from prism_gym.agents.default_model import common_tokens, copy_test

    model, tokenizer = load_model_and_tokenizer(args.model)
    references = {env: services.collect_expert(env, services.list_tasks(env, "train", BUDGET_REFERENCE_TASKS, 0),
                                               seed=0, max_steps=None) for env in ("alfworld", "webshop")}
    # The copy test draws from the tokens the envs' text uses (the expert chats'), as the build's does.
    chats = [chat for ts in references.values() for t in ts for chat in trajectory_chats(t)]
    copying = copy_test(model, common_tokens([tokenizer.apply_chat_template(c, tokenize=True, return_dict=False)
                                              for c in chats], tokenizer))
    rows = []
    for env, reference in references.items():
        spec = get_registry().env(env)
        budget = answer_budget(tokenizer, [turn.action for t in reference for turn in t.turns])
        for split in spec.eval_splits:
            llm = LLMAgent(env, model=model, tokenizer=tokenizer, do_sample=True, temperature=args.temperature,
                           max_new_tokens=budget, seed=0, decoding=args.decoding, slot_text=args.slot_text)
            rows.append(measure(env, split, llm, args.episodes, args.max_steps))
            rows.append(measure(env, split, RandomAgent(env, seed=0), args.episodes, args.max_steps))
    machine = f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, {args.threads} threads"
    if args.json:
        print(json.dumps({"machine": machine, "model": args.model or "default", "temperature": args.temperature,
                          "decoding": args.decoding,
                          "copy_test": copying, "rows": rows},
                         indent=2))
        return
    print(f"base model {args.model or 'default'} at T={args.temperature:g}, {args.decoding} decoding; {args.episodes} episodes per split, "
          f"at most {args.max_steps} steps; {machine}")
    print(f"copy test (a random {copying['tokens']}-token sequence, then its repeat): loss {copying['first']:.2f} "
          f"-> {copying['repeat']:.2f} nats per token (a model that copies predicts the repeat: near 0)")
    print(f"{'env':9} {'split':13} {'agent':7} {'valid':>6} {'formed':>7} {'success':>8} {'score':>6} {'steps':>6}")
    for r in rows:
        print(f"{r['env']:9} {r['split']:13} {r['agent']:7} {r['valid_action_rate']:6.3f} "
              f"{r['well_formed_rate']:7.3f} {r['success_rate']:8.3f} {r['score']:6.1f} {r['steps']:6d}")


if __name__ == "__main__":
    main()
