"""What a run tells plugins as it goes: the lifecycle and logging hooks of
:mod:`prism_gym.hookspecs`, and the trackers a run reports to (``--report-to``).

The runner calls one method here per thing that happened (a stage began, an
SFT logging interval, an RL update, an evaluation, the ledger); this module
turns each into hook calls, with the numbers in the form the run writes them
to ``curves.json``, so that a tracker's logs read back equal to the run's
own files. Only the main process speaks: under ``accelerate`` every process
trains, but one run is logged once.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from prism_gym.runner import dist

# Sampled episodes per evaluation split in the episode table: the split's
# first ones (evaluation tasks are drawn with one fixed seed, so every run's
# table shows the same tasks).
EPISODES_PER_SPLIT = 8
# How an open tracker is named among the registry's plugins (failures name it so).
TRACKER_PLUGIN_PREFIX = "tracker:"


class RunEvents:
    def __init__(self, run_dir: Path, report_to: Sequence[str] = ()):
        self.run_dir = Path(run_dir)
        self.report_to = tuple(report_to)
        self._registry = None
        self._attached: list[tuple[str, object]] = []  # (plugin name, open tracker)

    # -- lifecycle -----------------------------------------------------------------------
    def start(self, config: dict) -> None:
        """Open the run's trackers (registered as plugins until :meth:`finish`),
        then announce the run. A tracker that fails to open stops the run
        before any stage, closing those already open."""
        if not dist.is_main():
            return
        from prism_gym.plugins import get_registry

        self._registry = get_registry()
        for name in self.report_to:
            try:
                tracker = self._registry.tracker(name).open(self.run_dir, config)
            except Exception as exc:
                self._close_opened(exc)
                raise
            plugin_name = f"{TRACKER_PLUGIN_PREFIX}{name}:{self.run_dir}"
            self._registry.attach(tracker, plugin_name)
            self._attached.append((plugin_name, tracker))
        self._notify("prism_gym_run_started", config=config)

    def _close_opened(self, error: BaseException) -> None:
        """The run never started: close the trackers already open (and only
        them: no other plugin heard of the run)."""
        for plugin_name, tracker in self._attached:
            close = getattr(tracker, "prism_gym_run_finished", None)
            if close is not None:
                close(run_dir=self.run_dir, result=None, error=error)
            self._registry.detach(plugin_name)
        self._attached = []
        self._registry = None

    def finish(self, result: dict | None, error: BaseException | None) -> list[str]:
        """Announce the end (trackers close on it) and detach the trackers.
        Returns the tracker failures of this run, one line each, for the report."""
        if self._registry is None:
            return []
        self._notify("prism_gym_run_finished", result=result, error=error)
        names = {plugin_name for plugin_name, _ in self._attached}
        failed = [str(f) for f in self._registry.failures if f.plugin in names]
        for name in names:
            self._registry.detach(name)
        self._attached = []
        self._registry = None
        return failed

    def stage_started(self, stage: str, config: dict) -> None:
        self._notify("prism_gym_stage_started", stage=stage, config=config)

    def stage_finished(self, stage: str, ledger: dict, summary: dict) -> None:
        self._notify("prism_gym_stage_finished", stage=stage, metrics=dict(ledger, **summary))
        self.metrics(f"stages/{stage}", dict(ledger, **summary))

    # -- numbers -------------------------------------------------------------------------
    def metrics(self, section: str, values: dict, step: int | None = None) -> None:
        from prism_gym.tracking import numbers

        found = numbers(values)
        if found:
            self._notify("prism_gym_log_metrics", section=section, step=step, metrics=found)

    def sft_point(self, point: dict) -> None:
        """One entry of the SFT curve (``sft/curve.json``), as it is appended."""
        self.metrics("sft", {k: v for k, v in point.items() if k != "step"}, step=int(point["step"]))

    def rl_update(self, row: dict) -> None:
        """One row of ``rl/history.json``; its step is the update's number (from 1), as the run prints it."""
        self.metrics("rl", {k: v for k, v in row.items() if k != "iteration"}, step=int(row["iteration"]) + 1)

    def evaluation(self, metrics: dict) -> None:
        """``eval/metrics.json``: overall, per split, per task type."""
        self.metrics("eval", {"success_rate": metrics["success_rate"], "score": metrics["score"]})
        for split, values in metrics["per_split"].items():
            self.metrics(f"eval/{split}", values)
        for task_type, values in metrics.get("per_task_type", {}).items():
            self.metrics(f"eval/task_type/{task_type}", values)

    def episodes(self, split: str, trajectories: Sequence) -> None:
        if self._registry is None:
            return
        from prism_gym.tracking import EPISODE_COLUMNS, episode_rows

        rows = episode_rows(list(trajectories)[:EPISODES_PER_SPLIT])
        self._notify("prism_gym_log_episodes", split=split, columns=EPISODE_COLUMNS, rows=rows)

    def ledger(self, ledger: dict) -> None:
        """result.json's ledger: per stage and the total."""
        for stage, cost in ledger["stages"].items():
            self.metrics(f"ledger/{stage}", cost)
        self.metrics("ledger/total", ledger["total"])

    # -------------------------------------------------------------------------------------
    def _notify(self, hook: str, **kwargs) -> None:
        if self._registry is not None and dist.is_main():
            self._registry.notify(hook, run_dir=self.run_dir, **kwargs)
