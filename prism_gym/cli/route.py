"""`prism-gym route`: run a router over expert trajectories and write its decisions.

Writes one decision per trajectory (id, score, route, ...) with
:func:`prism_gym.records.write_jsonl`, prints the share sent to RL per task
type and a histogram of the scores, and optionally exports the two shares for
LLaMA-Factory (SFT) and verl (RL) (:mod:`prism_gym.export`).
"""
from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Any, Optional, Sequence

import typer
from rich.table import Table

from prism_gym.cli.app import app, console, fail, report_plugin_failures

HIST_BINS = 12
HIST_WIDTH = 40


def parse_option(text: str) -> tuple[str, Any]:
    """``"k=v"`` -> ``(k, value)``; the value is read as none/null, true/false,
    an int, a float, or else kept as a string."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ValueError(f"option {text!r} is not of the form key=value")
    value = raw.strip()
    lowered = value.lower()
    if lowered in ("none", "null"):
        return key, None
    if lowered in ("true", "false"):
        return key, lowered == "true"
    for convert in (int, float):
        try:
            return key, convert(value)
        except ValueError:
            pass
    return key, value


def default_cache_dir() -> Path:
    """Where probe results are cached: ``$PRISM_GYM_CACHE/probe`` (default
    ``~/.cache/prism-gym/probe``)."""
    from prism_gym.fileio import cache_root

    return cache_root() / "probe"


def share_table(decisions) -> Table:
    """Trajectories and share routed to RL, per task type and in total."""
    groups: dict[str, list] = {}
    for d in decisions:
        groups.setdefault(d.task_type or "(none)", []).append(d)
    table = Table(title=f"routing by {decisions[0].router}" if decisions else "routing")
    for col in ("task type", "trajectories", "SFT", "RL", "share to RL"):
        table.add_column(col, justify="left" if col == "task type" else "right")
    rows = sorted(groups.items()) + [("all", list(decisions))]
    for i, (name, items) in enumerate(rows):
        rl = sum(d.route == "rl" for d in items)
        table.add_row(f"[bold]{name}[/]" if name == "all" else name, str(len(items)), str(len(items) - rl), str(rl),
                      f"{rl / len(items):.0%}" if items else "-", end_section=i == len(rows) - 2)
    return table


def score_histogram(decisions, bins: int = HIST_BINS, width: int = HIST_WIDTH) -> list[str]:
    """Lines of a text histogram of the scores; each bar shows its SFT part
    (blue) and RL part (red)."""
    scores = [d.score for d in decisions]
    if not scores:
        return []
    lo, hi = min(scores), max(scores)
    if lo == hi:
        return [f"every score is {lo:.4g} ({len(scores)} trajectories)"]
    counts = [[0, 0] for _ in range(bins)]
    for d in decisions:
        b = min(int((d.score - lo) / (hi - lo) * bins), bins - 1)
        counts[b][d.route == "rl"] += 1
    peak = max(sft + rl for sft, rl in counts)
    lines = [f"scores of {len(scores)} trajectories ([blue]█ SFT[/] [red]█ RL[/])"]
    for b, (sft, rl) in enumerate(counts):
        left = lo + (hi - lo) * b / bins
        n_sft = math.ceil(sft / peak * width) if sft else 0
        n_rl = math.ceil(rl / peak * width) if rl else 0
        lines.append(f"{left:>10.4g} | [blue]{'█' * n_sft}[/][red]{'█' * n_rl}[/] {sft + rl}")
    lines.append(f"{hi:>10.4g} |")
    return lines


def run_route(router_name: str, trajectories: Sequence, *, env: str, model: str | None, seed: int,
              options: dict[str, Any], cache_dir: Path | None, device: str | None, progress: bool):
    """Build the router and route ``trajectories``; returns the decisions."""
    from prism_gym.plugins import get_registry
    from prism_gym.routing import RoutingContext

    registry = get_registry()
    spec = registry.router(router_name)
    router = spec.build(**options)
    context = RoutingContext(env=env, seed=seed, model=model, device=device, cache_dir=cache_dir,
                             options={"progress": progress})
    decisions = router.route(trajectories, context)
    if len(decisions) != len(trajectories):
        raise RuntimeError(f"router {router_name!r} returned {len(decisions)} decisions for "
                           f"{len(trajectories)} trajectories")
    report_plugin_failures(registry)
    return decisions


@app.command()
def route(
    router: str = typer.Option(..., "--router", "-r", help="Router name (see `prism-gym routers list`)."),
    data: Path = typer.Option(..., "--data", help="Expert trajectories (JSONL, e.g. from `prism-gym expert`)."),
    out: Path = typer.Option(..., "--out", help="Where to write the decisions (JSONL)."),
    model: Optional[str] = typer.Option(None, "--model", help="Base model: a local directory or hub id; "
                                        "default: the embedded default model."),
    env: Optional[str] = typer.Option(None, "--env", help="Env short name; default: the trajectories' env."),
    seed: int = typer.Option(0, "--seed", help="Seed (random router, rollouts)."),
    option: list[str] = typer.Option([], "--option", "-o", help="Router option key=value; repeatable "
                                     "(e.g. -o metric=cv -o rl_fraction=0.3)."),
    export_dir: Optional[Path] = typer.Option(None, "--export-dir", help="Also export the SFT share for "
                                              "LLaMA-Factory and the RL share for verl into this folder."),
    cache_dir: Optional[Path] = typer.Option(None, "--cache-dir", help="Probe cache folder; default "
                                             "$PRISM_GYM_CACHE/probe."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not read or write the probe cache."),
    device: Optional[str] = typer.Option(None, "--device", help="torch device for the base model."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars and no summary."),
):
    """Route expert trajectories to SFT or RL with a router; write one decision per trajectory."""
    from prism_gym.plugins import PluginError
    from prism_gym.records import RecordError, read_trajectories, write_jsonl

    try:
        options = dict(parse_option(text) for text in option)
    except ValueError as exc:
        raise fail(str(exc))
    if not data.is_file():
        raise fail(f"no such file: {data}")
    try:
        trajectories = read_trajectories(data)
    except RecordError as exc:
        raise fail(str(exc))
    if not trajectories:
        raise fail(f"{data} holds no trajectories")
    repeated = [tid for tid, count in Counter(t.id for t in trajectories).items() if count > 1]
    if repeated:
        raise fail(f"{data}: trajectory id {repeated[0]!r} appears more than once")
    data_envs = sorted({t.task.env for t in trajectories})
    if env is None:
        if len(data_envs) > 1:
            raise fail(f"{data} mixes envs ({', '.join(data_envs)}); route one env at a time or pass --env")
        env = data_envs[0]
    elif data_envs != [env]:
        raise fail(f"--env {env} but {data} holds trajectories of {', '.join(data_envs)}")

    try:
        decisions = run_route(router, trajectories, env=env, model=model, seed=seed, options=options,
                              cache_dir=None if no_cache else (cache_dir or default_cache_dir()),
                              device=device, progress=not quiet)
    except PluginError as exc:
        raise fail(str(exc))
    except (TypeError, ValueError) as exc:
        raise fail(f"router {router!r}: {exc}")
    write_jsonl(out, decisions)

    manifest = None
    if export_dir is not None:
        from prism_gym.export import export_routing

        try:
            manifest = export_routing(trajectories, decisions, export_dir)
        except ValueError as exc:  # e.g. an existing dataset_info.json that is not a JSON object
            raise fail(f"export to {export_dir}: {exc}")
    if quiet:
        return
    console.print(share_table(decisions))
    for line in score_histogram(decisions):
        console.print(line, highlight=False)
    console.print(f"wrote {len(decisions)} decisions to {out}")
    if manifest is not None:
        console.print(f"exported {manifest['sft']['samples']} SFT samples (LLaMA-Factory) and "
                      f"{manifest['rl']['tasks']} RL tasks (verl) to {export_dir}")
