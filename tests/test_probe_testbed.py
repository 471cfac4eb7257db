"""The probe testbed's analysis on a hand-made probe result: a group whose
gradients sit in one matrix type must be found by the concentration scores
and by that type's share."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import probe_testbed  # noqa: E402

from prism_gym.probe import ProbeResult  # noqa: E402


def _result(unknown: np.ndarray) -> ProbeResult:
    names = [f"layers.{i}.{t}" for i in range(2) for t in probe_testbed.MATRIX_TYPES]
    rng = np.random.default_rng(0)
    norms = rng.uniform(0.9, 1.1, (len(unknown), len(names)))
    down = [j for j, n in enumerate(names) if n.endswith(".down")]
    norms[np.ix_(unknown, down)] *= 20  # the unknown trajectories' gradient piles up in the down projections
    return ProbeResult(trajectory_ids=[str(i) for i in range(len(unknown))], matrix_names=names,
                       matrix_sizes=np.full(len(names), 64), norms=norms, losses=rng.uniform(1, 2, len(unknown)),
                       num_tokens=np.full(len(unknown), 10))


def test_concentrated_unknown_trajectories_are_separated_and_sent_to_rl():
    unknown = np.array([True, False] * 10)
    result = _result(unknown)
    scores = probe_testbed.trajectory_scores(result)
    rows = {r["score"]: r for r in probe_testbed.separation(scores, unknown, resamples=200)}
    assert rows["prism-gini"]["auroc"] == 1.0 and rows["prism-gini"]["unknown_to_rl"] == 1.0
    assert rows["inverse-prism"]["auroc"] == 0.0 and rows["inverse-prism"]["unknown_to_rl"] == 0.0
    assert rows["prism-gini"]["known_to_rl"] == 0.0
    assert 0.2 < rows["loss"]["auroc"] < 0.8  # the losses were drawn independently of the group
    breakdown = {(r["scale"], r["type"]): r for r in probe_testbed.matrix_type_breakdown(result, unknown)}
    assert breakdown[("raw", "down")]["share_auroc"] == 1.0
    assert breakdown[("raw", "down")]["share_unknown"] > 0.9 > breakdown[("raw", "down")]["share_known"]
    assert breakdown[("raw", "q")]["share_auroc"] == 0.0


def test_profiles_swap_and_cover_every_task_type():
    from prism_gym.envs.alfworld.tables import TASK_TYPES

    a, b = probe_testbed.PROFILES["A"], probe_testbed.PROFILES["B"]
    assert set(a["alfworld"]) | set(b["alfworld"]) == set(TASK_TYPES) and not set(a["alfworld"]) & set(b["alfworld"])
    assert not set(a["webshop"]) & set(b["webshop"]) and len(a["webshop"]) + len(b["webshop"]) == 5
    s = probe_testbed.profile_settings("A", 0, 1.0, 0.5)
    assert set(s.expert_task_types) == set(a["alfworld"]) | set(a["webshop"]) and s.expert_share == 1.0
