"""``list_tasks``: the WebShop tasks of a split, in split order."""
from __future__ import annotations

from prism_gym.envs.webshop.env import task_for
from prism_gym.envs.webshop.site import get_site, site_kwargs
from prism_gym.records import Task


def list_tasks(split: str, limit: int | None = None, seed: int = 0, **env_kwargs) -> list[Task]:
    """The tasks of ``split`` (``train``, ``dev``, ``test`` or ``pretrain``) in goal
    order; ``limit`` keeps the first ones. ``env_kwargs`` are the env's catalogue
    options (``catalogue``, ``n_products``, ``catalogue_seed``, ``data_dir`` ...);
    other env options are accepted and ignored. ``seed`` does not change the order."""
    if limit is not None and int(limit) < 0:
        raise ValueError(f"limit must be >= 0, not {limit}")
    site = get_site(**site_kwargs(env_kwargs))
    indices = site.split_indices(split)
    if limit is not None:
        indices = indices[: int(limit)]
    table = site.goal_table(split)
    return [task_for(table[i], split, i) for i in indices]
