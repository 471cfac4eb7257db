"""Task listing for ``prism_gym/ALFWorld-v0`` (the ``tasks=`` hook of its EnvSpec)."""
from __future__ import annotations

from prism_gym.records import Task

_SOURCE_KWARGS = ("task_types", "num_games", "data_dir", "game_files", "dialect", "game_seed")


def list_tasks(split: str, limit: int | None = None, seed: int = 0, **env_kwargs) -> list[Task]:
    """The tasks of ``split`` in split order (game 0, 1, ... of a generated split;
    the original's file order for a data directory; the given order for
    ``game_files``). ``env_kwargs`` are the env's constructor options; those
    that do not pick games are ignored. ALFWorld's split order does not depend
    on ``seed`` (a split is a fixed list of games); the argument is accepted for
    the common task-listing signature.
    """
    from prism_gym.envs.alfworld.sources import make_source

    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0, not {limit}")
    kwargs = {k: v for k, v in env_kwargs.items() if k in _SOURCE_KWARGS}
    if "game_seed" in kwargs:
        kwargs["seed"] = kwargs.pop("game_seed")
    source = make_source(split, **kwargs)
    instances = source.instances if limit is None else source.instances[:limit]
    return [source.task(i) for i in instances]
