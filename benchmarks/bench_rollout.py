"""Rollout throughput at several batch sizes, measured side by side in one run.

For each env and each batch size B, plays B episodes at once (the first B tasks
of the split, repeated as GRPO groups if the split is shorter) for a fixed
number of steps with the LLM agent (greedy), and reports

- env steps/s: agent steps of all episodes / wall time of the whole rollout,
- generated tokens/s: tokens generated / wall time of the rollout,
- the share of the wall time spent in ``generate`` (the rest is env stepping
  and prompt rendering),

and the ratio of each batch size's tokens/s to batch 1's. Each setting runs
``--repeats`` times and the fastest run is reported (greedy decoding makes the
runs identical in work, so the spread is only interference).

With ``--decoding free admissible`` every setting is measured under both
decodings, interleaved, and each admissible row also reports its env steps/s
against free decoding's at the same batch size: what masking the answers to
the admissible actions costs (or saves: its answers end at their end token).

    python benchmarks/bench_rollout.py                     # default model, every env with a pretrain split
    python benchmarks/bench_rollout.py --env alfworld --batches 1 16 64 --steps 6 --model path/to/model
    python benchmarks/bench_rollout.py --decoding free admissible --batches 16 64
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time


class TimedAgent:
    """Wraps an LLM agent and adds up the time spent in its batched generation."""

    def __init__(self, agent):
        self.agent, self.name = agent, agent.name
        self.generate_seconds = 0.0

    def reseed(self, seed):
        self.agent.reseed(seed)

    def generate_batch(self, requests, record_tokens=False):
        started = time.perf_counter()
        out = self.agent.generate_batch(requests, record_tokens=record_tokens)
        self.generate_seconds += time.perf_counter() - started
        return out


def measure(env: str, split: str, batch: int, steps: int, model, tokenizer, max_new_tokens: int,
            decoding: str = "free") -> dict:
    from prism_gym.agents.llm import LLMAgent
    from prism_gym.plugins import get_registry
    from prism_gym.rollout import rollout

    tasks = get_registry().env(env).list_tasks(split, limit=batch)
    group = -(-batch // len(tasks))  # ceil: repeat tasks as groups when the split is short
    tasks = tasks[:-(-batch // group)]
    agent = TimedAgent(LLMAgent(env, model=model, tokenizer=tokenizer, max_new_tokens=max_new_tokens,
                                decoding=decoding))
    started = time.perf_counter()
    episodes = rollout(env, tasks, agent, group_size=group, max_steps=steps, progress=False)[:batch]
    wall = time.perf_counter() - started
    env_steps = sum(ep.trajectory.num_steps for ep in episodes)
    tokens = sum(ep.generated_tokens for ep in episodes)
    return {"env": env, "decoding": decoding, "batch": batch, "episodes": len(episodes), "env_steps": env_steps,
            "generated_tokens": tokens, "prompt_tokens": sum(ep.prompt_tokens for ep in episodes),
            "wall_s": round(wall, 3), "generate_share": round(agent.generate_seconds / wall, 3),
            "env_steps_per_s": round(env_steps / wall, 2), "tokens_per_s": round(tokens / wall, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", action="append", help="env short name (repeatable; default: every env with a "
                                                         "pretrain split)")
    parser.add_argument("--split", default=None, help="split to draw tasks from (default: the env's first eval split)")
    parser.add_argument("--model", default=None, help="model dir or hub id (default: the embedded default model)")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--steps", type=int, default=4, help="agent steps per episode")
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=2, help="runs per setting; the fastest is reported "
                                                               "(the others were slowed by whatever else ran)")
    parser.add_argument("--decoding", nargs="+", choices=("free", "admissible"), default=["free"],
                        help="decodings to measure side by side (default: free)")
    parser.add_argument("--json", default=None, help="also write the rows to this JSON file")
    args = parser.parse_args()

    import torch

    from prism_gym.models import load_model_and_tokenizer
    from prism_gym.plugins import get_registry

    registry = get_registry()
    envs = args.env or sorted(n for n, (_, s) in registry.envs().items() if "pretrain" in s.splits)
    model, tokenizer = load_model_and_tokenizer(args.model)
    print(f"machine: {platform.machine()} {os.cpu_count()} CPUs, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; model {args.model or 'default'} "
          f"({sum(p.numel() for p in model.parameters()) / 1e6:.2f} M parameters)")
    rows = []
    for env in envs:
        spec = registry.env(env)
        split = args.split or (spec.eval_splits[0] if spec.eval_splits else spec.splits[0])
        for decoding in args.decoding:  # warm-up (allocations, caches)
            measure(env, split, 1, 1, model, tokenizer, args.max_new_tokens, decoding)
        base: dict[str, float] = {}
        for batch in args.batches:
            free_steps = None
            for decoding in args.decoding:
                runs = [measure(env, split, batch, args.steps, model, tokenizer, args.max_new_tokens, decoding)
                        for _ in range(args.repeats)]
                row = min(runs, key=lambda r: r["wall_s"])
                base.setdefault(decoding, row["tokens_per_s"])
                row["tokens_per_s_vs_batch1"] = round(row["tokens_per_s"] / base[decoding], 2) if base[decoding] else None
                if decoding == "free":
                    free_steps = row["env_steps_per_s"]
                elif free_steps:
                    row["env_steps_per_s_vs_free"] = round(row["env_steps_per_s"] / free_steps, 2)
                rows.append(row)
                versus = f", x{row['env_steps_per_s_vs_free']} the env steps/s of free" if "env_steps_per_s_vs_free" in row else ""
                print(f"{env:9s} {decoding:10s} batch {batch:3d}: {row['env_steps_per_s']:8.2f} env steps/s "
                      f"{row['tokens_per_s']:9.1f} tokens/s  (x{row['tokens_per_s_vs_batch1']} of batch 1, "
                      f"{row['generate_share']:.0%} in generate, {row['wall_s']} s{versus})", flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(rows, fh, indent=2)


if __name__ == "__main__":
    main()
