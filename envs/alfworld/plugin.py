"""Registers ``prism_gym/ALFWorld-v0`` (imports nothing heavy)."""
from __future__ import annotations

from prism_gym import hookimpl
from prism_gym.specs import EnvSpec


@hookimpl
def prism_gym_envs():
    return [EnvSpec(
        id="prism_gym/ALFWorld-v0",
        name="alfworld",
        entry_point="prism_gym.envs.alfworld.env:ALFWorldEnv",
        summary="ALFWorld text household tasks (native engine, original text; generated or original games)",
        splits=("train", "valid_seen", "valid_unseen", "pretrain"),
        eval_splits=("valid_seen", "valid_unseen"),
        tasks="prism_gym.envs.alfworld.tasks:list_tasks",
    )]
