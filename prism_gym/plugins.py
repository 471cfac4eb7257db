"""The plugin manager: built-in plugins and third-party ones, loaded the same way.

Built-ins are listed once, in :data:`DEFAULT_PLUGINS`, and registered through
the same code path as modules found in the entry-point group ``prism_gym``.
Loading never lets one plugin break the others: a plugin that fails to import,
or raises inside a hook, is recorded in :attr:`PluginRegistry.failures` (name
and error) and reported by the CLI, and everything else keeps working.
"""
from __future__ import annotations

import importlib
import importlib.metadata as md
import threading
import traceback
from dataclasses import dataclass, field
from typing import Any, Iterable

import pluggy

from prism_gym import hookspecs
from prism_gym.specs import AgentSpec, AlgorithmSpec, ArbiterSpec, EnvSpec, RouterSpec, TrackerSpec

ENTRY_POINT_GROUP = "prism_gym"

# Every built-in plugin module, registered exactly like a third-party entry point.
DEFAULT_PLUGINS = (
    "prism_gym.envs.alfworld.plugin",
    "prism_gym.envs.webshop.plugin",
    "prism_gym.routers.baselines",
    "prism_gym.routers.prism",
    "prism_gym.routers.magnitude",
    "prism_gym.routers.loss",
    "prism_gym.routers.difficulty",
    "prism_gym.routers.task_type",
    "prism_gym.agents.plugin",
    "prism_gym.algorithms.grpo",
    "prism_gym.algorithms.gigpo",
    "prism_gym.algorithms.rloo",
    "prism_gym.arbiters.hpt",
    "prism_gym.arbiters.relift",
    "prism_gym.arbiters.reprobe",
    "prism_gym.trackers.tensorboard",
    "prism_gym.trackers.wandb",
    "prism_gym.trackers.mlflow",
)


class PluginError(Exception):
    """A plugin problem that stops the requested action (for example two plugins
    claiming one router name)."""


@dataclass
class PluginInfo:
    name: str  # entry-point name, or the module path for built-ins
    module: str
    package: str  # distribution that provides it
    version: str
    builtin: bool
    hooks: list[str] = field(default_factory=list)


@dataclass
class PluginFailure:
    plugin: str
    stage: str  # "import" or the hook name
    error: str
    traceback: str = ""

    def __str__(self) -> str:
        where = "failed to import" if self.stage == "import" else f"raised in {self.stage}"
        return f"plugin {self.plugin!r} {where}: {self.error}"


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class PluginRegistry:
    """A pluggy manager plus the bookkeeping the CLI and the runner need."""

    def __init__(self, *, load_entry_points: bool = True, builtins: Iterable[str] = DEFAULT_PLUGINS):
        self.pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        self.info: dict[str, PluginInfo] = {}
        self.failures: list[PluginFailure] = []
        from prism_gym import __version__

        for module_path in builtins:
            self._register_module(module_path, module_path, "prism-gym", __version__, builtin=True)
        if load_entry_points:
            for ep in md.entry_points(group=ENTRY_POINT_GROUP):
                dist = getattr(ep, "dist", None)
                self._register_entry_point(ep, dist.name if dist else "?", dist.version if dist else "?")

    # -- loading ---------------------------------------------------------------
    def _register_entry_point(self, ep, package: str, version: str) -> None:
        try:
            module = ep.load()
        except BaseException as exc:  # noqa: BLE001  (a plugin may raise anything, SystemExit included)
            self.failures.append(PluginFailure(ep.name, "import", _describe(exc), traceback.format_exc()))
            return
        self._register(ep.name, module, package, version, builtin=False)

    def _register_module(self, name: str, module_path: str, package: str, version: str, builtin: bool) -> None:
        try:
            module = importlib.import_module(module_path)
        except BaseException as exc:  # noqa: BLE001
            self.failures.append(PluginFailure(name, "import", _describe(exc), traceback.format_exc()))
            return
        self._register(name, module, package, version, builtin)

    def _register(self, name, module, package, version, builtin) -> None:
        try:
            self.pm.register(module, name=name)
        except BaseException as exc:  # noqa: BLE001  (bad hookimpl signatures, duplicate names)
            self.failures.append(PluginFailure(name, "register", _describe(exc), traceback.format_exc()))
            return
        hooks = sorted(h.name for h in self.pm.get_hookcallers(module) or [])
        self.info[name] = PluginInfo(name, getattr(module, "__name__", str(module)), package, version, builtin, hooks)

    def register_plugin(self, module_or_obj, name: str, package: str = "?", version: str = "?") -> None:
        """Register an already-imported plugin object (tests, notebooks)."""
        self._register(name, module_or_obj, package, version, builtin=False)

    def attach(self, plugin, name: str) -> None:
        """Register a plugin object for a while (an open tracker, for one run).
        It is not listed among the installed plugins; :meth:`detach` removes it."""
        self.pm.register(plugin, name=name)

    def detach(self, name: str) -> None:
        if self.pm.get_plugin(name) is not None:
            self.pm.unregister(name=name)

    # -- calling hooks, one plugin at a time so that one failure stays local ----
    def call_each(self, hook_name: str, **kwargs) -> list[tuple[str, Any]]:
        """Call ``hook_name`` on every plugin; return ``[(plugin, result)]`` for
        those that answered. Plugins that raise are recorded in ``failures``."""
        caller = getattr(self.pm.hook, hook_name)
        results = []
        for impl in reversed(caller.get_hookimpls()):  # registration order
            try:
                result = impl.function(**{k: kwargs[k] for k in impl.argnames})
            except Exception as exc:  # noqa: BLE001
                failure = PluginFailure(impl.plugin_name, hook_name, _describe(exc), traceback.format_exc())
                if not any(str(f) == str(failure) for f in self.failures):
                    self.failures.append(failure)
                continue
            if result is not None:
                results.append((impl.plugin_name, result))
        return results

    def notify(self, hook_name: str, **kwargs) -> None:
        """Fire a lifecycle hook; a failing listener never stops a run."""
        self.call_each(hook_name, **kwargs)

    def _collect(self, hook_name: str, kind: type, key: str) -> dict[str, tuple[str, Any]]:
        found: dict[str, tuple[str, Any]] = {}
        for plugin, specs in self.call_each(hook_name):
            for spec in specs:
                if not isinstance(spec, kind):
                    self.failures.append(PluginFailure(plugin, hook_name, f"returned {spec!r}, expected a {kind.__name__}"))
                    continue
                name = getattr(spec, key)
                if name in found:
                    other = found[name][0]
                    raise PluginError(
                        f"{kind.__name__.replace('Spec', '').lower()} name {name!r} is claimed by two plugins: "
                        f"{other!r} and {plugin!r}; uninstall or rename one of them")
                found[name] = (plugin, spec)
        return found

    # -- what the plugins provide ------------------------------------------------
    def routers(self) -> dict[str, tuple[str, RouterSpec]]:
        """``{router name: (plugin name, spec)}``."""
        return self._collect("prism_gym_routers", RouterSpec, "name")

    def envs(self) -> dict[str, tuple[str, EnvSpec]]:
        """``{short name: (plugin name, spec)}``."""
        return self._collect("prism_gym_envs", EnvSpec, "name")

    def agents(self) -> dict[str, tuple[str, AgentSpec]]:
        return self._collect("prism_gym_agents", AgentSpec, "name")

    def algorithms(self) -> dict[str, tuple[str, AlgorithmSpec]]:
        """``{algorithm name: (plugin name, spec)}``."""
        return self._collect("prism_gym_algorithms", AlgorithmSpec, "name")

    def algorithm(self, name: str) -> AlgorithmSpec:
        table = self.algorithms()
        if name not in table:
            raise PluginError(f"unknown algorithm {name!r}; known: {', '.join(sorted(table)) or 'none'}")
        return table[name][1]

    def arbiters(self) -> dict[str, tuple[str, ArbiterSpec]]:
        """``{arbiter name: (plugin name, spec)}``."""
        return self._collect("prism_gym_arbiters", ArbiterSpec, "name")

    def arbiter(self, name: str) -> ArbiterSpec:
        table = self.arbiters()
        if name not in table:
            raise PluginError(f"unknown arbiter {name!r}; known: {', '.join(sorted(table)) or 'none'}")
        return table[name][1]

    def trackers(self) -> dict[str, tuple[str, TrackerSpec]]:
        """``{tracker name: (plugin name, spec)}``."""
        return self._collect("prism_gym_trackers", TrackerSpec, "name")

    def tracker(self, name: str) -> TrackerSpec:
        table = self.trackers()
        if name not in table:
            raise PluginError(f"unknown tracker {name!r}; known: {', '.join(sorted(table)) or 'none'}")
        return table[name][1]

    def router(self, name: str) -> RouterSpec:
        table = self.routers()
        if name not in table:
            raise PluginError(f"unknown router {name!r}; known: {', '.join(sorted(table)) or 'none'}")
        return table[name][1]

    def env(self, name: str) -> EnvSpec:
        """Look an env up by short name (``alfworld``) or Gymnasium id."""
        table = self.envs()
        for short, (_, spec) in table.items():
            if name.lower() in (short.lower(), spec.id.lower()):
                return spec
        raise PluginError(f"unknown env {name!r}; known: {', '.join(sorted(table)) or 'none'}")

    def agent(self, name: str) -> AgentSpec:
        table = self.agents()
        if name not in table:
            raise PluginError(f"unknown agent {name!r}; known: {', '.join(sorted(table)) or 'none'}")
        return table[name][1]


_registry: PluginRegistry | None = None
_lock = threading.Lock()


def get_registry() -> PluginRegistry:
    """The process-wide registry, loaded on first use."""
    global _registry
    with _lock:
        if _registry is None:
            _registry = PluginRegistry()
        return _registry


def reset_registry() -> None:
    """Forget the loaded plugins (tests that install a plugin call this)."""
    global _registry
    with _lock:
        _registry = None
