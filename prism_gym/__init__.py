"""prism-gym: which trajectories should train an LLM agent by SFT, and which by RL?

The core package names no particular environment, router or agent: those are
plugins (see :mod:`prism_gym.hookspecs` and :mod:`prism_gym.plugins`).
"""

__version__ = "0.1.0"

from prism_gym.hookspecs import hookimpl  # noqa: E402  (re-exported for plugin authors)

__all__ = ["__version__", "hookimpl"]


def _register_envs() -> None:
    # Importing prism_gym makes every plugin env known to Gymnasium, so both
    # `import prism_gym; gymnasium.make("prism_gym/ALFWorld-v0")` and
    # `gymnasium.make("prism_gym:prism_gym/ALFWorld-v0")` work.
    from prism_gym.envs import register_gymnasium_envs

    register_gymnasium_envs()


_register_envs()
