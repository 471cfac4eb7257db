"""MLflow: one MLflow run per bench run, named by the run id, in the
experiment ``MLFLOW_EXPERIMENT_NAME`` (default ``prism-gym``) of the tracking
store MLflow itself picks: ``MLFLOW_TRACKING_URI`` when set (a server, a
database, ``file:DIR``), else MLflow's default local store.

The run config is the run's parameters (``sft.epochs``, ...); metrics are
``section/name`` (numbers measured once at step 0); each split's sampled
episodes are the artifact ``episodes/<split>.json``, a table as
``{"columns": [...], "data": [[...], ...]}`` (the layout of MLflow's own
``log_table``, written without pandas, which mlflow-skinny lacks).
"""
from __future__ import annotations

import json
import os
import time

from prism_gym import hookimpl
from prism_gym.specs import TrackerSpec
from prism_gym.tracking import Tracker, flat_settings, metric_key, require

DEFAULT_EXPERIMENT = "prism-gym"
# MLflow takes at most this many parameters (and metrics) per batch call.
BATCH = 100


class MlflowTracker(Tracker):
    def __init__(self, run_dir, config: dict):
        super().__init__(run_dir)
        require("mlflow", SPEC)
        from mlflow.entities import Metric, Param
        from mlflow.tracking import MlflowClient

        self._metric = Metric
        self.client = MlflowClient()
        name = os.environ.get("MLFLOW_EXPERIMENT_NAME") or DEFAULT_EXPERIMENT
        experiment = self.client.get_experiment_by_name(name)
        experiment_id = experiment.experiment_id if experiment else self.client.create_experiment(name)
        run = self.client.create_run(experiment_id, run_name=self.run_dir.name,
                                     tags={"prism_gym.run_dir": str(self.run_dir)})
        self.run_id = run.info.run_id
        params = [Param(key, str(value)) for key, value in flat_settings(config).items()]
        for i in range(0, len(params), BATCH):
            self.client.log_batch(self.run_id, params=params[i:i + BATCH])

    def log_metrics(self, section, step, metrics):
        now = int(time.time() * 1000)
        batch = [self._metric(metric_key(section, name), float(value), now, step or 0)
                 for name, value in metrics.items()]
        for i in range(0, len(batch), BATCH):
            self.client.log_batch(self.run_id, metrics=batch[i:i + BATCH])

    def log_episodes(self, split, columns, rows):
        table = {"columns": list(columns), "data": [list(row) for row in rows]}
        self.client.log_text(self.run_id, json.dumps(table, indent=1), f"episodes/{split}.json")

    def close(self, failed):
        self.client.set_terminated(self.run_id, status="FAILED" if failed else "FINISHED")


SPEC = TrackerSpec("mlflow", MlflowTracker, "MLflow runs in MLFLOW_TRACKING_URI (or MLflow's default local store).",
                   requires=("mlflow",), install="prism-gym[mlflow]")


@hookimpl
def prism_gym_trackers():
    return [SPEC]
