"""What a base model knows before any task training, at the tiny preset's
evaluation protocol: success per split with its Wilson 95% interval, score,
success per task type, beside the model-free reference agents (random, rule,
expert) on the same tasks.

The tiny preset's protocol is read from the preset itself (admissible
decoding, goal-span search queries, temperature 0.4, 128 episodes per split,
step limits 40 / 15, the answer budget from the expert's answers), so the
base model is measured exactly as a run's evaluation measures a policy.
Several ``--model`` directories give one row each: the curve of base
success against the build recipe (each row names its ``expert_share``,
``walker_noise`` and size from the model's build.json).

    python benchmarks/bench_base_prior.py                          # the embedded default model
    python benchmarks/bench_base_prior.py --model DIR_A --model DIR_B --json prior.json
    python benchmarks/bench_base_prior.py --episodes 32 --envs alfworld   # a quick look
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

REFERENCE_AGENTS = {"alfworld": ("random", "expert"), "webshop": ("random", "rule", "expert")}


def recipe(model_dir: str | None) -> dict:
    """The build settings that matter for the curve, from the model's build.json."""
    from prism_gym.agents.default_model import BuildSettings, find_default_model

    path = Path(model_dir) if model_dir else find_default_model(BuildSettings())
    info_file = path / "build.json" if path else None
    if not info_file or not info_file.is_file():
        return {"model": str(model_dir)}
    info = json.loads(info_file.read_text())
    s = info["settings"]
    return {"model": str(model_dir or "default"), "expert_share": s.get("expert_share", 0.0),
            "walker_noise": s.get("walker_noise", 0.5), "expert_task_types": s.get("expert_task_types", []),
            "parameters": info.get("parameters"), "trained_tokens": info.get("trained_tokens"),
            "weights_sha256": info.get("weights_sha256", "")[:12]}


def evaluate_row(env: str, split: str, agent, cfg, label: str) -> dict:
    import torch

    from prism_gym.evaluation import evaluate
    from prism_gym.stats import wilson

    started = time.perf_counter()
    with torch.no_grad():
        m = evaluate(env, agent, split=split, episodes=cfg.eval.episodes, seed=cfg.seed,
                     max_steps=cfg.eval.max_steps, progress=False)
    wins = round(m["success_rate"] * m["episodes"])
    interval = wilson(wins, m["episodes"])
    return {"env": env, "split": split, "agent": label, "episodes": m["episodes"], "wins": wins,
            "success_rate": m["success_rate"], "success_low": interval.low, "success_high": interval.high,
            "score": round(m["score"], 2), "mean_steps": round(m["mean_steps"], 2),
            "per_task_type": {t: round(v["success_rate"], 4) for t, v in sorted(m["per_task_type"].items())},
            "seconds": round(time.perf_counter() - started, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", default=None,
                        help="model directory (repeatable; default: the embedded default model)")
    parser.add_argument("--envs", default="alfworld,webshop")
    parser.add_argument("--episodes", type=int, default=None, help="episodes per split (default: the preset's 128)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-references", action="store_true", help="skip the random / rule / expert rows")
    parser.add_argument("--json", default=None, help="also write the rows to this file")
    args = parser.parse_args()
    envs = [e.strip() for e in args.envs.split(",") if e.strip()]
    unknown = set(envs) - set(REFERENCE_AGENTS)
    if unknown:
        parser.error(f"--envs: unknown {', '.join(sorted(unknown))} (known: alfworld, webshop)")
    if args.episodes is not None and args.episodes < 1:
        parser.error("--episodes must be at least 1")
    for model in args.model or []:
        if not Path(model).is_dir():
            parser.error(f"--model {model}: no such directory")

    import torch

    torch.set_num_threads(args.threads)
    from prism_gym.agents.prompts import answer_budget
    from prism_gym.models import load_model_and_tokenizer
    from prism_gym.plugins import get_registry
    from prism_gym.protocol import EvaluationProtocol, SplitPlan
    from prism_gym.runner import services
    from prism_gym.runner.presets import make_config
    from prism_gym.runner.run import BUDGET_REFERENCE_TASKS

    registry = get_registry()
    rows, models = [], []
    references = {env: services.collect_expert(env, services.list_tasks(env, "train", BUDGET_REFERENCE_TASKS, 0),
                                               seed=0, max_steps=None) for env in envs}
    for model_dir in args.model or [None]:
        model, tokenizer = load_model_and_tokenizer(model_dir)
        models.append(recipe(model_dir))
        for env in envs:
            cfg = make_config("tiny", env, "sft-only")
            if args.episodes is not None:
                cfg.eval.episodes = args.episodes
            budget = cfg.eval.max_new_tokens or answer_budget(
                tokenizer, [turn.action for t in references[env] for turn in t.turns])
            splits = cfg.eval.splits or registry.env(env).eval_splits
            protocol = EvaluationProtocol(splits=tuple(SplitPlan(split, cfg.seed, cfg.eval.episodes) for split in splits),
                                          max_new_tokens=budget, max_steps=cfg.eval.max_steps,
                                          temperature=cfg.eval.temperature, decoding=cfg.agent.decoding,
                                          slot_text=cfg.agent.slot_text)
            llm = registry.agent("llm").build(env_name=env, model=model, tokenizer=tokenizer, seed=cfg.seed,
                                               **protocol.llm_options())
            for split in cfg.eval.splits or registry.env(env).eval_splits:
                rows.append({**evaluate_row(env, split, llm, cfg, "llm"), "model": models[-1]["model"]})
                print(_line(rows[-1]), flush=True)
    if not args.no_references:
        for env in envs:
            cfg = make_config("tiny", env, "sft-only")
            if args.episodes is not None:
                cfg.eval.episodes = args.episodes
            for name in REFERENCE_AGENTS[env]:
                agent = registry.agent(name).build(env_name=env, **({"seed": cfg.seed} if name == "random" else {}))
                for split in cfg.eval.splits or registry.env(env).eval_splits:
                    rows.append({**evaluate_row(env, split, agent, cfg, name), "model": None})
                    print(_line(rows[-1]), flush=True)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, {args.threads} threads"
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine, "models": models, "rows": rows}, indent=2))
    print(f"\n{machine}; the tiny preset's evaluation protocol")
    for m in models:
        print("model", json.dumps(m))


def _line(r: dict) -> str:
    who = r["agent"] if r["agent"] != "llm" else f"llm {Path(str(r['model'])).name[:40]}"
    return (f"{r['env']:9} {r['split']:13} {who:48} success {100 * r['success_rate']:5.1f}% "
            f"[{100 * r['success_low']:4.1f}, {100 * r['success_high']:4.1f}] ({r['wins']}/{r['episodes']}) "
            f"score {r['score']:6.2f}  {r['seconds']:.0f}s")


if __name__ == "__main__":
    main()
