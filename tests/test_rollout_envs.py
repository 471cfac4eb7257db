"""The rollout engine and evaluation on the built-in envs (skipped where an env is not installed)."""
from __future__ import annotations

import pytest

from prism_gym.agents.baselines import ExpertAgent, RandomAgent
from prism_gym.evaluation import evaluate
from prism_gym.plugins import get_registry, reset_registry
from prism_gym.rollout import rollout

SPLITS = {"alfworld": "valid_seen", "webshop": "test"}


@pytest.fixture(params=sorted(SPLITS))
def env_name(request):
    reset_registry()
    if request.param not in get_registry().envs():
        pytest.skip(f"env {request.param} is not installed")
    return request.param


def test_expert_wins_and_random_plays_valid_episodes(env_name):
    result = evaluate(env_name, ExpertAgent(env_name), split=SPLITS[env_name], episodes=6, progress=False)
    assert result["success_rate"] == 1.0 and result["score"] == 100.0 and result["episodes"] == 6
    tasks = get_registry().env(env_name).list_tasks(SPLITS[env_name], limit=4)
    episodes = rollout(env_name, tasks, RandomAgent(env_name, seed=0), group_size=2, max_steps=6, progress=False)
    assert len(episodes) == 8 and len({e.trajectory.id for e in episodes}) == 8
    for ep in episodes:
        turns = ep.trajectory.turns
        assert 1 <= len(turns) <= 6 and all(t.admissible_actions for t in turns)
        assert ep.trajectory.task.goal and ep.trajectory.metadata["invalid_actions"] == 0
        for t in turns:  # every random action was admissible (a search placeholder filled in)
            assert t.action in t.admissible_actions or (t.action.startswith("search[") and "<" not in t.action)
