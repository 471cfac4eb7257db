"""The typer application and the console every command prints to."""
from __future__ import annotations

import typer
from rich.console import Console

from prism_gym import __version__

console = Console()
err_console = Console(stderr=True)

app = typer.Typer(
    name="prism-gym",
    help="Route LLM-agent trajectories between SFT and RL, and benchmark the routers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool):
    if value:
        console.print(f"prism-gym {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                        help="Print the version and exit.")):
    """prism-gym: which trajectories should train the agent by SFT, and which by RL?"""


def fail(message: str, code: int = 1) -> "typer.Exit":
    """Print an error in one line and return the exit to raise."""
    err_console.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


def report_plugin_failures(registry) -> None:
    for failure in registry.failures:
        err_console.print(f"[yellow]warning:[/] {failure}")
