"""PRISM and its inverse: route by how concentrated a trajectory's gradient is.

On the frozen base model, each trajectory's gradient is measured per weight
matrix (the shared probe, :mod:`prism_gym.probe`). A gradient that a few
matrices dominate (high concentration) signals a conflict with what the model
knows, and the trajectory goes to RL; a diffuse gradient goes to SFT. With the
default ``rl_fraction=None`` the split is at the median, ties to SFT.

``inverse-prism`` is the paper's ablation: the same score with the opposite
sign, so high concentration goes to SFT.
"""
from __future__ import annotations

from prism_gym import hookimpl
from prism_gym.routing import ScoreRouter
from prism_gym.specs import RouterSpec

from prism_gym.routers._probe_options import PROBE_DEFAULTS, ProbeSettings
from prism_gym.routers.concentration import METRICS
from prism_gym.routers.concentration import metric as concentration_metric


class PrismRouter(ProbeSettings, ScoreRouter):
    """Score = concentration (``metric``: gini, cv or kurtosis) of the
    per-matrix gradient norms; high -> RL."""

    name = "prism"
    sign = 1.0

    def __init__(self, metric: str = "gini", rl_fraction: float | None = None, normalize: bool = False,
                 max_length: int | None = None, batch_size: int = 16, **options):
        super().__init__(rl_fraction=rl_fraction, **options)
        self._statistic = concentration_metric(metric)
        self.metric = metric
        self._set_probe_options(normalize, max_length, batch_size)

    def scores(self, trajectories, context):
        result = self.probe(trajectories, context)
        return [self.sign * self._statistic(row) for row in result.norms]


class InversePrismRouter(PrismRouter):
    """The ablation: score = minus the concentration, so high concentration -> SFT."""

    name = "inverse-prism"
    sign = -1.0


_OPTIONS = {"metric": "gini", "rl_fraction": None, **PROBE_DEFAULTS}


@hookimpl
def prism_gym_routers():
    return [
        RouterSpec(PrismRouter.name, PrismRouter,
                   f"PRISM: gradient concentration ({'|'.join(METRICS)}) on the base model; concentrated -> RL.",
                   options=dict(_OPTIONS)),
        RouterSpec(InversePrismRouter.name, InversePrismRouter,
                   "Ablation: PRISM reversed; concentrated -> SFT.", options=dict(_OPTIONS)),
    ]
