"""Built-in environment plugins (imported as ``prism_gym.envs``).

Each sub-package (``alfworld/``, ``webshop/``) has a ``plugin`` module that
implements the ``prism_gym_envs`` hook. This module only bridges the plugin
registry to Gymnasium's own registry.
"""
from __future__ import annotations


def register_gymnasium_envs() -> None:
    """Register every env that a prism-gym plugin provides with Gymnasium.

    Called by Gymnasium at import (entry-point group ``gymnasium.envs``) and by
    :func:`prism_gym.envs.make`. Safe to call more than once.
    """
    import gymnasium

    from prism_gym.plugins import get_registry

    for _, (_, spec) in get_registry().envs().items():
        if spec.id in gymnasium.registry:
            continue
        gymnasium.register(id=spec.id, entry_point=spec.entry_point,
                           max_episode_steps=spec.max_episode_steps, kwargs=dict(spec.kwargs),
                           disable_env_checker=True)


def make(name: str, **kwargs):
    """``gymnasium.make`` by short name (``"alfworld"``) or id."""
    import gymnasium

    from prism_gym.plugins import get_registry

    register_gymnasium_envs()
    return gymnasium.make(get_registry().env(name).id, **kwargs)
