"""The WebShop env plugin. Imports nothing heavy: the env class is a dotted path."""
from __future__ import annotations

from prism_gym import hookimpl
from prism_gym.specs import EnvSpec


@hookimpl
def prism_gym_envs():
    return [
        EnvSpec(
            id="prism_gym/WebShop-v0",
            name="webshop",
            entry_point="prism_gym.envs.webshop.env:WebShopEnv",
            summary="WebShop text shopping site (native engine, BM25 search, original reward)",
            splits=("train", "dev", "test", "pretrain"),
            eval_splits=("test",),
            tasks="prism_gym.envs.webshop.tasks:list_tasks",
        ),
    ]
