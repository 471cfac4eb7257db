"""Scale-invariant concentration statistics of a gradient-norm vector.

PRISM scores a trajectory by how unevenly its gradient is spread over the
model's matrices: ``g`` holds one Frobenius norm per matrix, and the score is
one of the statistics below (exactly as in the paper, see docs/routers.md).
Each is unchanged when ``g`` is multiplied by a positive constant, so the score
measures *where* the gradient goes, not how large it is.
"""
from __future__ import annotations

from typing import Callable

import numpy as np


def _as_vector(g) -> np.ndarray:
    g = np.asarray(g, dtype=np.float64)
    if g.ndim != 1 or g.size == 0:
        raise ValueError(f"expected a non-empty vector of gradient norms, got shape {g.shape}")
    if not np.all(np.isfinite(g)) or np.any(g < 0):
        raise ValueError("gradient norms must be finite and non-negative")
    return g


def gini(g) -> float:
    """Gini coefficient: ``G = 2 sum_i i g_(i) / (N sum_i g_i) - (N + 1) / N``
    with ``g`` sorted ascending and ranks ``i = 1..N`` (equal to
    ``sum_ij |g_i - g_j| / (2 N^2 mean(g))``). 0 = perfectly even,
    ``(N - 1) / N`` = everything in one matrix. An all-zero vector scores 0."""
    g = np.sort(_as_vector(g))
    n, total = g.size, g.sum()
    if total == 0:
        return 0.0
    ranks = np.arange(1, n + 1, dtype=np.float64)
    return float(2.0 * np.sum(ranks * g) / (n * total) - (n + 1.0) / n)


def cv(g) -> float:
    """Coefficient of variation: population standard deviation over mean.
    An all-zero vector scores 0."""
    g = _as_vector(g)
    mean = g.mean()
    return 0.0 if mean == 0 else float(g.std() / mean)


def kurtosis(g) -> float:
    """Pearson kurtosis ``m4 / sigma^4`` (central moments, population form;
    3 for a normal distribution). A constant vector, whose kurtosis is
    undefined (0 / 0), scores 0."""
    g = _as_vector(g)
    centred = g - g.mean()
    var = np.mean(centred ** 2)
    return 0.0 if var == 0 else float(np.mean(centred ** 4) / var ** 2)


METRICS: dict[str, Callable[[np.ndarray], float]] = {"gini": gini, "cv": cv, "kurtosis": kurtosis}


def metric(name: str) -> Callable[[np.ndarray], float]:
    """The statistic called ``name`` (``gini``, ``cv`` or ``kurtosis``)."""
    try:
        return METRICS[name]
    except KeyError:
        raise ValueError(f"unknown concentration metric {name!r}; choose one of {', '.join(METRICS)}") from None
