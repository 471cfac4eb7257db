"""Weights & Biases: one W&B run per bench run, named by the run id.

W&B reads its own settings from the environment (``WANDB_PROJECT``, default
``prism-gym`` here; ``WANDB_ENTITY``; ``WANDB_MODE=offline`` to write run files
under ``WANDB_DIR`` and sync them later). The run config is the W&B config.
Curves (SFT steps, RL updates) go to the history, each section on its own
x axis (``sft/step``, ``rl/step``), because the two stages count steps
separately and W&B's own step must only grow; numbers measured once
(evaluation, stage summaries, ledger) go to the summary. Each split's sampled
episodes are a ``wandb.Table`` logged as ``episodes/<split>``.
"""
from __future__ import annotations

import os

from prism_gym import hookimpl
from prism_gym.specs import TrackerSpec
from prism_gym.tracking import Tracker, metric_key, require

DEFAULT_PROJECT = "prism-gym"


class WandbTracker(Tracker):
    def __init__(self, run_dir, config: dict):
        super().__init__(run_dir)
        self.wandb = require("wandb", SPEC)
        self.run = self.wandb.init(project=os.environ.get("WANDB_PROJECT") or DEFAULT_PROJECT,
                                   name=self.run_dir.name, config=config)
        self._axes: set[str] = set()

    def _axis(self, section: str) -> str:
        step_key = metric_key(section, "step")
        if section not in self._axes:
            self.run.define_metric(step_key)
            self.run.define_metric(metric_key(section, "*"), step_metric=step_key)
            self._axes.add(section)
        return step_key

    def log_metrics(self, section, step, metrics):
        values = {metric_key(section, name): value for name, value in metrics.items()}
        if step is None:
            self.run.summary.update(values)
        else:
            self.run.log({self._axis(section): step, **values})

    def log_episodes(self, split, columns, rows):
        table = self.wandb.Table(columns=list(columns), data=[list(row) for row in rows])
        self.run.log({f"episodes/{split}": table})

    def close(self, failed):
        self.run.finish(exit_code=1 if failed else 0)


SPEC = TrackerSpec("wandb", WandbTracker, "Weights & Biases (WANDB_MODE=offline works without an account).",
                   requires=("wandb",), install="prism-gym[wandb]")


@hookimpl
def prism_gym_trackers():
    return [SPEC]
