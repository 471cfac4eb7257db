"""A small text env that follows the uniform env contract (a test double for
ALFWorld / WebShop), the plugin that registers it, and tests of the double.

The game: walk a corridor to the room that holds the key and take it. The
task's instance fixes the distance (1-4 rooms); ``take key`` is admissible only
in that room. A ``search[<your query>]`` entry is always admissible (it does
nothing) so that the random agent's query substitution is exercised.
"""
from __future__ import annotations

import gymnasium
import pytest

from prism_gym import hookimpl
from prism_gym.records import Task
from prism_gym.specs import EnvSpec

SPLITS = {"train": 40, "test": 12, "pretrain": 30}
STEP_LIMIT = 8


def list_tasks(split, limit=None, seed=0, **env_kwargs):
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}")
    n = SPLITS[split] if limit is None else min(limit, SPLITS[split])
    return [_task(split, str(i)) for i in range(n)]


def _task(split: str, instance: str) -> Task:
    distance = 1 + int(instance) % 4
    return Task(env="toy", split=split, instance=instance, task_type="near" if distance <= 2 else "far",
                goal=f"find the brass key {distance} rooms down the corridor and take it")


class ToyEnv(gymnasium.Env):
    metadata = {"render_modes": []}

    def __init__(self, split: str = "train", expert_actions: bool = False, step_limit: int = STEP_LIMIT):
        self.observation_space = gymnasium.spaces.Text(max_length=10_000)
        self.action_space = gymnasium.spaces.Text(max_length=10_000)
        self.split, self.expert_actions, self.step_limit = split, expert_actions, step_limit

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        options = options or {}
        if "task" in options:
            self.task = options["task"]
        else:
            split = options.get("split", self.split)
            instance = options.get("instance")
            if instance is None:
                instance = str(int(self.np_random.integers(SPLITS[split])))
            self.task = _task(split, str(instance))
        self.target = 1 + int(self.task.instance) % 4
        self.position, self.steps, self.won = 0, 0, False
        return f"You are in room 0. {self.task.goal}.", self._info(valid=True)

    def _admissible(self):
        acts = ["go forward", "look", "search[<your query>]"]
        if self.position > 0:
            acts.append("go back")
        if self.position == self.target:
            acts.append("take key")
        return sorted(acts)

    def _info(self, valid):
        info = {"admissible_actions": self._admissible(), "won": self.won, "task": self.task,
                "score": 100.0 if self.won else 0.0, "is_action_valid": valid,
                "goal_condition_success": 1.0 if self.won else (0.5 if self.position == self.target else 0.0)}
        if self.expert_actions:
            info["expert_action"] = "take key" if self.position == self.target else (
                "go forward" if self.position < self.target else "go back")
        return info

    def step(self, action):
        self.steps += 1
        action = action.strip()
        valid = action in self._admissible() or action.startswith("search[")
        reward = 0.0
        if not valid:
            obs = "Nothing happens."
        elif action == "go forward":
            self.position += 1
            obs = f"You are in room {self.position}."
        elif action == "go back":
            self.position -= 1
            obs = f"You are in room {self.position}."
        elif action == "take key":
            self.won, reward, obs = True, 1.0, "You take the brass key. You won!"
        else:
            obs = f"You are in room {self.position}. Nothing to search here."
        return obs, reward, self.won, self.steps >= self.step_limit and not self.won, self._info(valid)


class ToyPlugin:
    @hookimpl
    def prism_gym_envs(self):
        return [EnvSpec(id="prism_gym/Toy-v0", name="toy", entry_point="test_agents_toyenv:ToyEnv",
                        splits=tuple(SPLITS), eval_splits=("test",), tasks="test_agents_toyenv:list_tasks")]


@pytest.fixture()
def toy_registry():
    """The process registry with the toy env plugin added (removed afterwards)."""
    from prism_gym.envs import register_gymnasium_envs
    from prism_gym.plugins import get_registry, reset_registry

    reset_registry()
    registry = get_registry()
    registry.register_plugin(ToyPlugin(), name="toy-env")
    register_gymnasium_envs()
    yield registry
    reset_registry()


def test_toy_env_follows_the_contract(toy_registry):
    from prism_gym.envs import make

    env = make("toy", expert_actions=True)
    obs, info = env.reset(seed=0, options={"task": _task("test", "1")})
    assert isinstance(obs, str) and info["task"].instance == "1"
    assert {"admissible_actions", "won", "task", "score", "is_action_valid", "expert_action"} <= set(info)
    for _ in range(3):
        obs, reward, terminated, truncated, info = env.step(info["expert_action"])
    assert terminated and info["won"] and reward == 1.0 and info["score"] == 100.0


def test_toy_env_truncates_and_rejects_unknown_actions(toy_registry):
    from prism_gym.envs import make

    env = make("toy")
    env.reset(seed=0, options={"split": "train", "instance": "3"})
    for i in range(STEP_LIMIT):
        obs, _, terminated, truncated, info = env.step("dance")
        assert obs == "Nothing happens." and not info["is_action_valid"] and not terminated
    assert truncated
