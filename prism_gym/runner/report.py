"""Markdown tables of finished runs (what docs/results.md shows): one row per
run with quality, routing, per-stage cost and cost relative to the baselines."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from prism_gym.fileio import read_json
from prism_gym.runner.result import RESULT_FILE


def load_runs(runs_root: Path) -> list[dict]:
    return [read_json(p) for p in sorted(Path(runs_root).glob(f"*/{RESULT_FILE}"))]


def _fmt_rel(value) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def markdown_table(results: Sequence[dict]) -> str:
    head = ("| env | run | success | score | per split (success) | SFT / RL share | probe TFLOPs | SFT TFLOPs "
            "| RL TFLOPs | eval TFLOPs | total TFLOPs | wall s | vs rl-only | vs sft-then-rl |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in sorted(results, key=lambda r: (r["env"]["name"], r["run_id"])):
        st = r["ledger"]["stages"]
        tf = lambda s: f"{st[s]['flops'] / 1e12:.2f}"  # noqa: E731
        splits = ", ".join(f"{k} {v['success_rate']:.3f}" for k, v in r["metrics"]["per_split"].items())
        lines.append(
            f"| {r['env']['name']} | {r['baseline'] or r['router']['name']} | {r['metrics']['success_rate']:.3f} "
            f"| {r['metrics']['score']:.1f} | {splits} | {r['routing']['sft']} / {r['routing']['rl']} "
            f"| {tf('probe')} | {tf('sft')} | {tf('rl')} | {tf('eval')} | {r['ledger']['total']['flops'] / 1e12:.2f} "
            f"| {r['ledger']['total']['wall_s']:.0f} | {_fmt_rel(r['relative_cost']['vs_rl_only'])} "
            f"| {_fmt_rel(r['relative_cost']['vs_sft_then_rl'])} |")
    return "\n".join(lines) + "\n"
