"""TensorBoard: event files in the run directory, ``RUN_DIR/tensorboard``
(``tensorboard --logdir RUN_DIR/tensorboard``).

Metrics are scalars tagged ``section/name`` (``sft/train_loss``), written in
double precision so that they read back equal to the run's own numbers;
numbers measured once (evaluation, ledger) are at step 0. The run config is
the HParams dashboard's row, and each split's sampled episodes are a Markdown
table in the Text dashboard.
"""
from __future__ import annotations

from prism_gym import hookimpl
from prism_gym.specs import TrackerSpec
from prism_gym.tracking import Tracker, flat_settings, metric_key, require

LOG_SUBDIR = "tensorboard"


class TensorBoardTracker(Tracker):
    def __init__(self, run_dir, config: dict):
        super().__init__(run_dir)
        require("tensorboard", SPEC)  # torch's writer needs it; say which extra installs it
        from torch.utils.tensorboard import SummaryWriter
        from torch.utils.tensorboard.summary import hparams

        self.writer = SummaryWriter(log_dir=str(self.run_dir / LOG_SUBDIR))
        settings = {k: v if isinstance(v, (bool, int, float, str)) else str(v)
                    for k, v in flat_settings(config).items()}
        # SummaryWriter.add_hparams would open a second run directory named by
        # the clock; the same summaries go into this run's event file instead.
        for summary in hparams(settings, {}):
            self.writer.file_writer.add_summary(summary)

    def log_metrics(self, section, step, metrics):
        for name, value in metrics.items():
            self.writer.add_scalar(metric_key(section, name), value, global_step=step or 0, new_style=True,
                                   double_precision=True)

    def log_episodes(self, split, columns, rows):
        self.writer.add_text(f"episodes/{split}", markdown_table(columns, rows), global_step=0)

    def close(self, failed):
        self.writer.close()


def markdown_table(columns, rows) -> str:
    """The Text dashboard renders Markdown: one table, line breaks inside a
    cell as ``<br>`` and pipes escaped, so that a transcript stays in its cell."""
    def cell(value) -> str:
        return str(value).replace("|", "\\|").replace("\n", "<br>")

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


SPEC = TrackerSpec("tensorboard", TensorBoardTracker, "TensorBoard event files in RUN_DIR/tensorboard.",
                   requires=("tensorboard",), install="prism-gym[tensorboard]")


@hookimpl
def prism_gym_trackers():
    return [SPEC]
