"""Experiment trackers: the contract a tracker plugin implements, and what
the runner needs to pick and open the ones a run asks for (``--report-to``).

A tracker is a plugin like any other. Its module registers a
:class:`prism_gym.specs.TrackerSpec` through the ``prism_gym_trackers`` hook;
for each run that names it, the runner calls the spec's factory and registers
the object it returns for the length of the run, so the object receives the
run's hooks (``prism_gym_log_metrics``, ``prism_gym_log_episodes``,
``prism_gym_run_finished``; see :mod:`prism_gym.hookspecs`).
:class:`Tracker` is a base class that turns those hooks into three methods.

This module imports no tracking library: each tracker imports its own
library when it is opened (:func:`require`), so that ``prism-gym --help``
never pays for one.
"""
from __future__ import annotations

import importlib
import math
from pathlib import Path
from typing import Any, Iterable, Sequence

from prism_gym import hookimpl
from prism_gym.plugins import PluginError

NO_TRACKING = "none"


class TrackerUnavailable(PluginError):
    """A run asks for a tracker whose library is not installed."""


def parse_report_to(text: str | Iterable[str] | None) -> tuple[str, ...]:
    """``"tensorboard,wandb"`` -> ``("tensorboard", "wandb")``; ``"none"``, ``""``
    or None -> ``()``. Names keep their order; a repeated name counts once."""
    items = text.split(",") if isinstance(text, str) else list(text or ())
    names = [n.strip().lower() for n in items if n and n.strip()]
    if NO_TRACKING in names:
        if len(names) > 1:
            raise PluginError(f"--report-to {NO_TRACKING} cannot be combined with a tracker ({', '.join(names)})")
        return ()
    return tuple(dict.fromkeys(names))


def install_hint(spec, modules: Sequence[str]) -> str:
    what = ", ".join(modules)
    how = f": pip install '{spec.install}'" if spec.install else ""
    return f"tracker {spec.name!r} needs {what}, which is not installed{how}"


def check_trackers(names: Sequence[str], registry) -> None:
    """Raise :class:`PluginError` (unknown name) or :class:`TrackerUnavailable`
    (library missing) for the first tracker in ``names`` that cannot open.
    Looks modules up without importing them: cheap enough for config checks."""
    for name in names:
        spec = registry.tracker(name)
        missing = spec.missing()
        if missing:
            raise TrackerUnavailable(install_hint(spec, missing))


def require(module: str, spec) -> Any:
    """Import a tracker's library, or raise :class:`TrackerUnavailable` naming
    the install (the guard for a library that :func:`check_trackers` did not
    see, or that fails to import although it is there)."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise TrackerUnavailable(f"{install_hint(spec, [module])} ({exc})") from exc


def flat_settings(config: dict, prefix: str = "") -> dict[str, Any]:
    """A nested run config as ``{"sft.epochs": 2.0, "rl.algorithm": "grpo", ...}``:
    the form hyperparameter tables take. Lists become tuples; an empty mapping
    (no router options) leaves no key."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flat_settings(value, prefix=f"{name}."))
        else:
            out[name] = tuple(value) if isinstance(value, list) else value
    return out


def numbers(values: dict) -> dict[str, float | int]:
    """The numeric entries of a record (booleans as 0/1); text and nested
    values are left out, since a tracker's metric is one number."""
    out: dict[str, float | int] = {}
    for key, value in values.items():
        if isinstance(value, bool):
            out[key] = int(value)
        elif isinstance(value, (int, float)) and not (isinstance(value, float) and math.isnan(value)):
            out[key] = value
    return out


EPISODE_COLUMNS = ("task", "task_type", "goal", "won", "score", "steps", "transcript")


def episode_rows(trajectories: Sequence) -> list[tuple]:
    """One row per trajectory, in :data:`EPISODE_COLUMNS` order. The transcript
    is each observation followed by the agent's answer (``> action``)."""
    rows = []
    for t in trajectories:
        lines = []
        for turn in t.turns:
            lines += [turn.observation.strip(), f"> {turn.action}"]
        if t.final_observation:
            lines.append(t.final_observation.strip())
        rows.append((t.task.id, t.task.task_type, t.task.goal, bool(t.won), float(t.score), int(t.num_steps),
                     "\n".join(lines)))
    return rows


def metric_key(section: str, name: str) -> str:
    """How every built-in tracker names a metric: ``sft/train_loss``."""
    return f"{section}/{name}"


class Tracker:
    """Base class of a tracker plugin object: one per run, opened by its
    spec's factory. Subclasses implement :meth:`log_metrics`,
    :meth:`log_episodes` and :meth:`close`; the hooks below call them with
    this run's events only (the registry is process-wide, and the run
    directory tells runs apart)."""

    def __init__(self, run_dir):
        self.run_dir = Path(run_dir)

    # -- what a subclass writes ------------------------------------------------------
    def log_metrics(self, section: str, step: int | None, metrics: dict) -> None:
        raise NotImplementedError

    def log_episodes(self, split: str, columns: tuple, rows: list[tuple]) -> None:
        raise NotImplementedError

    def close(self, failed: bool) -> None:
        raise NotImplementedError

    # -- the hooks ---------------------------------------------------------------------
    def _mine(self, run_dir) -> bool:
        return Path(run_dir) == self.run_dir

    @hookimpl
    def prism_gym_log_metrics(self, run_dir, section, step, metrics):
        if self._mine(run_dir):
            self.log_metrics(section, step, metrics)

    @hookimpl
    def prism_gym_log_episodes(self, run_dir, split, columns, rows):
        if self._mine(run_dir):
            self.log_episodes(split, columns, rows)

    @hookimpl
    def prism_gym_run_finished(self, run_dir, result, error):
        if self._mine(run_dir):
            self.close(failed=error is not None)
