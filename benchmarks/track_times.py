"""Wall time per stage of every run under a folder of run summaries, as a
Markdown table (docs/runner.md's "Measured run times").

    python benchmarks/track_times.py                     # leaderboard/runs
    python benchmarks/track_times.py runs/tiny-track     # run directories

Each row is one result.json's compute ledger; the last column says whether
the run kept to the tiny track's 15-minute target.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

STAGES = ("expert", "probe", "sft", "rl", "eval")
TARGET_S = 15 * 60


def rows(root: Path) -> list[str]:
    out = []
    for path in sorted(root.glob("*/result.json")):
        result = json.loads(path.read_text())
        stages = result["ledger"]["stages"]
        total = result["ledger"]["total"]["wall_s"]
        cells = [f"{stages[s]['wall_s']:.0f} s" if s in stages else "–" for s in STAGES]
        verdict = "yes" if total <= TARGET_S else f"no (+{(total - TARGET_S) / 60:.1f} min)"
        out.append(f"| {result['run_id']} | " + " | ".join(cells) + f" | {total:.0f} s ({total / 60:.1f} min) | {verdict} |")
    return out


def main(argv: list[str]) -> int:
    root = Path(argv[0]) if argv else Path("leaderboard/runs")
    found = rows(root)
    if not found:
        print(f"no */result.json under {root}", file=sys.stderr)
        return 1
    print("| run | expert | probe | SFT | RL | eval | total | <= 15 min |")
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(found))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
