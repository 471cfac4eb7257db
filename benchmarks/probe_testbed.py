"""The probe testbed: does gradient concentration find what the model does not know?

A knowledge profile is a default-model build whose pretraining corpus has
expert answers on some task types only (``BuildSettings.expert_task_types``):
the model knows those types and not the others, by construction. On the
train split's expert trajectories, every probe-based score (PRISM's Gini, CV
and kurtosis, their inverse, the gradient magnitude, the loss) should then
rank the unknown types' trajectories above the known ones' if it measures
what PRISM says it does. Steps, each resumable (a finished output is reused):

    python benchmarks/probe_testbed.py build --profile A --seed 0      # a profile's base model (cached)
    python benchmarks/probe_testbed.py check --profile A --seed 0      # base success per task type: the split holds?
    python benchmarks/probe_testbed.py score --profile A --seed 0 --env alfworld   # AUROC, split, matrix types, plot
    python benchmarks/probe_testbed.py report                          # the tables of every scored profile
    python benchmarks/probe_testbed.py routing --profile A --seed 0    # the bench commands of the routing comparison

Outputs go to ``--out`` (default ``benchmarks/results/probe_testbed``).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

ALFWORLD_A = ("pick_and_place_simple", "look_at_obj_in_light", "pick_clean_then_place_in_recep")
ALFWORLD_B = ("pick_heat_then_place_in_recep", "pick_cool_then_place_in_recep", "pick_two_obj_and_place")
WEBSHOP_A = ("beauty", "electronics")
WEBSHOP_B = ("fashion", "food", "furniture")
# Known task types per profile and env; B is A swapped.
PROFILES = {"A": {"alfworld": ALFWORLD_A, "webshop": WEBSHOP_A},
            "B": {"alfworld": ALFWORLD_B, "webshop": WEBSHOP_B}}
MATRIX_TYPES = ("q", "k", "v", "o", "gate", "up", "down")
DEFAULT_OUT = Path(__file__).parent / "results" / "probe_testbed"


def profile_settings(profile: str, seed: int, expert_share: float, walker_noise: float, overrides=()):
    from prism_gym.cli.model import build_settings

    known = tuple(t for types in PROFILES[profile].values() for t in types)
    settings = build_settings(seed, [f"expert_share={expert_share}", f"walker_noise={walker_noise}",
                                     f"expert_task_types={','.join(known)}", *overrides])
    return settings


def model_path(args):
    from prism_gym.agents.default_model import build_default_model, find_default_model

    settings = profile_settings(args.profile, args.seed, args.expert_share, args.walker_noise, args.set)
    found = find_default_model(settings)
    if found is None and not getattr(args, "allow_build", False):
        sys.exit(f"profile {args.profile} seed {args.seed} is not built; run `build` first")
    return found or build_default_model(settings, progress=True)


# -- scores -------------------------------------------------------------------------
def matrix_type(name: str) -> str:
    """``layers.3.gate`` -> ``gate``; other architectures' names keep their last part."""
    return name.rsplit(".", 1)[-1]


def trajectory_scores(result) -> dict:
    """Every probe-based router's score per trajectory (higher -> RL), from one probe."""
    import numpy as np

    from prism_gym.routers.concentration import cv, gini, kurtosis

    out = {"prism-gini": [gini(r) for r in result.norms], "prism-cv": [cv(r) for r in result.norms],
           "prism-kurtosis": [kurtosis(r) for r in result.norms]}
    out["inverse-prism"] = [-g for g in out["prism-gini"]]
    out["magnitude"] = list(map(float, result.magnitude))
    out["loss"] = list(map(float, result.losses))
    return {k: np.asarray(v, dtype=float) for k, v in out.items()}


def matrix_type_breakdown(result, unknown_mask) -> list[dict]:
    """Per matrix type: its mean share of the gradient's squared norm for
    unknown and known trajectories, the AUROC of that share, and the AUROC
    of the Gini within that type's matrices; raw and per-entry normalised
    (raw Frobenius norms favour the large MLP matrices)."""
    import numpy as np

    from prism_gym.routers.concentration import gini
    from prism_gym.stats import auroc

    types = [matrix_type(n) for n in result.matrix_names]
    rows = []
    for scale in ("raw", "per-entry"):
        norms = result.norms if scale == "raw" else result.norms / np.sqrt(result.matrix_sizes)[None, :]
        total = np.square(norms).sum(axis=1)
        for t in sorted(set(types), key=lambda t: MATRIX_TYPES.index(t) if t in MATRIX_TYPES else 99):
            cols = [j for j, name in enumerate(types) if name == t]
            share = np.square(norms[:, cols]).sum(axis=1) / total
            within = np.array([gini(row) for row in norms[:, cols]]) if len(cols) > 1 else None
            rows.append({"scale": scale, "type": t, "matrices": len(cols),
                         "share_unknown": float(share[unknown_mask].mean()),
                         "share_known": float(share[~unknown_mask].mean()),
                         "share_auroc": auroc(share[unknown_mask], share[~unknown_mask]),
                         "within_gini_auroc": (auroc(within[unknown_mask], within[~unknown_mask])
                                               if within is not None else None)})
    return rows


def separation(scores: dict, unknown_mask, resamples: int) -> list[dict]:
    """AUROC (unknown vs known) with its bootstrap interval, and the median
    router's share of unknown-type trajectories sent to RL, per score."""
    from prism_gym.routing import split_by_score
    from prism_gym.stats import auroc_interval

    rows = []
    for name, values in scores.items():
        est = auroc_interval(values[unknown_mask], values[~unknown_mask], resamples=resamples)
        routes = split_by_score(list(values))
        to_rl = [r == "rl" for r in routes]
        unknown_to_rl = sum(rl for rl, u in zip(to_rl, unknown_mask) if u) / max(1, int(unknown_mask.sum()))
        known_to_rl = sum(rl for rl, u in zip(to_rl, unknown_mask) if not u) / max(1, int((~unknown_mask).sum()))
        rows.append({"score": name, "auroc": est.value, "low": est.low, "high": est.high,
                     "unknown_to_rl": unknown_to_rl, "known_to_rl": known_to_rl})
    return rows


def plot_distributions(scores: dict, unknown_mask, path: Path, title: str) -> None:
    import matplotlib
    import numpy as np

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(scores)
    fig, axes = plt.subplots(2, (len(names) + 1) // 2, figsize=(4 * ((len(names) + 1) // 2), 6.5))
    for ax, name in zip(axes.flat, names):
        values = scores[name]
        bins = np.histogram_bin_edges(values, bins=20)  # shared, so the two groups' bars line up
        ax.hist(values[~unknown_mask], bins=bins, alpha=0.6, label="known types", density=True)
        ax.hist(values[unknown_mask], bins=bins, alpha=0.6, label="unknown types", density=True)
        ax.set_title(name)
    axes.flat[0].legend()
    fig.suptitle(title)
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, path)


# -- commands -----------------------------------------------------------------------
def cmd_build(args) -> None:
    args.allow_build = True
    print(model_path(args))


def cmd_check(args) -> None:
    """Base success per task type at the tiny preset's evaluation protocol."""
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_base_prior import main as bench

    path = model_path(args)
    sys.argv = ["bench_base_prior.py", "--model", str(path), "--no-references", "--threads", str(args.threads),
                "--json", str(_out(args, "check.json"))] + (["--episodes", str(args.episodes)] if args.episodes else [])
    bench()
    rows = json.loads(_out(args, "check.json").read_text())["rows"]
    for row in rows:
        known = PROFILES[args.profile][row["env"]]
        for t, rate in row["per_task_type"].items():
            print(f"{row['env']:9} {row['split']:13} {t:34} {'known' if t in known else 'unknown':8} {100 * rate:5.1f}%")


def cmd_score(args) -> None:
    import numpy as np
    import torch

    from prism_gym.models import load_model_and_tokenizer
    from prism_gym.probe import probe_trajectories
    from prism_gym.runner import services

    torch.set_num_threads(args.threads)
    out = _out(args, f"scores-{args.env}.json")
    if out.is_file() and not args.force:
        print(f"{out} exists (use --force to recompute)")
        return
    path = model_path(args)
    tasks, _ = services.sample_tasks(args.env, "train", args.trajectories, seed=0)
    trajectories = services.collect_expert(args.env, tasks, seed=0, max_steps=None, progress=False)
    model, tokenizer = load_model_and_tokenizer(str(path))
    result = probe_trajectories(model, tokenizer, trajectories, model_id=str(path), cache_dir=_out(args, "probe-cache"),
                                progress=True)
    known = set(PROFILES[args.profile][args.env])
    unknown = np.array([t.task.task_type not in known for t in trajectories])
    if unknown.all() or not unknown.any():
        sys.exit("the sampled trajectories hold only one group; raise --trajectories")
    scores = trajectory_scores(result)
    report = {"profile": args.profile, "seed": args.seed, "env": args.env, "model": str(path),
              "known_types": sorted(known), "trajectories": len(trajectories), "unknown": int(unknown.sum()),
              "separation": separation(scores, unknown, args.resamples),
              "matrix_types": matrix_type_breakdown(result, unknown),
              "scores": {k: v.tolist() for k, v in scores.items()}, "unknown_mask": unknown.tolist()}
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(json.dumps(report, indent=1))
    os.replace(tmp, out)
    plot_distributions(scores, unknown, _out(args, f"scores-{args.env}.png"),
                       f"profile {args.profile}, seed {args.seed}, {args.env}: known vs unknown task types")
    _print_separation(report)


def cmd_report(args) -> None:
    files = sorted(Path(args.out).glob("profile-*/scores-*.json"))
    if not files:
        sys.exit(f"nothing scored under {args.out}")
    for f in files:
        _print_separation(json.loads(f.read_text()))


def cmd_routing(args) -> None:
    path = model_path(args)
    for env, known in PROFILES[args.profile].items():
        unknown = sorted({*ALFWORLD_A, *ALFWORLD_B} - set(known)) if env == "alfworld" else \
            sorted({*WEBSHOP_A, *WEBSHOP_B} - set(known))
        print(f"prism-gym bench --env {env} --routers prism,random,inverse-prism --seeds 3 --model {path}")
        print(f"prism-gym bench --env {env} --router task-type --option rl_types={'+'.join(unknown)} "
              f"--seeds 3 --model {path}")


def _print_separation(report: dict) -> None:
    print(f"\nprofile {report['profile']} seed {report['seed']} {report['env']}: {report['trajectories']} expert "
          f"trajectories, {report['unknown']} of unknown types")
    print(f"{'score':16} {'AUROC [95% CI]':24} {'unknown -> RL':>14} {'known -> RL':>12}")
    for r in report["separation"]:
        print(f"{r['score']:16} {r['auroc']:.3f} [{r['low']:.3f}, {r['high']:.3f}]     "
              f"{100 * r['unknown_to_rl']:12.1f}% {100 * r['known_to_rl']:11.1f}%")
    print(f"{'matrix type':16} {'scale':10} {'share unknown/known':22} {'share AUROC':>12} {'within-type Gini AUROC':>24}")
    for r in report["matrix_types"]:
        within = "-" if r["within_gini_auroc"] is None else f"{r['within_gini_auroc']:.3f}"
        print(f"{r['type']:16} {r['scale']:10} {r['share_unknown']:.3f} / {r['share_known']:.3f}          "
              f"{r['share_auroc']:12.3f} {within:>24}")


def _out(args, name: str) -> Path:
    folder = Path(args.out) / f"profile-{args.profile}-s{args.seed}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, fn in (("build", cmd_build), ("check", cmd_check), ("score", cmd_score), ("report", cmd_report),
                     ("routing", cmd_routing)):
        p = sub.add_parser(name)
        p.set_defaults(fn=fn)
        p.add_argument("--out", default=str(DEFAULT_OUT))
        if name == "report":
            continue
        p.add_argument("--profile", choices=sorted(PROFILES), required=True)
        p.add_argument("--seed", type=int, default=0, help="build seed")
        p.add_argument("--expert-share", type=float, default=1.0,
                       help="expert share on the known types (default 1: every known-type walk answered)")
        p.add_argument("--walker-noise", type=float, default=0.5)
        p.add_argument("--set", action="append", default=[], help="another BuildSettings key=value")
        p.add_argument("--threads", type=int, default=2)
        if name == "check":
            p.add_argument("--episodes", type=int, default=None)
        if name == "score":
            p.add_argument("--env", choices=("alfworld", "webshop"), required=True)
            p.add_argument("--trajectories", type=int, default=128)
            p.add_argument("--resamples", type=int, default=10_000)
            p.add_argument("--force", action="store_true")
    args = parser.parse_args(argv)
    if getattr(args, "trajectories", 2) < 2:
        parser.error("--trajectories must be at least 2")
    try:
        args.fn(args)
    except ValueError as exc:  # bad settings: say so before anything expensive
        sys.exit(f"error: {exc}")


if __name__ == "__main__":
    main()
