"""ALFWorld engine speed and memory: the native engine, and side by side with
the original engine (TextWorld PDDL + alfworld wrappers) on the same exported
games when the optional ``alfworld`` package is installed.

    python benchmarks/bench_alfworld.py [--games 30] [--steps 400] [--original-games 3]

Measures, on one process (one core):
- reset: start a game from its ``game.tw-pddl`` file (load + parse + build the
  state + intro), the same work as the original's reset; also the reset of an
  already-loaded game and the cold generation of a game (generate + expert check);
- step: one command from a random admissible agent (median, p95, steps/s);
- memory per env instance (tracemalloc over 100 envs, each with its own game).
Targets: step median <= 100 us, reset median <= 5 ms, < 5 MB per env.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from prism_gym.envs.alfworld.engine import Engine
from prism_gym.envs.alfworld.env import ALFWorldEnv
from prism_gym.envs.alfworld.generator import generate_game
from prism_gym.envs.alfworld.pddl import export_game, load_game_file


def _stats(samples: list[float]) -> dict:
    s = sorted(samples)
    return {"median": statistics.median(s), "p95": s[min(len(s) - 1, int(0.95 * len(s)))], "mean": statistics.fmean(s),
            "n": len(s)}


def _fmt(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:8.1f} us"
    if seconds < 1:
        return f"{seconds * 1e3:8.2f} ms"
    return f"{seconds:8.2f} s "


def random_actions(game, steps: int, seed: int) -> list[list[str]]:
    """Episodes of random admissible commands (fresh episode on a win or at 50 steps)."""
    rng = random.Random(seed)
    episodes, engine, current = [], Engine(game), []
    for _ in range(steps):
        command = rng.choice(engine.admissible)
        current.append(command)
        _, won = engine.step(command)
        if won or len(current) >= 50:
            episodes.append(current)
            engine, current = Engine(game), []
    if current:
        episodes.append(current)
    return episodes


def bench_native(files: list[Path], games, steps: int) -> dict:
    load = []
    for path in files * 3:
        t = time.perf_counter()
        Engine(load_game_file(path))
        load.append(time.perf_counter() - t)
    reset = []
    for game in games * 5:
        t = time.perf_counter()
        Engine(game)
        reset.append(time.perf_counter() - t)
    cold = []
    for i in range(len(games)):
        t = time.perf_counter()
        generate_game.__wrapped__("train", 10_000 + i)
        cold.append(time.perf_counter() - t)
    step = []
    for j, game in enumerate(games):
        for episode in random_actions(game, steps // len(games), seed=j):
            engine = Engine(game)
            for command in episode:
                t = time.perf_counter()
                engine.step(command)
                step.append(time.perf_counter() - t)
    env = ALFWorldEnv(split="valid_seen")
    env_step = []
    env.reset(seed=0)
    rng = random.Random(0)
    for _ in range(steps):
        action = rng.choice(env.engine.admissible)
        t = time.perf_counter()
        _, _, term, trunc, _ = env.step(action)
        env_step.append(time.perf_counter() - t)
        if term or trunc:
            env.reset()
    return {"reset_from_file": _stats(load), "reset_loaded": _stats(reset), "generate_cold": _stats(cold),
            "step": _stats(step), "env_step": _stats(env_step)}


def bench_memory(n: int = 100) -> float:
    """Bytes per env instance, each on its own (file-loaded) game."""
    import gc

    with tempfile.TemporaryDirectory() as tmp:
        paths = [export_game(generate_game("train", i), Path(tmp) / f"{i}.tw-pddl", prefer_installed=False)
                 for i in range(n)]
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        envs = []
        for p in paths:
            env = ALFWorldEnv(game_files=[str(p)])
            env.reset()
            envs.append(env)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
    return (after - before) / n


def bench_original(files: list[Path], games, steps: int) -> dict | None:
    from prism_gym.envs.alfworld.conformance import OriginalEngine, original_available

    reason = original_available()
    if reason:
        print(f"original engine: skipped ({reason})")
        return None
    reset, step = [], []
    per_game = max(1, steps // len(files))
    for j, (path, game) in enumerate(zip(files, games)):
        t = time.perf_counter()
        env = OriginalEngine(path)
        env.reset()
        reset.append(time.perf_counter() - t)
        for episode in random_actions(game, per_game, seed=j):
            for command in episode:
                t = time.perf_counter()
                _, _, done, _, _ = env.step(command)
                step.append(time.perf_counter() - t)
                if done:
                    break
            env.reset()
        env.close()
    return {"reset_from_file": _stats(reset), "step": _stats(step)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--games", type=int, default=30)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--original-games", type=int, default=3)
    ap.add_argument("--original-steps", type=int, default=120)
    args = ap.parse_args(argv)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs visible, one process")
    games = [generate_game("valid_seen", i) for i in range(args.games)]
    with tempfile.TemporaryDirectory() as tmp:
        files = [export_game(g, Path(tmp) / f"{i}" / "game.tw-pddl") for i, g in enumerate(games)]
        native = bench_native(files, games, args.steps)
        k = min(args.original_games, len(files))
        original = bench_original(files[:k], games[:k], args.original_steps) if k else None
        if original:  # the native engine on exactly the same games, for the ratios
            same = bench_native(files[:k], games[:k], args.original_steps)
    per_env = bench_memory()
    print("\nnative engine                 median        p95")
    for key, label in (("reset_from_file", "reset (load game file)"), ("reset_loaded", "reset (game in memory)"),
                       ("generate_cold", "generate game (cold)"), ("step", "step (engine)"),
                       ("env_step", "step (gym env, info)")):
        s = native[key]
        print(f"  {label:26s}{_fmt(s['median'])}  {_fmt(s['p95'])}")
    print(f"  steps/s (engine)          {1 / native['step']['mean']:10.0f}")
    print(f"  memory per env instance   {per_env / 1e6:10.2f} MB")
    ok_step = native["step"]["median"] <= 100e-6
    ok_reset = native["reset_from_file"]["median"] <= 5e-3
    print(f"  targets: step median <= 100 us: {'met' if ok_step else 'MISSED'}; reset median <= 5 ms: "
          f"{'met' if ok_reset else 'MISSED'}; < 5 MB per env: {'met' if per_env < 5e6 else 'MISSED'}")
    if original:
        print(f"\noriginal engine ({k} games, same exported files and commands)   median        p95")
        for key, label in (("reset_from_file", "reset (load game file)"), ("step", "step")):
            s = original[key]
            print(f"  {label:26s}{_fmt(s['median'])}  {_fmt(s['p95'])}")
        r_reset = original["reset_from_file"]["median"] / same["reset_from_file"]["median"]
        r_step = original["step"]["median"] / same["step"]["median"]
        print(f"  native speed-up on the same games: reset x{r_reset:,.0f}, step x{r_step:,.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
