"""How long `prism-gym --help` takes, side by side with the floors and the
libraries the CLI must not import at start-up.

    python benchmarks/bench_cli_startup.py [--repeats 10]

Prints the median wall time of each command over the repeats and its ratio to
a bare `python -c pass`.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "python -c pass (floor)": [sys.executable, "-c", "pass"],
    "import typer, rich": [sys.executable, "-c", "import typer, rich.console"],
    "prism-gym --help": [sys.executable, "-m", "prism_gym", "--help"],
    "prism-gym routers list --json": [sys.executable, "-m", "prism_gym", "routers", "list", "--json"],
    "import transformers": [sys.executable, "-c", "import transformers, torch"],
    "import trl, peft (avoided at start-up)": [sys.executable, "-c", "import trl, peft"],
}


def median_seconds(cmd: list[str], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    check = subprocess.run([sys.executable, "-c", "import sys, prism_gym.cli; "
                            "bad = [m for m in ('trl', 'peft', 'transformers', 'torch') if m in sys.modules]; "
                            "print(','.join(bad))"], capture_output=True, text=True, check=True)
    results = {name: median_seconds(cmd, args.repeats) for name, cmd in COMMANDS.items()}
    floor = results["python -c pass (floor)"]
    print(f"{'command':42s} {'median s':>9s} {'x floor':>8s}")
    for name, seconds in results.items():
        print(f"{name:42s} {seconds:9.3f} {seconds / floor:8.1f}")
    print(f"heavy modules imported by the CLI at start-up: {check.stdout.strip() or 'none'}")


if __name__ == "__main__":
    main()
