"""The `prism-gym` command line. Each command group lives in its own module;
heavy libraries (torch, transformers, trl, peft) are imported inside the
commands that need them, so `prism-gym --help` stays fast."""
from __future__ import annotations

import importlib

from prism_gym.cli.app import app

# Modules that add commands to `app` when imported.
COMMAND_MODULES = (
    "prism_gym.cli.catalog",
    "prism_gym.cli.algorithms",
    "prism_gym.cli.arbiters",
    "prism_gym.cli.leaderboard",
    "prism_gym.cli.eval",
    "prism_gym.cli.route",
    "prism_gym.cli.bench",
    "prism_gym.cli.compare",
    "prism_gym.cli.show",
    "prism_gym.cli.model",
    "prism_gym.cli.serve",
)

for _module in COMMAND_MODULES:
    importlib.import_module(_module)


def main() -> None:
    app()


__all__ = ["app", "main"]
