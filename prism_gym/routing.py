"""The router API: what a router receives, what it returns, and the two split
rules every score-based router shares.

A router is any object with ``name`` and
``route(trajectories, context) -> list[RoutingDecision]`` (one decision per
trajectory, in order, the same for the same inputs and seed). Most routers only
compute a score per trajectory; they subclass :class:`ScoreRouter` and write
``scores()``; the split (median, or a fixed RL fraction) is done here, once.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol, Sequence, runtime_checkable

from prism_gym.records import Route, RoutingDecision, Trajectory


@dataclass
class RoutingContext:
    """What the runner hands a router. Expensive services are built on first
    use and shared: every router that needs gradient norms reads them from the
    one probe (and its on-disk cache)."""

    env: str  # env short name, e.g. "alfworld"
    seed: int = 0
    model: str | None = None  # local dir or hub id; None = the embedded default model
    device: str | None = None
    cache_dir: Path | None = None
    options: dict[str, Any] = field(default_factory=dict)
    # Probe settings of the run (batch_size, max_batch_tokens): they bound the
    # probe's memory and leave its results unchanged, so they override a router's defaults.
    probe_options: dict[str, Any] = field(default_factory=dict)
    # Defaults for pass-rate rollouts, from the run's RL stage (max_steps): a pass
    # rate asks whether RL's exploration finds the reward within RL's own step
    # budget. A router's explicit options override them.
    rollout_options: dict[str, Any] = field(default_factory=dict)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    def load_model(self):
        """``(model, tokenizer)`` of the frozen base model, loaded once."""
        if "model" not in self._cache:
            from prism_gym.models import load_model_and_tokenizer

            self._cache["model"] = load_model_and_tokenizer(self.model, device=self.device)
        return self._cache["model"]

    def gradient_norms(self, trajectories: Sequence[Trajectory], **probe_options):
        """Per-trajectory, per-matrix gradient norms on the frozen base model
        (a :class:`prism_gym.probe.ProbeResult`), cached on disk."""
        from prism_gym.probe import probe_trajectories

        model, tokenizer = self.load_model()
        return probe_trajectories(model, tokenizer, trajectories, model_id=self.model or "default",
                                  cache_dir=self.cache_dir, **{**probe_options, **self.probe_options})

    def pass_rates(self, trajectories: Sequence[Trajectory], k: int, **rollout_options) -> list[float]:
        """Fraction of ``k`` base-model rollouts that solve each trajectory's task."""
        from prism_gym.rollout import base_model_pass_rates

        model, tokenizer = self.load_model()
        return base_model_pass_rates(model, tokenizer, [t.task for t in trajectories], k=k,
                                     seed=self.seed, **{**self.rollout_options, **rollout_options})


@runtime_checkable
class Router(Protocol):
    name: str

    def route(self, trajectories: Sequence[Trajectory], context: RoutingContext) -> list[RoutingDecision]: ...


def split_by_score(scores: Sequence[float], rl_fraction: float | None = None) -> list[Route]:
    """Turn scores into routes; higher scores go to RL.

    ``rl_fraction=None``: the paper's median split, ``s > median`` -> RL, ties
    to SFT. Otherwise the ``round(rl_fraction * n)`` highest scores go to RL,
    ties broken by position so the result is deterministic.
    """
    n = len(scores)
    if n == 0:
        return []
    if rl_fraction is None:
        ordered = sorted(scores)
        mid = n // 2
        median = ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2
        return ["rl" if s > median else "sft" for s in scores]
    if not 0.0 <= rl_fraction <= 1.0:
        raise ValueError(f"rl_fraction must be in [0, 1], got {rl_fraction}")
    k = int(round(rl_fraction * n))
    top = sorted(range(n), key=lambda i: (-scores[i], i))[:k]
    chosen = set(top)
    return ["rl" if i in chosen else "sft" for i in range(n)]


class ScoreRouter(ABC):
    """Base for routers that score each trajectory and split on the score.

    Subclasses set ``name`` and implement :meth:`scores`. ``rl_fraction=None``
    means the median split.
    """

    name: ClassVar[str] = ""

    def __init__(self, rl_fraction: float | None = None, **options: Any):
        if options:
            raise TypeError(f"router {self.name!r} got unknown options: {', '.join(sorted(options))}")
        if rl_fraction is not None and not 0.0 <= float(rl_fraction) <= 1.0:
            # Checked here, not at split time, so a typo fails before a long probe or rollout.
            raise ValueError(f"rl_fraction must be in [0, 1], got {rl_fraction}")
        self.rl_fraction = None if rl_fraction is None else float(rl_fraction)

    @abstractmethod
    def scores(self, trajectories: Sequence[Trajectory], context: RoutingContext) -> list[float]:
        """One score per trajectory, in order; higher means "more RL"."""

    def settings(self) -> dict[str, Any]:
        """The options that change this router's decisions (recorded in runs)."""
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}

    def route(self, trajectories: Sequence[Trajectory], context: RoutingContext) -> list[RoutingDecision]:
        scores = [float(s) for s in self.scores(trajectories, context)]
        if len(scores) != len(trajectories):
            raise RuntimeError(f"router {self.name!r} returned {len(scores)} scores for {len(trajectories)} trajectories")
        routes = split_by_score(scores, self.rl_fraction)
        return [RoutingDecision(trajectory_id=t.id, task_id=t.task.id, route=r, score=s, router=self.name,
                                task_type=t.task.task_type)
                for t, r, s in zip(trajectories, routes, scores)]
