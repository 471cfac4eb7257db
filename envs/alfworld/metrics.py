"""ALFWorld metrics: success rate, goal-condition success, per task type.

Goal-condition success is the ALFRED metric re-implemented for the text game:
satisfied goal conditions / total conditions at the end of an
episode (``Engine.goal_conditions``); the env reports it as
``info["goal_condition_success"]``.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Iterable, Mapping

from prism_gym.envs.alfworld.tables import TASK_TYPES


def summarize(results: Iterable[Mapping]) -> dict:
    """Aggregate episode results, each with ``task_type``, ``won`` and
    ``goal_condition_success``, into overall and per-task-type figures."""
    rows = list(results)
    if not rows:
        raise ValueError("no episode results to summarize")
    per_type: dict[str, list[Mapping]] = defaultdict(list)
    for row in rows:
        for key in ("task_type", "won", "goal_condition_success"):
            if key not in row:
                raise ValueError(f"episode result is missing {key!r}: {dict(row)}")
        gc = float(row["goal_condition_success"])
        if not 0.0 <= gc <= 1.0:
            raise ValueError(f"goal_condition_success must be within [0, 1], not {gc}")
        per_type[str(row["task_type"])].append(row)

    def _block(group):
        n = len(group)
        return {"count": n, "success": sum(bool(r["won"]) for r in group) / n,
                "goal_condition_success": sum(float(r["goal_condition_success"]) for r in group) / n}

    order = [t for t in TASK_TYPES if t in per_type] + sorted(set(per_type) - set(TASK_TYPES))
    return {**_block(rows), "per_task_type": {t: _block(per_type[t]) for t in order}}
