"""The probe settings every gradient-based router accepts, in one place so that
routers which read the same probe pass it the same settings (and share its
cache)."""
from __future__ import annotations

from typing import Sequence

from prism_gym.records import Trajectory
from prism_gym.routing import RoutingContext

PROBE_DEFAULTS = {"normalize": False, "max_length": None, "batch_size": 16}


class ProbeSettings:
    """Mixin: stores the probe options and runs the shared probe with them."""

    normalize: bool
    max_length: int | None
    batch_size: int

    def _set_probe_options(self, normalize: bool = False, max_length: int | None = None, batch_size: int = 16):
        self.normalize = bool(normalize)
        self.max_length = None if max_length is None else int(max_length)
        self.batch_size = int(batch_size)

    def probe(self, trajectories: Sequence[Trajectory], context: RoutingContext):
        """The :class:`prism_gym.probe.ProbeResult` of ``trajectories``."""
        return context.gradient_norms(trajectories, normalize=self.normalize, max_length=self.max_length,
                                      batch_size=self.batch_size, progress=bool(context.options.get("progress", True)))
