"""How trained policies' invalid actions compare with the untrained base model's.

Pairs each run's evaluation episodes with a reference's on the same tasks
(the tiny track evaluates every method on one fixed task list per split) and
prints, per split, the mean share of inadmissible actions per episode and the
paired difference with its 95% t interval over episodes.

The reference is the base model under the track's evaluation protocol, one
JSONL per split written by ``prism-gym eval --save-trajectories`` (128
episodes per split, at most 40 / 15 steps, T 0.4, the answer budget the runs
derive from their expert data: 24 / 48 tokens):

    for split in valid_seen valid_unseen; do
      prism-gym eval --env alfworld --split $split --episodes 128 --max-steps 40 \\
        --temperature 0.4 --max-new-tokens 24 --save-trajectories base/$split.jsonl
    done
    prism-gym eval --env webshop --split test --episodes 128 --max-steps 15 \\
      --temperature 0.4 --max-new-tokens 48 --save-trajectories base/test.jsonl
    python benchmarks/invalid_actions.py base runs/tiny-track/*-tiny-s0

A run's own ``eval/trajectories`` folder is a reference too (sft-then-rl
against sft-only of the same seed: what the RL stage changed).

Why per episode: the steps of one episode are not independent (a policy
repeats an invalid action to the step limit), so the episode is the unit
that is paired, and the interval is a t interval over episodes.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from prism_gym.cli.show import trajectory_files
from prism_gym.records import read_trajectories
from prism_gym.stats import t_interval


def invalid_shares(path: Path) -> dict[str, float]:
    """``{task key: share of the episode's steps that were invalid}``."""
    out = {}
    for trajectory in read_trajectories(path):
        steps = len(trajectory.turns)
        if steps:
            key = trajectory.task.id
            out[key] = int(trajectory.metadata.get("invalid_actions", 0)) / steps
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("reference", type=Path, help="folder of <split>.jsonl episodes to compare against")
    parser.add_argument("runs", type=Path, nargs="+", help="run directories (their eval/trajectories/*.jsonl)")
    args = parser.parse_args(argv)
    if not args.reference.is_dir():
        parser.error(f"{args.reference} is not a folder of <split>.jsonl episodes")
    try:  # every run checked before any output
        files = {run: trajectory_files(run) for run in args.runs}
    except ValueError as err:
        parser.error(str(err))

    print("| run | split | episodes | invalid % (run) | invalid % (reference) | difference, points [95% CI] |")
    print("|---|---|---:|---:|---:|---|")
    references = {}  # split file name -> the reference's shares, read once for all runs
    for run in args.runs:
        for path in files[run]:
            reference_path = args.reference / path.name
            if not reference_path.exists():
                continue
            if path.name not in references:
                references[path.name] = invalid_shares(reference_path)
            mine, theirs = invalid_shares(path), references[path.name]
            shared = sorted(set(mine) & set(theirs))
            if not shared:
                continue
            diff = t_interval([100 * (mine[k] - theirs[k]) for k in shared], what="episodes")
            run_mean = 100 * sum(mine[k] for k in shared) / len(shared)
            ref_mean = 100 * sum(theirs[k] for k in shared) / len(shared)
            print(f"| {run.name} | {path.stem} | {len(shared)} | {run_mean:.1f} | {ref_mean:.1f} | "
                  f"{diff.value:+.1f} [{diff.low:+.1f}, {diff.high:+.1f}] |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
