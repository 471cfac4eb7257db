"""Loss: route by how badly the base model predicts the expert's actions.

Score = the base model's mean next-token loss on the trajectory's assistant
tokens (the same number the gradient probe computes, so it shares the probe's
cache). ``direction="high-to-rl"`` (the default) sends the least familiar
trajectories to RL; ``"low-to-rl"`` the most familiar ones.
"""
from __future__ import annotations

from prism_gym import hookimpl
from prism_gym.routing import ScoreRouter
from prism_gym.specs import RouterSpec

from prism_gym.routers._probe_options import ProbeSettings

DIRECTIONS = ("high-to-rl", "low-to-rl")


class LossRouter(ProbeSettings, ScoreRouter):
    """Score = base-model loss (negated for ``low-to-rl``); high score -> RL."""

    name = "loss"

    def __init__(self, direction: str = "high-to-rl", rl_fraction: float | None = None,
                 max_length: int | None = None, batch_size: int = 16, **options):
        super().__init__(rl_fraction=rl_fraction, **options)
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}, not {direction!r}")
        self.direction = direction
        # The loss does not depend on normalisation; fixed so the probe cache is shared.
        self._set_probe_options(False, max_length, batch_size)

    def settings(self):
        return {"direction": self.direction, "rl_fraction": self.rl_fraction, "max_length": self.max_length}

    def scores(self, trajectories, context):
        sign = 1.0 if self.direction == "high-to-rl" else -1.0
        return [sign * float(loss) for loss in self.probe(trajectories, context).losses]


@hookimpl
def prism_gym_routers():
    options = {"direction": "high-to-rl", "rl_fraction": None, "max_length": None, "batch_size": 16}
    return [RouterSpec(LossRouter.name, LossRouter, "Base-model loss on the expert's actions; high -> RL.",
                       options=options)]
