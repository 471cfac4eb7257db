"""`prism-gym leaderboard submit | validate | render | verify | reference-agents`."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from prism_gym.cli.app import app, console, err_console, fail

leaderboard_app = typer.Typer(help="The leaderboard: submit runs, validate entries, render, verify.",
                              no_args_is_help=True)
app.add_typer(leaderboard_app, name="leaderboard")

ROOT_OPTION = typer.Option(Path("leaderboard"), "--root", help="Leaderboard folder (entries/ lives inside it).")


@leaderboard_app.command("submit")
def submit_command(run_dir: Path = typer.Argument(..., help="Run directory holding result.json."),
                   root: Path = ROOT_OPTION):
    """Validate a run's result.json and add it as a new entry (never overwrites)."""
    from prism_gym.leaderboard.loading import LeaderboardError
    from prism_gym.leaderboard.submit import SubmissionError, submit

    try:
        path = submit(run_dir, root / "entries")
    except SubmissionError as exc:
        for line in exc.problems:
            err_console.print(f"[bold red]error:[/] {line}", highlight=False)
        raise typer.Exit(1)
    except LeaderboardError as exc:
        raise fail(str(exc))
    console.print(f"submitted: {path}", highlight=False)
    console.print("render the tables with `prism-gym leaderboard render`", style="dim")


@leaderboard_app.command("validate")
def validate_command(files: Optional[List[Path]] = typer.Argument(None, help="Entry files (default: every entry)."),
                     fix_intervals: bool = typer.Option(
                         False, "--fix-intervals",
                         help="First rewrite each entry's recorded intervals from its own outcomes (after a "
                              "change in how intervals are computed); nothing else is changed."),
                     root: Path = ROOT_OPTION):
    """Check entries; print one line per problem; exit 1 if any entry is invalid."""
    from prism_gym.leaderboard.validate import entry_files, restamp_intervals, validate_files

    paths = list(files) if files else entry_files(root / "entries")
    if not paths:
        raise fail(f"no entries to validate in {root / 'entries'}")
    if fix_intervals:
        for path in restamp_intervals(paths):
            console.print(f"{path}: intervals rewritten", highlight=False)
    problems = validate_files(paths)
    for line in problems:
        typer.echo(line, err=True)
    if problems:
        err_console.print(f"[bold red]{len(problems)} problem(s)[/] in {len(paths)} file(s)", highlight=False)
        raise typer.Exit(1)
    console.print(f"{len(paths)} entr{'y' if len(paths) == 1 else 'ies'} valid", highlight=False)


@leaderboard_app.command("render")
def render_command(root: Path = ROOT_OPTION):
    """Write README.md (tables per env and track), pareto.png and index.html."""
    from prism_gym.leaderboard.loading import LeaderboardError
    from prism_gym.leaderboard.render import render

    try:
        changed = render(root)
    except LeaderboardError as exc:
        raise fail(str(exc))
    for name, rewritten in changed.items():
        console.print(f"{root / name}: {'written' if rewritten else 'unchanged'}", highlight=False)


@leaderboard_app.command("verify")
def verify_command(entry: Path = typer.Argument(..., help="Entry file to verify."),
                   run_dir: Optional[Path] = typer.Option(None, "--run-dir",
                                                          help="Where the run lives (default: as recorded)."),
                   success_tol: Optional[float] = typer.Option(None, "--success-tol",
                                                     help="Allowed |difference| of success rates (0-1)."),
                   score_tol: Optional[float] = typer.Option(None, "--score-tol", help="Allowed |difference| of scores (0-100)."),
                   device: Optional[str] = typer.Option(None, "--device", help="torch device for the model."),
                   root: Path = ROOT_OPTION):
    """Re-run the entry's evaluation from its checkpoint and record whether it reproduces."""
    from prism_gym.leaderboard.loading import LeaderboardError
    from prism_gym.leaderboard.verify import DEFAULT_SCORE_TOL, DEFAULT_SUCCESS_TOL, verify

    try:
        record, path = verify(entry, root=root, run_dir=run_dir, device=device,
                              success_tol=DEFAULT_SUCCESS_TOL if success_tol is None else success_tol,
                              score_tol=DEFAULT_SCORE_TOL if score_tol is None else score_tol)
    except LeaderboardError as exc:
        raise fail(str(exc))
    for split, row in record["splits"].items():
        console.print(f"{split}: success {row['recorded']['success_rate']:.4f} -> {row['measured']['success_rate']:.4f}, "
                      f"score {row['recorded']['score']:.2f} -> {row['measured']['score']:.2f}"
                      f"{'' if row['within_tolerance'] else '  [red]outside tolerance[/]'}", highlight=False)
    console.print(f"outcome: {record['outcome']}" + (f" ({record['reason']})" if record.get("reason") else ""),
                  highlight=False)
    console.print(f"recorded in {path}", highlight=False)
    if record["outcome"] != "reproduced":  # unavailable: 2; not reproduced or fingerprint mismatch: 1
        raise typer.Exit(2 if record["outcome"] == "unavailable" else 1)


@leaderboard_app.command("reference-agents")
def reference_agents_command(
        envs: Optional[List[str]] = typer.Option(None, "--env", help="Env to measure (repeatable; default: "
                                                 "alfworld and webshop)."),
        episodes: Optional[int] = typer.Option(None, "--episodes", min=1,
                                               help="Episodes per split (default: the tiny preset's, 128)."),
        root: Path = ROOT_OPTION):
    """Measure the agents that need no model (expert, random; WebShop's rule) on the tiny track's evaluation
    tasks and write their reference rows, with the WebShop paper's rule figure; never overwrites an entry."""
    from prism_gym.leaderboard.loading import LeaderboardError
    from prism_gym.leaderboard.reference_agents import write_reference_agent_entries

    try:
        done = write_reference_agent_entries(root / "entries", envs=tuple(envs or ()), episodes=episodes,
                                             progress=True)
    except LeaderboardError as exc:
        raise fail(str(exc))
    for path, status in done:
        console.print(f"{path}: {status}", highlight=False)
    console.print("render the tables with `prism-gym leaderboard render`", style="dim")
