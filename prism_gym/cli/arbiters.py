"""`prism-gym arbiters list`: the dynamic arbiters every installed plugin provides."""
from __future__ import annotations

import typer

from prism_gym.cli.app import app
from prism_gym.cli.catalog import JSON_OPTION, _collect, _print

arbiters_app = typer.Typer(help="Arbiters: routing decided during training, per RL update and task "
                                "(prism-gym bench --router NAME).", no_args_is_help=True)
app.add_typer(arbiters_app, name="arbiters")


@arbiters_app.command("list")
def arbiters_list(as_json: bool = JSON_OPTION):
    """List the arbiters every installed plugin provides, with their options and defaults."""
    registry, table = _collect("arbiters")
    rows = [{"name": name, "plugin": plugin, "package": registry.info[plugin].package if plugin in registry.info else "",
             "summary": spec.summary, "options": spec.options} for name, (plugin, spec) in sorted(table.items())]
    if not as_json:
        for row in rows:
            row["options"] = ", ".join(f"{k}={v}" for k, v in row["options"].items())
    _print(rows, "arbiters", ["name", "package", "options", "summary"], as_json)
