"""Gradient magnitude: the paper's ablation that routes on *how large* the
base model's gradient is rather than where it goes.

Score = total L2 norm of the trajectory's gradient over every probed matrix
(from the shared probe); the largest half (by default) goes to RL.
"""
from __future__ import annotations

from prism_gym import hookimpl
from prism_gym.routing import ScoreRouter
from prism_gym.specs import RouterSpec

from prism_gym.routers._probe_options import PROBE_DEFAULTS, ProbeSettings


class MagnitudeRouter(ProbeSettings, ScoreRouter):
    """Score = total gradient L2 norm; high -> RL."""

    name = "magnitude"

    def __init__(self, rl_fraction: float | None = None, normalize: bool = False, max_length: int | None = None,
                 batch_size: int = 16, **options):
        super().__init__(rl_fraction=rl_fraction, **options)
        self._set_probe_options(normalize, max_length, batch_size)

    def scores(self, trajectories, context):
        return [float(m) for m in self.probe(trajectories, context).magnitude]


@hookimpl
def prism_gym_routers():
    return [RouterSpec(MagnitudeRouter.name, MagnitudeRouter,
                       "Ablation: total gradient L2 norm on the base model; large -> RL.",
                       options={"rl_fraction": None, **PROBE_DEFAULTS})]
