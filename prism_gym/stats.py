"""The statistics behind every comparison prism-gym prints (docs/statistics.md).

Every number here comes with a 95% interval, and every method is named in the
``method`` field of what it returns, so a table can say how an interval was made:

* one run's success rate: the Wilson score interval over its episodes;
* several seeds of one method: mean and t interval over the per-seed values
  (one seed, or seeds that all agree: the episode-level interval over their
  pooled episodes, which ignores seed noise);
* a method against a baseline, from per-episode outcomes on shared seeds and
  shared tasks: the mean paired difference with a percentile bootstrap interval
  that resamples seeds, then tasks (one seed: tasks only), and the bootstrap's
  own p-value; on one seed, success takes Newcombe's paired score interval and
  McNemar's exact test, a score an exact or Monte Carlo sign-flip permutation
  test. Scores that all sit at the range's ends (ALFWorld's 100 x won) are
  compared as won/lost and scaled back;
* without per-episode outcomes (older results): Newcombe's hybrid score
  interval for two independent proportions, with a two-proportion z test;
* cost: the geometric mean of per-seed FLOP ratios with a t interval on logs;
* power: seeds and episodes needed to detect a difference of ``d`` at 80%
  power, from the between-seed and within-seed variances observed.

Only numpy and the standard library are imported at module level; scipy is
imported inside the one function that needs Student's t quantile.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Sequence

import numpy as np

CONFIDENCE = 0.95
POWER = 0.80
BOOTSTRAP_RESAMPLES = 10_000
# Sign-flip tests enumerate every sign pattern up to this many non-zero
# differences (65 536 patterns); above it they sample patterns.
EXACT_PERMUTATION_MAX = 16
DEFAULT_RNG_SEED = 0


class StatsError(ValueError):
    """The data cannot support the requested statistic; the message says why."""


@dataclass(frozen=True)
class Estimate:
    """A value with its interval (``low``/``high`` None when there is none)."""

    value: float
    low: float | None
    high: float | None
    method: str
    n: int

    def to_dict(self) -> dict:
        return {"value": self.value, "low": self.low, "high": self.high, "method": self.method, "n": self.n}

    @property
    def has_interval(self) -> bool:
        return self.low is not None and self.high is not None

    def overlaps(self, other: "Estimate") -> bool:
        """Whether the two intervals share a point (a missing interval is the point value)."""
        lo1, hi1 = (self.low, self.high) if self.has_interval else (self.value, self.value)
        lo2, hi2 = (other.low, other.high) if other.has_interval else (other.value, other.value)
        return lo1 <= hi2 and lo2 <= hi1


@dataclass(frozen=True)
class Comparison:
    """A paired (or, lacking outcomes, unpaired) difference method - baseline."""

    difference: Estimate
    p_value: float
    test: str
    seeds: int
    tasks: int

    def to_dict(self) -> dict:
        return {"difference": self.difference.to_dict(), "p_value": self.p_value, "test": self.test,
                "seeds": self.seeds, "tasks": self.tasks}


def z_quantile(confidence: float = CONFIDENCE) -> float:
    """The two-sided standard normal quantile (1.95996... for 95%)."""
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def t_quantile(df: int, confidence: float = CONFIDENCE) -> float:
    """The two-sided Student's t quantile with ``df`` degrees of freedom."""
    from scipy.stats import t

    return float(t.ppf(0.5 + confidence / 2, df))


# -- one proportion, one mean --------------------------------------------------------------
def wilson(successes: int, n: int, confidence: float = CONFIDENCE) -> Estimate:
    """Wilson score interval of ``successes`` out of ``n``:
    (p + z^2/2n +- z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)."""
    if n < 1:
        raise StatsError(f"a success rate needs at least one episode, got n={n}")
    if not 0 <= successes <= n:
        raise StatsError(f"successes must lie in [0, {n}], got {successes}")
    z = z_quantile(confidence)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # at 0 or n wins one bound is exactly 0 or 1; rounding would leave it just inside
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return Estimate(p, low, high, "wilson", n)


def wins_of(rate: float, n: int) -> int:
    """The whole number of wins behind a recorded success rate over ``n`` episodes."""
    wins = round(rate * n)
    if abs(wins - rate * n) > 1e-6 * max(1, n):
        raise StatsError(f"success rate {rate} is not a whole number of wins out of {n} episodes")
    return int(wins)


def t_interval(values: Sequence[float], confidence: float = CONFIDENCE, what: str = "values") -> Estimate:
    """Mean of ``values`` with the t interval mean +- t_{n-1} s / sqrt(n);
    a single value has no interval."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        raise StatsError(f"no {what} to average")
    mean = float(x.mean())
    if x.size == 1:
        return Estimate(mean, None, None, f"single {what.rstrip('s')} (no interval)", 1)
    half = t_quantile(x.size - 1, confidence) * float(x.std(ddof=1)) / math.sqrt(x.size)
    return Estimate(mean, mean - half, mean + half, f"t over {what}", int(x.size))


def clipped(est: Estimate, low: float = 0.0, high: float = 1.0) -> Estimate:
    """``est`` with its interval cut to the range the quantity can take (a t
    interval over few seeds of a rate can reach past 0 or 1)."""
    if not est.has_interval:
        return est
    return Estimate(est.value, max(low, est.low), min(high, est.high), est.method, est.n)


def seed_mean(per_seed: Sequence[float], *, episodes: Sequence[float] | None = None,
              rate_episodes: int | Sequence[int] | None = None, bounds: tuple[float, float] | None = None,
              confidence: float = CONFIDENCE) -> Estimate:
    """A method's value over its seeds.

    * Seeds that differ: the t interval over the seeds.
    * One seed, or seeds that all agree (a t interval over them would have
      zero width, though every seed carries episode noise): the episode-level
      interval over all their episodes. For a rate with ``rate_episodes``
      episodes per seed (one count, or one per seed), Wilson over the pooled
      wins; for a mean, the t interval over the pooled ``episodes`` outcomes,
      or, when those outcomes sit all at one end of ``bounds`` (every WebShop
      score 0), :func:`at_bound`.
    * Otherwise no interval.
    """
    if not per_seed:
        raise StatsError("no seeds to average")
    if len(per_seed) >= 2 and max(per_seed) > min(per_seed):
        return t_interval(per_seed, confidence, "seeds")
    mean = float(np.mean(per_seed))
    pooled = " (pooled: the seeds agree)" if len(per_seed) >= 2 else ""
    if rate_episodes:
        counts = [rate_episodes] * len(per_seed) if isinstance(rate_episodes, int) else list(rate_episodes)
        if len(counts) != len(per_seed):
            raise StatsError(f"{len(counts)} episode counts for {len(per_seed)} seeds")
        wins, n = sum(wins_of(r, c) for r, c in zip(per_seed, counts)), sum(counts)
        est = wilson(wins, n, confidence)
        return Estimate(mean, est.low, est.high, est.method + pooled, est.n)
    if episodes is not None and len(episodes) >= 1:
        x = np.asarray(episodes, dtype=float)
        if bounds is not None and x.min() == x.max() and x[0] in bounds:
            est = at_bound(float(x[0]), x.size, bounds, confidence)
        elif x.size >= 2:
            est = t_interval(x, confidence, "episodes")
        else:
            est = None
        if est is not None:
            return Estimate(mean, est.low, est.high, est.method + pooled, est.n)
    if len(per_seed) >= 2:
        return t_interval(per_seed, confidence, "seeds")
    return Estimate(mean, None, None, "single seed (no interval)", 1)


def at_bound(value: float, n: int, bounds: tuple[float, float], confidence: float = CONFIDENCE) -> Estimate:
    """Interval for the mean of ``n`` outcomes in ``[low, high]`` that all
    equal one bound (a t interval would have zero width).

    If all ``n`` outcomes equal ``low``, the share ``q`` of episodes that can
    score above ``low`` has the Wilson interval of 0 successes in ``n``, and
    the mean is at most ``low + q (high - low)``; the same mirrored at
    ``high``."""
    low, high = bounds
    share = wilson(0, n, confidence).high
    if value == low:
        return Estimate(value, low, low + share * (high - low), "wilson at the range's bound", n)
    if value == high:
        return Estimate(value, high - share * (high - low), high, "wilson at the range's bound", n)
    raise StatsError(f"{value} is not a bound of {bounds}")


# -- paired tests on one seed ------------------------------------------------------------------
def mcnemar_exact(method_won: Sequence[int], baseline_won: Sequence[int]) -> float:
    """McNemar's exact two-sided p-value: with b tasks won only by the method and
    c only by the baseline, 2 P(X <= min(b, c)) for X ~ Binomial(b + c, 1/2), capped at 1."""
    a, b_ = np.asarray(method_won, dtype=int), np.asarray(baseline_won, dtype=int)
    if a.shape != b_.shape:
        raise StatsError("McNemar's test needs one outcome per shared task for both methods")
    b = int(np.sum((a == 1) & (b_ == 0)))
    c = int(np.sum((a == 0) & (b_ == 1)))
    n = b + c
    if n == 0:
        return 1.0
    k = min(b, c)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def newcombe_paired(method_won: Sequence[int], baseline_won: Sequence[int],
                    confidence: float = CONFIDENCE) -> Estimate:
    """Newcombe's hybrid score interval for the difference of two paired
    proportions (Newcombe 1998, "... based on paired data", method 10).

    With a tasks won by both, b by the method only, c by the baseline only and
    d by neither: p1 = (a+b)/n, p2 = (a+c)/n, Wilson intervals [l1, u1] and
    [l2, u2], and phi the correlation of the two outcomes (a d - b c, moved
    n/2 towards 0 when positive, over sqrt((a+b)(c+d)(a+c)(b+d)); 0 when a
    margin is empty). Then
    D - sqrt((p1-l1)^2 - 2 phi (p1-l1)(u2-p2) + (u2-p2)^2) to
    D + sqrt((u1-p1)^2 - 2 phi (u1-p1)(p2-l2) + (p2-l2)^2).
    Unlike a bootstrap over tasks it stays honest with few or no discordant
    tasks: two methods that both lose all 256 episodes differ by 0 +- 1.5
    points, not by exactly 0."""
    x, y = np.asarray(method_won, dtype=int), np.asarray(baseline_won, dtype=int)
    if x.shape != y.shape or x.ndim != 1 or x.size == 0:
        raise StatsError("a paired interval needs one outcome per shared task for both methods")
    n = int(x.size)
    a = int(np.sum((x == 1) & (y == 1)))
    b = int(np.sum((x == 1) & (y == 0)))
    c = int(np.sum((x == 0) & (y == 1)))
    d = n - a - b - c
    p1, p2 = (a + b) / n, (a + c) / n
    first, second = wilson(a + b, n, confidence), wilson(a + c, n, confidence)
    l1, u1, l2, u2 = first.low, first.high, second.low, second.high
    margins = (a + b) * (c + d) * (a + c) * (b + d)
    phi = 0.0
    if margins > 0:
        cross = a * d - b * c
        phi = (cross - n / 2 if cross > n / 2 else min(cross, 0)) / math.sqrt(margins)
    diff = p1 - p2
    low = diff - math.sqrt(max(0.0, (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2))
    high = diff + math.sqrt(max(0.0, (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2))
    return Estimate(diff, max(-1.0, low), min(1.0, high), "Newcombe paired score (method 10)", n)


def sign_flip_p(differences: Sequence[float], *, resamples: int = BOOTSTRAP_RESAMPLES,
                rng: np.random.Generator | None = None) -> float:
    """Two-sided paired permutation test of mean difference 0: under the null
    each difference's sign is a fair coin. Exact (every sign pattern) up to
    :data:`EXACT_PERMUTATION_MAX` non-zero differences, else Monte Carlo with
    the (count + 1) / (resamples + 1) correction."""
    d = np.asarray(differences, dtype=float)
    d = d[d != 0]
    if d.size == 0:
        return 1.0
    observed = abs(d.sum())
    tol = 1e-12 * max(1.0, observed)
    if d.size <= EXACT_PERMUTATION_MAX:
        patterns = ((np.arange(2 ** d.size)[:, None] >> np.arange(d.size)) & 1) * 2 - 1
        sums = np.abs(patterns @ d)
        return float(np.mean(sums >= observed - tol))
    rng = rng or np.random.default_rng(DEFAULT_RNG_SEED)
    hits = 0
    for start in range(0, resamples, 2000):
        signs = rng.choice((-1.0, 1.0), size=(min(2000, resamples - start), d.size))
        hits += int(np.sum(np.abs(signs @ d) >= observed - tol))
    return (hits + 1) / (resamples + 1)


# -- the paired bootstrap --------------------------------------------------------------------------
def bootstrap_means(differences: np.ndarray, *, resamples: int = BOOTSTRAP_RESAMPLES,
                    rng: np.random.Generator | None = None) -> np.ndarray:
    """Bootstrap distribution of the mean of a seeds x tasks matrix of paired
    differences: each replicate draws seeds with replacement, then tasks with
    replacement (the same tasks for every drawn seed, since tasks are shared),
    and averages the drawn cells."""
    d = np.asarray(differences, dtype=float)
    if d.ndim != 2 or d.size == 0:
        raise StatsError("paired differences must be a non-empty seeds x tasks matrix")
    rng = rng or np.random.default_rng(DEFAULT_RNG_SEED)
    n_seeds, n_tasks = d.shape
    out = np.empty(resamples)
    chunk = max(1, 2_000_000 // (n_seeds * n_tasks))
    for start in range(0, resamples, chunk):
        size = min(chunk, resamples - start)
        seeds = rng.integers(0, n_seeds, size=(size, n_seeds)) if n_seeds > 1 else np.zeros((size, 1), dtype=int)
        tasks = rng.integers(0, n_tasks, size=(size, n_tasks))
        cells = d[seeds[:, :, None], tasks[:, None, :]]
        out[start:start + size] = cells.mean(axis=(1, 2))
    return out


def percentile_interval(replicates: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float]:
    alpha = 1 - confidence
    low, high = np.quantile(replicates, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def bootstrap_p(replicates: np.ndarray) -> float:
    """Two-sided p-value of 'mean difference 0' by inverting the percentile
    interval: twice the smaller share of replicates on either side of 0."""
    b = replicates.size
    below = (np.sum(replicates <= 0) + 1) / (b + 1)
    above = (np.sum(replicates >= 0) + 1) / (b + 1)
    return float(min(1.0, 2 * min(below, above)))


def paired_difference(method: np.ndarray, baseline: np.ndarray, *, binary: bool,
                      bounds: tuple[float, float] | None = None, confidence: float = CONFIDENCE,
                      resamples: int = BOOTSTRAP_RESAMPLES, rng_seed: int = DEFAULT_RNG_SEED) -> Comparison:
    """Method minus baseline on seeds x tasks matrices of per-episode outcomes
    (row i of both is the same seed, column j the same task). ``binary`` says
    the outcome is won/lost (McNemar applies on one seed). ``bounds``: the
    range of a non-binary outcome. When every outcome of both sits at a bound
    (ALFWorld's score is 100 x won; every WebShop score 0), the scores are
    won/lost outcomes in disguise: they are compared as won/lost ("scored
    above the lower bound") and the result scaled to the range, so the score
    difference has the success difference's interval and test rather than a
    bootstrap over a handful of differing tasks."""
    a, b = np.asarray(method, dtype=float), np.asarray(baseline, dtype=float)
    if a.shape != b.shape or a.ndim != 2 or a.size == 0:
        raise StatsError(f"paired outcomes must be seeds x tasks matrices of one shape, got {a.shape} and {b.shape}")
    if not binary and bounds is not None and np.isin(a, bounds).all() and np.isin(b, bounds).all():
        lo, hi = bounds
        won_lost = paired_difference((a != lo).astype(float), (b != lo).astype(float), binary=True,
                                     confidence=confidence, resamples=resamples, rng_seed=rng_seed)
        scale = hi - lo
        est = won_lost.difference
        method_name = f"{est.method}, scaled to the range {lo:g}-{hi:g} (every score at a bound)"
        return Comparison(Estimate(float((a - b).mean()), est.low * scale, est.high * scale, method_name, est.n),
                          won_lost.p_value, won_lost.test, won_lost.seeds, won_lost.tasks)
    d = a - b
    n_seeds, n_tasks = d.shape
    if n_seeds == 1 and binary:
        # Won/lost on one seed: the paired score interval, which a bootstrap over a handful
        # of discordant tasks (or none) would make far too narrow.
        paired = newcombe_paired(a[0], b[0], confidence)
        low, high, method_name = paired.low, paired.high, paired.method
        p, test = mcnemar_exact(a[0], b[0]), "McNemar exact"
        return Comparison(Estimate(float(d.mean()), low, high, method_name, d.size), p, test, n_seeds, n_tasks)
    rng = np.random.default_rng(rng_seed)
    replicates = bootstrap_means(d, resamples=resamples, rng=rng)
    low, high = percentile_interval(replicates, confidence)
    method_name = "paired bootstrap over tasks" if n_seeds == 1 else "paired bootstrap over seeds and tasks"
    if n_seeds == 1:
        exact = np.count_nonzero(d) <= EXACT_PERMUTATION_MAX
        p, test = sign_flip_p(d[0], resamples=resamples, rng=rng), \
            "sign-flip permutation" + (" (exact)" if exact else " (Monte Carlo)")
    else:
        p, test = bootstrap_p(replicates), "seed-and-task bootstrap"
        if binary and not np.any(d):
            # No pair differs anywhere: the bootstrap has nothing to resample and would say
            # "exactly 0". The pooled pairs' score interval says how small a difference that rules out.
            paired = newcombe_paired(a.ravel(), b.ravel(), confidence)
            low, high = paired.low, paired.high
            method_name = paired.method + " over all seed-task pairs (none differ)"
    return Comparison(Estimate(float(d.mean()), low, high, method_name, d.size), p, test, n_seeds, n_tasks)


# -- without per-episode outcomes ------------------------------------------------------------------
def newcombe(k1: int, n1: int, k2: int, n2: int, confidence: float = CONFIDENCE) -> Estimate:
    """Newcombe's hybrid score interval for p1 - p2 of two independent
    proportions, built from the two Wilson intervals (Newcombe 1998, method 10)."""
    w1, w2 = wilson(k1, n1, confidence), wilson(k2, n2, confidence)
    p1, p2 = w1.value, w2.value
    d = p1 - p2
    low = d - math.sqrt((p1 - w1.low) ** 2 + (w2.high - p2) ** 2)
    high = d + math.sqrt((w1.high - p1) ** 2 + (p2 - w2.low) ** 2)
    return Estimate(d, low, high, "Newcombe hybrid score (unpaired)", n1 + n2)


def two_proportion_p(k1: int, n1: int, k2: int, n2: int) -> float:
    """Two-sided pooled z test of p1 = p2."""
    pooled = (k1 + k2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0
    z = abs(k1 / n1 - k2 / n2) / se
    return 2 * (1 - NormalDist().cdf(z))


def welch(method: Sequence[float], baseline: Sequence[float], confidence: float = CONFIDENCE) -> Comparison:
    """Difference of seed means of two independent groups: Welch's t interval and test."""
    from scipy.stats import t

    a, b = np.asarray(method, dtype=float), np.asarray(baseline, dtype=float)
    if a.size < 2 or b.size < 2:
        raise StatsError("Welch's test needs at least two seeds per method")
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    d = float(a.mean() - b.mean())
    se = math.sqrt(va + vb)
    if se == 0:
        return Comparison(Estimate(d, d, d, "Welch t over seeds (unpaired)", a.size + b.size),
                          1.0 if d == 0 else 0.0, "Welch t", min(a.size, b.size), 0)
    df = (va + vb) ** 2 / (va ** 2 / (a.size - 1) + vb ** 2 / (b.size - 1))
    half = float(t.ppf(0.5 + confidence / 2, df)) * se
    p = float(2 * t.sf(abs(d) / se, df))
    return Comparison(Estimate(d, d - half, d + half, "Welch t over seeds (unpaired)", a.size + b.size), p,
                      "Welch t", min(a.size, b.size), 0)


# -- cost -------------------------------------------------------------------------------------------------
def cost_ratio(method_cost: Sequence[float], baseline_cost: Sequence[float],
               confidence: float = CONFIDENCE) -> dict:
    """Per-seed cost ratios method / baseline (seeds paired by position):
    their geometric mean, a t interval on the log ratios (two or more seeds),
    and the smallest and largest ratio."""
    a, b = np.asarray(method_cost, dtype=float), np.asarray(baseline_cost, dtype=float)
    if a.shape != b.shape or a.size == 0:
        raise StatsError("cost ratios need one cost per shared seed for both methods")
    if np.any(a <= 0) or np.any(b <= 0):
        raise StatsError("cost ratios need positive costs")
    logs = np.log(a / b)
    est = t_interval(logs, confidence, "seeds")
    return {"ratio": math.exp(est.value),
            "low": None if est.low is None else math.exp(est.low),
            "high": None if est.high is None else math.exp(est.high),
            "min": float(np.exp(logs.min())), "max": float(np.exp(logs.max())), "seeds": int(a.size),
            "method": "geometric mean" + (", t interval on log ratios" if est.has_interval else " (one seed)")}


# -- power --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class VarianceComponents:
    """Variance of a paired per-episode difference within a seed, and of the
    per-seed mean difference between seeds beyond what episode noise explains."""

    within: float
    between: float
    between_known: bool  # False with one seed: ``between`` is then 0, a lower bound

    def standard_error(self, seeds: int, episodes: int) -> float:
        return math.sqrt(self.between / seeds + self.within / (seeds * episodes))


def variance_components(differences: np.ndarray) -> VarianceComponents:
    """Method-of-moments split of a seeds x tasks matrix of paired differences:
    within = mean over seeds of the task variance; between = variance of seed
    means minus within / tasks (floored at 0)."""
    d = np.asarray(differences, dtype=float)
    if d.ndim != 2 or d.shape[1] < 2:
        raise StatsError("variance components need a seeds x tasks matrix with at least two tasks")
    within = float(d.var(axis=1, ddof=1).mean())
    if d.shape[0] < 2:
        return VarianceComponents(within, 0.0, False)
    between = max(0.0, float(d.mean(axis=1).var(ddof=1)) - within / d.shape[1])
    return VarianceComponents(within, between, True)


def seeds_needed(components: VarianceComponents, difference: float, episodes: int, *,
                 confidence: float = CONFIDENCE, power: float = POWER) -> int:
    """The fewest seeds at ``episodes`` per seed for which a two-sided test at
    1 - ``confidence`` detects a true difference ``difference`` with ``power``
    (normal approximation): S >= (z_a + z_b)^2 (between + within / E) / d^2."""
    if difference <= 0:
        raise StatsError(f"the difference to detect must be positive, got {difference}")
    factor = (z_quantile(confidence) + NormalDist().inv_cdf(power)) ** 2
    need = factor * (components.between + components.within / episodes) / difference ** 2
    return max(1, math.ceil(need - 1e-9))


def detectable_difference(components: VarianceComponents, seeds: int, episodes: int, *,
                          confidence: float = CONFIDENCE, power: float = POWER) -> float:
    """The smallest true difference detected with ``power`` at this design."""
    factor = z_quantile(confidence) + NormalDist().inv_cdf(power)
    return factor * components.standard_error(seeds, episodes)


def power_table(components: VarianceComponents, difference: float,
                episodes_grid: Sequence[int] = (16, 32, 64, 128, 256),
                seeds_grid: Sequence[int] = (1, 3, 5, 10)) -> list[dict]:
    """For each episode count: seeds needed for ``difference``, and the
    detectable difference at each seed count of ``seeds_grid``."""
    return [{"episodes": e, "seeds_needed": seeds_needed(components, difference, e),
             "detectable": {s: detectable_difference(components, s, e) for s in seeds_grid}}
            for e in episodes_grid]


# -- separating two groups by a score ------------------------------------------------
def auroc(positives: Sequence[float], negatives: Sequence[float]) -> float:
    """The probability that a random positive scores above a random negative,
    ties counting one half (the area under the ROC curve, which is the
    Mann-Whitney U statistic divided by the number of pairs)."""
    pos, neg = np.asarray(positives, dtype=float), np.asarray(negatives, dtype=float)
    if pos.size == 0 or neg.size == 0:
        raise StatsError("AUROC needs at least one score in each group")
    # For each positive: the negatives below it, plus half of those equal to it.
    ordered = np.sort(neg)
    below = np.searchsorted(ordered, pos, side="left")
    not_above = np.searchsorted(ordered, pos, side="right")
    return float((below + (not_above - below) / 2).sum() / (pos.size * neg.size))


def auroc_interval(positives: Sequence[float], negatives: Sequence[float], confidence: float = CONFIDENCE, *,
                   resamples: int = BOOTSTRAP_RESAMPLES, rng: np.random.Generator | None = None) -> Estimate:
    """AUROC with a stratified percentile-bootstrap interval: each replicate
    draws the positives and the negatives with replacement, each group
    keeping its size (the groups are fixed by design, e.g. the known and the
    unknown task types of a knowledge profile)."""
    pos, neg = np.asarray(positives, dtype=float), np.asarray(negatives, dtype=float)
    value = auroc(pos, neg)
    rng = rng or np.random.default_rng(DEFAULT_RNG_SEED)
    replicates = np.empty(resamples)
    for b in range(resamples):
        replicates[b] = auroc(pos[rng.integers(0, pos.size, pos.size)], neg[rng.integers(0, neg.size, neg.size)])
    low, high = percentile_interval(replicates, confidence)
    return Estimate(value, low, high, "stratified bootstrap", int(pos.size + neg.size))
