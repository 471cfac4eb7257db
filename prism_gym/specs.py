"""Records that registration hooks return. Factories are dotted paths or
callables; a dotted path ("package.module:attr") is imported only when the
thing is built, which keeps plugin loading cheap."""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable


def resolve(target: str | Callable) -> Callable:
    """Turn ``"package.module:attr"`` into the object it names."""
    if callable(target):
        return target
    module_name, _, attr = target.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split(".") if attr else []:
        obj = getattr(obj, part)
    return obj


@dataclass(frozen=True)
class _OptionsFactory:
    """A named thing built by ``factory(**options)``."""

    name: str
    factory: str | Callable
    summary: str = ""
    options: dict[str, Any] = field(default_factory=dict)  # option -> default, for help texts

    def build(self, **options):
        return resolve(self.factory)(**options)


@dataclass(frozen=True)
class RouterSpec(_OptionsFactory):
    """A router: ``factory(**options)`` returns an object with
    ``route(trajectories, context) -> list[RoutingDecision]``
    (see :class:`prism_gym.routing.Router`)."""


@dataclass(frozen=True)
class EnvSpec:
    """An environment: ``id`` is the Gymnasium id, ``name`` the CLI short name,
    ``entry_point`` the env class (``"module:Class"``)."""

    id: str
    name: str
    entry_point: str
    summary: str = ""
    max_episode_steps: int | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)
    splits: tuple[str, ...] = ()
    eval_splits: tuple[str, ...] = ()
    # "module:function" with signature (split, limit=None, seed=0, **env_kwargs)
    # -> list[prism_gym.records.Task]: the tasks of a split, in the split's order.
    tasks: str | None = None

    def list_tasks(self, split: str, limit: int | None = None, seed: int = 0, **env_kwargs):
        if self.tasks is None:
            raise ValueError(f"env {self.name!r} does not list its tasks")
        return resolve(self.tasks)(split, limit=limit, seed=seed, **env_kwargs)


@dataclass(frozen=True)
class AgentSpec:
    """An agent: ``factory(env_name=..., **options)`` returns an object with
    ``act_batch(requests) -> list[str]`` (see :class:`prism_gym.agent.Agent`)."""

    name: str
    factory: str | Callable
    summary: str = ""

    def build(self, **options):
        return resolve(self.factory)(**options)


@dataclass(frozen=True)
class AlgorithmSpec(_OptionsFactory):
    """An RL algorithm: ``factory(**options)`` returns an object with ``name``,
    ``loss`` and ``advantages(group)`` (see :class:`prism_gym.algorithm.Algorithm`)."""


@dataclass(frozen=True)
class ArbiterSpec(_OptionsFactory):
    """A dynamic arbiter: ``factory(**options)`` returns an object with ``name``
    and ``arbitrate(view) -> Arbitration``, which decides at every RL update
    which tasks train by SFT on their demonstration and which by RL on their
    rollouts (see :class:`prism_gym.arbitration.Arbiter`)."""


@dataclass(frozen=True)
class TrackerSpec:
    """An experiment tracker: ``factory(run_dir, config)`` opens it for one run
    and returns a plugin object with the run's hooks (see
    :class:`prism_gym.tracking.Tracker`). ``requires`` names the modules the
    tracker imports and ``install`` what to pip-install to get them, so that a
    run asking for a tracker that is not installed fails before any stage with
    a message naming the install."""

    name: str
    factory: str | Callable
    summary: str = ""
    requires: tuple[str, ...] = ()
    install: str = ""

    def missing(self) -> list[str]:
        """The required modules that cannot be imported here (looked up, not imported)."""
        import importlib.util

        absent = []
        for module in self.requires:
            try:
                found = importlib.util.find_spec(module) is not None
            except (ImportError, ValueError):  # a parent package missing, or a broken install
                found = False
            if not found:
                absent.append(module)
        return absent

    def open(self, run_dir, config: dict):
        return resolve(self.factory)(run_dir, config)
