"""Built-in environment plugins (imported as ``prism_gym.envs``).

Each sub-package (``alfworld/``, ``webshop/``) has a ``plugin`` module that
implements the ``prism_gym_envs`` hook. This module only bridges the plugin
registry to Gymnasium's own registry.
"""
from __future__ import annotations


def register_gymnasium_envs() -> None:
    """Register every env that a prism-gym plugin provides with Gymnasium.

    Called when prism_gym is imported. Safe to call more than once; a plugin
    that fails is recorded in the registry's failures, not raised.
    """
    import gymnasium

    from prism_gym.plugins import get_registry

    from prism_gym.plugins import PluginError

    try:
        specs = get_registry().envs()
    except PluginError:
        return  # two plugins claim one env name: reported when the env is asked for
    for _, (_, spec) in specs.items():
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
