"""AUROC and its stratified bootstrap interval, against a hand-worked example
and scipy (Mann-Whitney U; scipy.stats.bootstrap over two independent samples)."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from prism_gym.stats import StatsError, auroc, auroc_interval


def test_auroc_hand_worked_with_a_tie():
    # Pairs (positive, negative): 3>1, 3>2, 2>1 count 1 each, 2=2 counts 1/2: 3.5 / 4.
    assert auroc([3, 2], [1, 2]) == pytest.approx(0.875)
    assert auroc([1], [2]) == 0.0 and auroc([2], [1]) == 1.0 and auroc([5, 5], [5]) == 0.5


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_auroc_is_mann_whitney_u_over_the_pairs(seed):
    rng = np.random.default_rng(seed)
    pos = np.round(rng.normal(0.5, 1, 37), 1)  # rounded: many ties
    neg = np.round(rng.normal(0.0, 1, 53), 1)
    u = sps.mannwhitneyu(pos, neg, alternative="two-sided").statistic
    assert auroc(pos, neg) == pytest.approx(u / (pos.size * neg.size), abs=1e-12)


def test_the_bootstrap_interval_agrees_with_scipys():
    rng = np.random.default_rng(7)
    pos, neg = rng.normal(0.8, 1, 60), rng.normal(0, 1, 45)
    ours = auroc_interval(pos, neg, resamples=10_000)
    theirs = sps.bootstrap((pos, neg), lambda p, n: auroc(p, n), vectorized=False, paired=False,
                           n_resamples=10_000, method="percentile", random_state=3).confidence_interval
    assert ours.value == pytest.approx(auroc(pos, neg))
    assert ours.low == pytest.approx(theirs.low, abs=0.015) and ours.high == pytest.approx(theirs.high, abs=0.015)
    assert ours.low < ours.value < ours.high


def test_an_empty_group_is_a_clear_error():
    with pytest.raises(StatsError, match="each group"):
        auroc([], [1.0])
