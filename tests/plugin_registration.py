"""A test plugin in the process registry for the length of a block."""
from __future__ import annotations

from contextlib import contextmanager


@contextmanager
def plugin_registered(plugin, name: str):
    """The process registry, fresh, with ``plugin`` added under ``name``;
    reset again afterwards so that no other test sees it."""
    from prism_gym.plugins import get_registry, reset_registry

    reset_registry()
    registry = get_registry()
    registry.register_plugin(plugin, name=name)
    try:
        yield registry
    finally:
        reset_registry()
