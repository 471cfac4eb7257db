"""The task-type router (the probe testbed's oracle): named types to RL."""
from __future__ import annotations

import pytest

from prism_gym.plugins import get_registry
from prism_gym.records import Task, Trajectory
from prism_gym.routing import RoutingContext


def _trajectories(types):
    return [Trajectory(id=f"t{i}", task=Task("alfworld", "train", str(i), task_type=t), turns=(), won=True, reward=1.0)
            for i, t in enumerate(types)]


def test_named_types_go_to_rl_and_the_rest_to_sft():
    router = get_registry().router("task-type").build(rl_types="heat+cool")
    decisions = router.route(_trajectories(["pick", "heat", "cool", "pick", "look"]), RoutingContext(env="alfworld"))
    assert [d.route for d in decisions] == ["sft", "rl", "rl", "sft", "sft"]
    assert [d.task_type for d in decisions] == ["pick", "heat", "cool", "pick", "look"]
    assert router.settings() == {"rl_types": ["cool", "heat"]}
    same = get_registry().router("task-type").build(rl_types=["cool", "heat"])
    assert same.settings() == router.settings()


def test_a_name_that_matches_nothing_and_no_names_are_refused():
    with pytest.raises(ValueError, match="none of rl_types"):
        get_registry().router("task-type").build(rl_types="haet").route(_trajectories(["heat"]),
                                                                         RoutingContext(env="alfworld"))
    with pytest.raises(ValueError, match="needs rl_types"):
        get_registry().router("task-type").build()
