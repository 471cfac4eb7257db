"""Routers that need no model: all-SFT, all-RL and a seeded random split.

They are the reference points every learned router is compared with: the
monolithic baselines of the paper and its random 50:50 split.
"""
from __future__ import annotations

import hashlib
from typing import Sequence

from prism_gym import hookimpl
from prism_gym.records import RoutingDecision, Trajectory
from prism_gym.routing import RoutingContext, ScoreRouter
from prism_gym.specs import RouterSpec


class ConstantRouter:
    """Sends every trajectory to one stage."""

    def __init__(self, name: str, route: str):
        self.name, self._route = name, route

    def settings(self) -> dict:
        return {}

    def route(self, trajectories: Sequence[Trajectory], context: RoutingContext) -> list[RoutingDecision]:
        return [RoutingDecision(trajectory_id=t.id, task_id=t.task.id, route=self._route, score=0.0,
                                router=self.name, task_type=t.task.task_type) for t in trajectories]


class RandomRouter(ScoreRouter):
    """A uniform random score per trajectory, split like every score router.

    The score is a hash of (seed, trajectory id), so a trajectory's route does
    not depend on the order of the file or on the other trajectories.
    """

    name = "random"

    def scores(self, trajectories, context):
        def unit(tid: str) -> float:
            digest = hashlib.sha256(f"{context.seed}:{tid}".encode()).digest()
            return int.from_bytes(digest[:8], "big") / 2**64

        return [unit(t.id) for t in trajectories]


@hookimpl
def prism_gym_routers():
    return [
        RouterSpec("all-sft", lambda: ConstantRouter("all-sft", "sft"),
                   "Every trajectory to SFT (the SFT-only baseline)."),
        RouterSpec("all-rl", lambda: ConstantRouter("all-rl", "rl"),
                   "Every task to RL (the RL-only baseline)."),
        RouterSpec(RandomRouter.name, RandomRouter, "Seeded random split, 50:50 by default.",
                   options={"rl_fraction": None}),
    ]
