"""What the command line prints: help without type-label noise, tables that
do not cut ids, errors that name the alternatives."""
from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from prism_gym.cli import app

runner = CliRunner()
COMMANDS = [[], ["eval"], ["expert"], ["route"], ["bench"], ["show"], ["envs", "list"], ["routers", "list"],
            ["model", "build"], ["leaderboard", "submit"], ["compare"], ["algorithms", "list"], ["serve"]]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "root")
def test_help_has_no_type_labels(command):
    result = runner.invoke(app, command + ["--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    # typer's labels would read "<bool>", "<str>", "<int range>", "<path>", "<list[str]>".
    assert not re.search(r"<(bool|str|int|float|path|list\[)", result.output), result.output
    assert "--help" in result.output


def test_eval_help_names_plain_value_kinds():
    out = runner.invoke(app, ["eval", "--help"], env={"COLUMNS": "120"}).output
    assert re.search(r"--episodes\s+INTEGER \[x>=1\]", out) and re.search(r"--save-trajectories\s+PATH", out)
    assert re.search(r"--help\s+Show this message", out)  # a flag: no value


def test_envs_list_keeps_ids_whole_at_100_columns():
    result = runner.invoke(app, ["envs", "list"], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    assert "prism_gym/ALFWorld-v0" in result.output and "prism_gym/WebShop-v0" in result.output
    assert "…" not in result.output
    assert max(len(line) for line in result.output.splitlines()) <= 100


def test_unknown_router_error_lists_the_baselines():
    result = runner.invoke(app, ["bench", "--router", "prims", "--env", "alfworld"])
    assert result.exit_code == 1
    message = " ".join(result.output.split())
    assert "unknown router 'prims'; known: " in message and "prism" in message
    assert "baselines: sft-only, rl-only, sft-then-rl" in message
