"""Difficulty: the HPT-style split by the base model's pass rate (Lv et al. 2025).

For each trajectory's task the base model plays ``k`` sampled episodes in the
environment; the pass rate is the fraction it wins. A task the model already
solves sometimes is within reach of RL's exploration, so it goes to RL; a task
it never solves has no reward signal for RL and its expert trajectory goes to
SFT. Precisely: ``pass rate > threshold`` -> RL (default threshold 0: at least
one win). With ``rl_fraction`` set, the split is by rank instead (highest pass
rates to RL), like every score router.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from prism_gym import hookimpl
from prism_gym.routing import ScoreRouter
from prism_gym.specs import RouterSpec


class DifficultyRouter(ScoreRouter):
    """Score = base-model pass rate over ``k`` rollouts; above ``threshold`` -> RL.

    Without ``max_steps`` the rollouts take the context's default: in ``bench``
    the RL stage's step limit, so the pass rate is the one RL's exploration
    would see; elsewhere the env's own limit.
    """

    name = "difficulty"

    def __init__(self, k: int = 4, threshold: float = 0.0, rl_fraction: float | None = None,
                 max_steps: int | None = None, temperature: float = 1.0, **options: Any):
        super().__init__(rl_fraction=rl_fraction, **options)
        if int(k) < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        if not 0.0 <= float(threshold) <= 1.0:
            raise ValueError(f"threshold must be in [0, 1], got {threshold}")
        self.k, self.threshold = int(k), float(threshold)
        self.max_steps, self.temperature = max_steps, float(temperature)

    def scores(self, trajectories, context):
        options: dict[str, Any] = {"temperature": self.temperature,
                                   "progress": bool(context.options.get("progress", True))}
        if self.max_steps is not None:
            options["max_steps"] = int(self.max_steps)
        rates = context.pass_rates(trajectories, k=self.k, **options)
        return [float(r) for r in rates]

    def route(self, trajectories, context):
        decisions = super().route(trajectories, context)
        if self.rl_fraction is not None:
            return decisions
        # The median split is replaced by the pass-rate threshold.
        return [replace(d, route="rl" if d.score > self.threshold else "sft") for d in decisions]


@hookimpl
def prism_gym_routers():
    return [RouterSpec(DifficultyRouter.name, DifficultyRouter,
                       "HPT-style: base-model pass rate over k rollouts; above the threshold -> RL.",
                       options={"k": 4, "threshold": 0.0, "rl_fraction": None, "max_steps": None,
                                "temperature": 1.0})]
