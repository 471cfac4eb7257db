"""The tiny track's run summaries as Markdown tables (docs/results.md and
docs/runner.md's "Measured run times"): per split, what the evaluated agent
did, and the wall time of every stage.

    python benchmarks/track_tables.py                     # leaderboard/runs
    python benchmarks/track_tables.py runs/tiny-track     # run directories

Each row is one result.json. The last column of the times says whether the
run kept to the tiny track's 15-minute target.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

STAGES = ("expert", "probe", "sft", "rl", "eval")
TARGET_S = 15 * 60


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}"


def outcome_rows(results: list[dict]) -> list[str]:
    out = []
    for r in results:
        for split, m in r["metrics"]["per_split"].items():
            won = round(m["success_rate"] * m["episodes"])
            out.append(f"| {r['run_id']} | {split} | {won}/{m['episodes']} ({_pct(m['success_rate'])}%) | "
                       f"{m['score']:.1f} | {_pct(m.get('goal_condition_success'))} | "
                       f"{_pct(m.get('invalid_action_rate'))} | {m.get('mean_steps', 0):.1f} |")
    return out


def time_rows(results: list[dict]) -> list[str]:
    out = []
    for r in results:
        stages = r["ledger"]["stages"]
        total = r["ledger"]["total"]["wall_s"]
        cells = [f"{stages[s]['wall_s']:.0f} s" if s in stages else "–" for s in STAGES]
        verdict = "yes" if total <= TARGET_S else f"no (+{(total - TARGET_S) / 60:.1f} min)"
        out.append(f"| {r['run_id']} | " + " | ".join(cells) + f" | {total:.0f} s ({total / 60:.1f} min) | {verdict} |")
    return out


def main(argv: list[str]) -> int:
    root = Path(argv[0]) if argv else Path("leaderboard/runs")
    results = [json.loads(p.read_text()) for p in sorted(root.glob("*/result.json"))]
    if not results:
        print(f"no */result.json under {root}", file=sys.stderr)
        return 1
    print("| run | split | won | score | goal conditions % | invalid actions % | mean steps |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(outcome_rows(results)))
    print()
    print("| run | expert | probe | SFT | RL | eval | total | <= 15 min |")
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(time_rows(results)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
