"""`prism-gym bench`: one run, or a grid of routers x seeds, through the shared
SFT -> RL runner (docs/runner.md)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer
from rich.table import Table

from prism_gym.cli.app import app, console, err_console, fail, report_plugin_failures


def _split(text: str | None) -> list[str]:
    return [p.strip() for p in (text or "").split(",") if p.strip()]


def _router_options(items: list[str], router: str) -> dict:
    """``key=value`` applies to every router; ``router:key=value`` to one."""
    from prism_gym.runner import parse_router_options

    mine = []
    for item in items:
        target, sep, rest = item.partition(":")
        if sep and "=" not in target:
            if target == router:
                mine.append(rest)
        else:
            mine.append(item)
    return parse_router_options(mine)


@app.command()
def bench(
    router: Optional[str] = typer.Option(None, "--router", help="Router (or baseline: sft-only, rl-only, sft-then-rl; "
                                                                "or arbiter: hpt, relift, prism-reprobe)."),
    routers: Optional[str] = typer.Option(None, "--routers", help="Comma-separated routers: run the grid."),
    env: str = typer.Option("alfworld", "--env", help="Environment(s), comma-separated: alfworld, webshop."),
    model: Optional[str] = typer.Option(None, "--model", help="Local model dir or hub id (default: embedded model)."),
    seed: int = typer.Option(0, "--seed", help="Seed of a single run; first seed of a grid."),
    seeds: int = typer.Option(1, "--seeds", help="Number of seeds per router (seed, seed+1, ...)."),
    preset: str = typer.Option("tiny", "--preset", help="tiny (CPU, minutes) or paper (8B on GPUs)."),
    run_dir: Optional[Path] = typer.Option(None, "--run-dir", help="Run directory (single run; default RUNS/<run id>)."),
    runs_root: Path = typer.Option(Path("runs"), "--runs-root", help="Where run directories go."),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted run in its directory."),
    option: List[str] = typer.Option([], "--option", help="Router option key=value (or router:key=value); repeatable."),
    setting: List[str] = typer.Option([], "--set", help="Config override stage.field=value, e.g. sft.epochs=2."),
    device: Optional[str] = typer.Option(None, "--device", help="torch device (default: CPU, or accelerate's)."),
    report_to: str = typer.Option("none", "--report-to",
                                  help="Experiment trackers, comma-separated: tensorboard, wandb, mlflow "
                                       "(or a plugin's); none (default). docs/integrations.md."),
    validate_only: bool = typer.Option(False, "--validate-only", help="Build and check the configuration, print it, stop."),
    as_json: bool = typer.Option(False, "--json", help="Print the result(s) as JSON."),
    markdown: bool = typer.Option(False, "--markdown", help="Grid: also print one Markdown row per run."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress output."),
):
    """Route expert data, train SFT -> RL, evaluate, write result.json."""
    from prism_gym.plugins import PluginError, get_registry
    from prism_gym.runner import BASELINES, ConfigError, apply_overrides, make_config
    from prism_gym.tracking import parse_report_to

    try:
        trackers = parse_report_to(report_to)
    except PluginError as exc:
        raise fail(str(exc))
    names = _split(routers) or _split(router)
    if not names:
        raise fail("name a router (--router prism) or a grid (--routers prism,random --seeds 3)")
    envs = _split(env)
    registry = get_registry()
    for name in names:
        if name not in BASELINES and name not in registry.arbiters():
            try:
                registry.router(name)
            except PluginError as exc:
                raise fail(f"{exc}; baselines: {', '.join(BASELINES)}; "
                           f"arbiters: {', '.join(sorted(registry.arbiters()))}")
    try:
        for e in envs:
            registry.env(e)
    except PluginError as exc:
        raise fail(str(exc))
    report_plugin_failures(registry)

    configs = []
    try:
        for e in envs:
            for name in names:
                for s in range(seed, seed + seeds):
                    cfg = make_config(preset, e, name, seed=s, model=model, device=device,
                                      router_options=_router_options(option, name), report_to=trackers)
                    configs.append(apply_overrides(cfg, list(setting)).validate().check_env_options())
    except ConfigError as exc:
        raise fail(f"bad configuration: {exc}")
    if validate_only:
        typer.echo(json.dumps([c.to_dict() for c in configs], indent=2))
        return
    if len(configs) == 1 and not routers:
        _single(configs[0], run_dir or runs_root / configs[0].run_id(), resume, as_json, quiet)
    else:
        if run_dir is not None:
            raise fail("--run-dir names one run; a grid writes under --runs-root")
        _grid(configs, runs_root, as_json, quiet, markdown)


def _single(cfg, run_dir: Path, resume: bool, as_json: bool, quiet: bool) -> None:
    from prism_gym.runner.progress import RunReporter
    from prism_gym.runner.result import refresh_relative_costs
    from prism_gym.runner.run import BenchRun, RunError

    try:
        result = BenchRun(cfg, run_dir, resume=resume, reporter=RunReporter(err_console, enabled=not quiet)).run()
    except RunError as exc:
        raise fail(str(exc))
    refresh_relative_costs(run_dir.parent)
    from prism_gym.fileio import read_json

    result = read_json(run_dir / "result.json")
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    _print_result(result, run_dir)


def _print_result(result: dict, run_dir: Path) -> None:
    m = result["metrics"]
    console.print(f"[bold]{result['run_id']}[/]: success {m['success_rate']:.3f}, score {m['score']:.1f}  "
                  f"({run_dir / 'result.json'})")
    table = Table(title="compute ledger")
    keys = ["wall_s", "tokens_forwarded", "tokens_trained", "tokens_generated", "flops", "env_steps"]
    table.add_column("stage")
    for k in keys:
        table.add_column(k, justify="right")
    rows = dict(result["ledger"]["stages"], total=result["ledger"]["total"])
    for stage, cost in rows.items():
        table.add_row(stage, *(f"{cost[k]:.3g}" if isinstance(cost[k], float) else str(cost[k]) for k in keys))
    console.print(table)
    rel = result["relative_cost"]
    fmt = lambda v: "n/a (reference run absent)" if v is None else f"{v:.3f}x"  # noqa: E731
    console.print(f"cost vs rl-only: {fmt(rel['vs_rl_only'])}; vs sft-then-rl: {fmt(rel['vs_sft_then_rl'])}")
    curves = run_dir / "curves.png"
    if curves.exists():
        console.print(f"learning curves: {curves} ({run_dir / 'curves.json'})")
    from prism_gym.runner.report import next_steps

    console.print("next:")
    for line in next_steps(result, run_dir):
        console.print(f"  {line}", highlight=False, soft_wrap=True)


def _grid(configs, runs_root: Path, as_json: bool, quiet: bool, markdown: bool = False) -> None:
    from prism_gym.runner.matrix import compare_grid, load_results, plan, run_matrix, summarize
    from prism_gym.runner.progress import RunReporter
    from prism_gym.runner.run import BenchRun

    cells = plan(configs, runs_root)
    todo = sum(c.status != "done" for c in cells)
    err_console.print(f"grid: {len(cells)} cells, {len(cells) - todo} already finished, {todo} to run")

    def run_one(cell):
        err_console.rule(cell.config.run_id())
        BenchRun(cell.config, cell.run_dir, resume=True, reporter=RunReporter(err_console, enabled=not quiet)).run()

    run_matrix(cells, run_one)
    results = load_results(cells)
    rows = summarize(results)
    # run labels as the comparison names methods (a router with its metric, or a baseline)
    from prism_gym.leaderboard.submit import result_label

    methods = list(dict.fromkeys(result_label(r) for r in results))
    compared = compare_grid(results, methods)
    failed = [c for c in cells if c.status == "failed"]
    if as_json:
        typer.echo(json.dumps({"rows": rows, "comparisons": compared,
                               "failed": {c.config.run_id(): c.error for c in failed}}, indent=2))
    else:
        print_comparison(rows)
        _print_compared(compared)
        if markdown:
            from prism_gym.runner.report import markdown_table

            typer.echo(markdown_table(results))
        for c in failed:
            err_console.print(f"[red]failed[/] {c.config.run_id()}: {c.error}")
    if failed:
        raise typer.Exit(1)


def _print_compared(compared: dict[str, dict]) -> None:
    from prism_gym.cli.compare import print_comparison as print_paired

    for env, result in compared.items():
        if "problems" in result:
            err_console.print(f"[yellow]{env}: no paired comparison:[/] " + "; ".join(result["problems"]),
                              highlight=False)
        else:
            print_paired(result)


def print_comparison(rows: list[dict]) -> None:
    table = Table(title="routers compared (mean ± sd over seeds)")
    for col in ("env", "router", "seeds", "success", "score", "FLOPs", "wall s", "cost vs rl-only"):
        table.add_column(col, justify="left" if col in ("env", "router") else "right")
    for r in rows:
        table.add_row(r["env"], r["router"], str(len(r["seeds"])),
                      f"{r['success_mean']:.3f} ± {r['success_sd']:.3f}", f"{r['score_mean']:.1f} ± {r['score_sd']:.1f}",
                      f"{r['flops_mean']:.3g}", f"{r['wall_s_mean']:.0f}",
                      "n/a" if r["cost_vs_rl_only"] is None else f"{r['cost_vs_rl_only']:.2f}x")
    console.print(table)
