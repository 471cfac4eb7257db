"""WebShop env speed and memory, measured side by side in one run.

For each catalogue size (generated products; default 1k, 100k and 1M):

- build: seconds to generate the catalogue and build its BM25 index (only when
  it is not in the cache yet) and its size on disk;
- click latency: ``env.step("click[...]")`` over results pages, item pages,
  options and sub-pages (median and p90, milliseconds);
- search latency: ``env.step("search[...]")`` with queries taken from the
  goal instructions (about 10 terms; median and p90), the raw index lookup
  alone, and short 4-word queries (the first words of the same queries).

Then the memory of 16 envs over one catalogue (default the 100k one):

- sync: ``gymnasium.make_vec(..., vectorization_mode="sync")`` in this process;
  the growth of this process's RSS from 1 env to 16 envs;
- async: ``vectorization_mode="async"`` with 16 spawned worker processes, each
  loading the catalogue itself; the total PSS of all processes (shared pages
  counted once, split between the processes that map them) next to the total
  RSS (shared pages counted once per process: what 16 private copies would
  cost at least), and their ratio.

    python benchmarks/bench_webshop.py                       # 1k, 100k, 1M; memory at 100k
    python benchmarks/bench_webshop.py --sizes 1000 100000 --memory-size 100000 --envs 16
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path


def _percentiles(values_ms):
    values = sorted(values_ms)
    return {"median_ms": statistics.median(values), "p90_ms": values[int(0.9 * (len(values) - 1))],
            "n": len(values)}


def _dir_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def build(size: int, cache_dir: str | None) -> dict:
    from prism_gym.envs.webshop.site import catalogue_dir, get_site

    directory = catalogue_dir(n_products=size, cache_dir=cache_dir)
    existed = (directory / "meta.json").exists()
    started = time.perf_counter()
    site = get_site(n_products=size, cache_dir=cache_dir)
    seconds = time.perf_counter() - started
    return {"site": site, "build_s": None if existed else round(seconds, 1), "open_s": round(seconds, 3),
            "disk_mb": round(_dir_mb(directory), 1), "goals": len(site.goals)}


def latencies(size: int, cache_dir: str | None, episodes: int, seed: int = 0) -> dict:
    from prism_gym.envs.webshop.env import WebShopEnv
    from prism_gym.envs.webshop.expert import instruction_query

    env = WebShopEnv(n_products=size, cache_dir=cache_dir, split="test", max_steps=10**6)
    rng = random.Random(seed)
    clicks, searches, short, raw = [], [], [], []
    env.reset(seed=seed)
    env.step("search[warmup]")  # first query loads the index pages
    for episode in range(episodes):
        _, info = env.reset(seed=seed + episode)
        query = instruction_query(info["instruction"])
        t0 = time.perf_counter()
        env.site.search(query)
        raw.append((time.perf_counter() - t0) * 1e3)
        t0 = time.perf_counter()
        env.step(f"search[{' '.join(query.split()[:4])}]")  # a short, human-style query
        short.append((time.perf_counter() - t0) * 1e3)
        t0 = time.perf_counter()
        _, _, _, _, info = env.step(f"search[{query}]")
        searches.append((time.perf_counter() - t0) * 1e3)
        # A walk of clicks: next page and back, a product, options, sub-pages, back to results.
        for _ in range(12):
            actions = [a for a in info["admissible_actions"]
                       if a.startswith("click[") and a not in ("click[buy now]", "click[back to search]")]
            if not actions:
                break
            action = rng.choice(actions)
            t0 = time.perf_counter()
            _, _, _, _, info = env.step(action)
            clicks.append((time.perf_counter() - t0) * 1e3)
    return {"click": _percentiles(clicks), "search": _percentiles(searches), "search_short": _percentiles(short),
            "index_lookup": _percentiles(raw)}


def _tree_memory(pid: int) -> dict:
    import psutil

    root = psutil.Process(pid)
    procs = [root] + root.children(recursive=True)
    pss = rss = 0
    uss = []
    for proc in procs:
        try:
            info = proc.memory_full_info()
        except psutil.Error:
            continue
        pss, rss = pss + info.pss, rss + info.rss
        uss.append(info.uss)
    return {"processes": len(procs), "pss_mb": round(pss / 2**20, 1), "rss_mb": round(rss / 2**20, 1),
            "parent_uss_mb": round(uss[0] / 2**20, 1), "max_worker_uss_mb": round(max(uss[1:] or [0]) / 2**20, 1)}


def _play(vec, steps: int) -> None:
    import numpy as np

    _, infos = vec.reset(seed=0)
    for _ in range(steps):
        actions = [a[0] if len(a) else "search[x]" for a in infos["admissible_actions"]]
        actions = [a.replace("<your query>", "comfortable shoes") for a in actions]
        _, _, terminated, truncated, infos = vec.step(actions)
        if np.any(terminated | truncated):
            _, infos = vec.reset()


def memory(size: int, cache_dir: str | None, n_envs: int, steps: int) -> dict:
    import gymnasium
    import psutil

    from prism_gym.envs import register_gymnasium_envs

    register_gymnasium_envs()
    kwargs = dict(n_products=size, cache_dir=cache_dir, split="test", expert_actions=True)
    me = psutil.Process()
    out = {}
    one = gymnasium.make_vec("prism_gym/WebShop-v0", num_envs=1, vectorization_mode="sync", **kwargs)
    _play(one, steps)
    rss_one = me.memory_info().rss
    many = gymnasium.make_vec("prism_gym/WebShop-v0", num_envs=n_envs, vectorization_mode="sync", **kwargs)
    _play(many, steps)
    rss_many = me.memory_info().rss
    out["sync"] = {"envs": n_envs, "same_site_object": len({id(e.unwrapped.site) for e in many.envs}) == 1,
                   "rss_mb_1_env": round(rss_one / 2**20, 1), "rss_mb_n_envs": round(rss_many / 2**20, 1),
                   "extra_mb_per_env": round((rss_many - rss_one) / 2**20 / max(n_envs - 1, 1), 2)}
    many.close()
    one.close()
    vec = gymnasium.make_vec("prism_gym/WebShop-v0", num_envs=n_envs, vectorization_mode="async",
                             vector_kwargs={"context": "spawn"}, **kwargs)
    try:
        _play(vec, steps)
        tree = _tree_memory(os.getpid())
    finally:
        vec.close()
    tree["pss_over_rss"] = round(tree["pss_mb"] / tree["rss_mb"], 3)
    out["async"] = {"envs": n_envs, **tree}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[1000, 100_000, 1_000_000])
    parser.add_argument("--memory-size", type=int, default=100_000)
    parser.add_argument("--envs", type=int, default=16)
    parser.add_argument("--episodes", type=int, default=200)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--cache-dir", default=None, help="default: $PRISM_GYM_CACHE or ~/.cache/prism-gym")
    parser.add_argument("--json", default=None, help="also write the results here")
    parser.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    results = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                           "platform": platform.platform()}, "sizes": {}}
    for size in args.sizes:
        built = build(size, args.cache_dir)
        built.pop("site")
        row = {**built, **latencies(size, args.cache_dir, args.episodes)}
        results["sizes"][size] = row
        print(f"{size:>9,} products: build {row['build_s']} s (cached: {row['build_s'] is None}), "
              f"{row['disk_mb']} MB on disk, {row['goals']} goals | click median {row['click']['median_ms']:.3f} ms "
              f"(p90 {row['click']['p90_ms']:.3f}) | search median {row['search']['median_ms']:.2f} ms "
              f"(p90 {row['search']['p90_ms']:.2f}; index alone {row['index_lookup']['median_ms']:.2f}; "
              f"4-word queries {row['search_short']['median_ms']:.2f})", flush=True)
    if args.memory_child:  # a fresh process: nothing left over from building or timing
        print(json.dumps(memory(args.memory_size, args.cache_dir, args.envs, args.steps)))
        return
    if args.memory_size:
        build(args.memory_size, args.cache_dir)
        cmd = [sys.executable, __file__, "--sizes", "--memory-child", "--memory-size", str(args.memory_size),
               "--envs", str(args.envs), "--steps", str(args.steps)]
        if args.cache_dir:
            cmd += ["--cache-dir", args.cache_dir]
        child = subprocess.run(cmd, capture_output=True, text=True, check=True)
        mem = json.loads(child.stdout.strip().splitlines()[-1])
        results["memory"] = {"products": args.memory_size, **mem}
        s, a = mem["sync"], mem["async"]
        print(f"memory, {args.envs} envs over {args.memory_size:,} products:")
        print(f"  sync : one site object shared: {s['same_site_object']}; RSS {s['rss_mb_1_env']} MB with 1 env, "
              f"{s['rss_mb_n_envs']} MB with {args.envs} ({s['extra_mb_per_env']} MB per extra env)")
        print(f"  async: {a['processes']} processes, total PSS {a['pss_mb']} MB vs total RSS {a['rss_mb']} MB "
              f"(ratio {a['pss_over_rss']}); private (USS): parent {a['parent_uss_mb']} MB, "
              f"largest worker {a['max_worker_uss_mb']} MB")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
