"""prism_gym.stats against independent references: scipy, textbook examples
worked by hand, and constructed cases whose answer is known in closed form."""
import math

import numpy as np
import pytest
from scipy import stats as sps

from prism_gym import stats


# -- Wilson ------------------------------------------------------------------------------------------
def test_wilson_hand_worked():
    # 8 wins out of 10, z = 1.959964: centre = (0.8 + z^2/20) / (1 + z^2/10) = 0.99207 / 1.38415 = 0.71674,
    # half = z sqrt(0.016 + z^2/400) / 1.38415 = 1.959964 * 0.15915 / 1.38415 = 0.22536
    est = stats.wilson(8, 10)
    assert est.value == 0.8
    assert est.low == pytest.approx(0.4902, abs=1e-4)
    assert est.high == pytest.approx(0.9433, abs=1e-4)


@pytest.mark.parametrize("k,n", [(0, 16), (3, 16), (16, 16), (61, 128), (1, 1), (500, 1000)])
def test_wilson_matches_scipy(k, n):
    ref = sps.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    est = stats.wilson(k, n)
    assert est.low == pytest.approx(ref.low, abs=1e-9)
    assert est.high == pytest.approx(ref.high, abs=1e-9)


def test_wilson_rejects_bad_counts():
    with pytest.raises(stats.StatsError, match="at least one episode"):
        stats.wilson(0, 0)
    with pytest.raises(stats.StatsError, match="successes"):
        stats.wilson(5, 4)


def test_wins_of_refuses_rates_that_are_not_whole_wins():
    assert stats.wins_of(0.375, 16) == 6
    with pytest.raises(stats.StatsError, match="whole number"):
        stats.wins_of(0.3, 16)


# -- t interval and seed means -----------------------------------------------------------------------------
def test_t_interval_hand_worked():
    # values 0.2, 0.4, 0.6: mean 0.4, s = 0.2, t_{0.975, 2} = 4.302653 (printed tables): half = 4.302653 * 0.2 / sqrt(3)
    est = stats.t_interval([0.2, 0.4, 0.6], what="seeds")
    assert est.value == pytest.approx(0.4)
    assert est.high - est.value == pytest.approx(4.302653 * 0.2 / math.sqrt(3), abs=1e-6)
    assert est.method == "t over seeds" and est.n == 3


def test_t_interval_matches_scipy():
    x = [0.31, 0.45, 0.38, 0.52, 0.40]
    low, high = sps.t.interval(0.95, len(x) - 1, loc=np.mean(x), scale=sps.sem(x))
    est = stats.t_interval(x)
    assert (est.low, est.high) == pytest.approx((low, high), abs=1e-12)


def test_seed_mean_one_seed_falls_back_to_wilson():
    est = stats.seed_mean([0.5], rate_episodes=32)
    ref = sps.binomtest(16, 32).proportion_ci(method="wilson")
    assert (est.low, est.high) == pytest.approx((ref.low, ref.high))
    assert est.method == "wilson"
    assert stats.seed_mean([0.5, 0.7]).method == "t over seeds"
    assert stats.seed_mean([42.0]).low is None


def test_seeds_that_agree_get_the_pooled_episode_interval_not_a_zero_width_one():
    # three seeds at 0/256 each: a t interval over (0, 0, 0) is [0, 0]; the honest
    # interval is Wilson over the 768 pooled episodes
    est = stats.seed_mean([0.0, 0.0, 0.0], rate_episodes=256)
    ref = sps.binomtest(0, 768).proportion_ci(method="wilson")
    assert (est.value, est.low, est.high) == pytest.approx((0.0, ref.low, ref.high))
    assert est.n == 768 and est.method.startswith("wilson")
    # equal non-zero rates pool their wins: 3 x 5/256 = 15/768
    est = stats.seed_mean([5 / 256] * 3, rate_episodes=[256, 256, 256])
    ref = sps.binomtest(15, 768).proportion_ci(method="wilson")
    assert (est.low, est.high) == pytest.approx((ref.low, ref.high))
    # seeds that differ keep the t interval over seeds
    assert stats.seed_mean([0.0, 1 / 256, 0.0], rate_episodes=256).method == "t over seeds"


def test_scores_all_at_a_bound_get_a_wilson_bound():
    # 128 episodes all scoring 0 in [0, 100]: the share q of episodes that can score
    # above 0 is at most z^2 / (n + z^2) (Wilson's upper bound at 0 successes), and the
    # mean at most 100 q = 100 * 3.841459 / 131.841459 = 2.9137
    z2 = sps.norm.ppf(0.975) ** 2
    est = stats.seed_mean([0.0], episodes=[0.0] * 128, bounds=(0.0, 100.0))
    assert (est.low, est.high) == pytest.approx((0.0, 100 * z2 / (128 + z2)))
    assert est.high == pytest.approx(2.9137, abs=1e-4)
    top = stats.seed_mean([100.0], episodes=[100.0] * 128, bounds=(0.0, 100.0))
    assert (top.low, top.high) == pytest.approx((100 - 100 * z2 / (128 + z2), 100.0))
    # several seeds all at 0 pool their episodes
    pooled = stats.seed_mean([0.0, 0.0], episodes=[0.0] * 256, bounds=(0.0, 100.0))
    assert pooled.high == pytest.approx(100 * z2 / (256 + z2)) and pooled.n == 256
    # spread episodes, or no bounds, keep the t interval over episodes
    assert stats.seed_mean([0.5], episodes=[0.0, 1.0], bounds=(0.0, 100.0)).method == "t over episodes"
    assert stats.seed_mean([0.0], episodes=[0.0] * 4).high == 0.0
    with pytest.raises(stats.StatsError, match="not a bound"):
        stats.at_bound(5.0, 10, (0.0, 100.0))


# -- McNemar ------------------------------------------------------------------------------------------------------
def test_mcnemar_hand_worked():
    # 6 tasks won by the method only, 1 by the baseline only, 3 by both, 2 by neither:
    # n = 7 discordant, P(X <= 1) = (1 + 7) / 128, p = 16 / 128 = 0.125
    method = [1] * 6 + [0] + [1] * 3 + [0] * 2
    base = [0] * 6 + [1] + [1] * 3 + [0] * 2
    assert stats.mcnemar_exact(method, base) == pytest.approx(0.125, abs=1e-12)


@pytest.mark.parametrize("b,c", [(0, 0), (5, 5), (10, 2), (0, 9), (30, 17)])
def test_mcnemar_matches_scipy_binomial(b, c):
    method = [1] * b + [0] * c + [1] * 4
    base = [0] * b + [1] * c + [1] * 4
    ref = 1.0 if b + c == 0 else sps.binomtest(b, b + c, 0.5).pvalue
    assert stats.mcnemar_exact(method, base) == pytest.approx(ref, abs=1e-12)


# -- permutation ---------------------------------------------------------------------------------------------------
def test_sign_flip_hand_worked():
    # five positive differences: only the all-plus and all-minus patterns are as extreme, p = 2 / 32
    assert stats.sign_flip_p([1, 2, 3, 4, 5]) == pytest.approx(2 / 32)


def test_sign_flip_matches_scipy_permutation_test():
    rng = np.random.default_rng(3)
    d = rng.normal(0.3, 1.0, size=12)
    ref = sps.permutation_test((d,), lambda x: np.mean(x), permutation_type="samples", n_resamples=np.inf,
                               alternative="two-sided").pvalue
    assert stats.sign_flip_p(d) == pytest.approx(ref, abs=1e-12)


# -- paired bootstrap -------------------------------------------------------------------------------------------------
def test_paired_bootstrap_constant_difference_is_exact():
    method = np.full((1, 50), 70.0)
    base = np.full((1, 50), 40.0)
    cmp = stats.paired_difference(method, base, binary=False)
    assert (cmp.difference.value, cmp.difference.low, cmp.difference.high) == (30.0, 30.0, 30.0)


def test_paired_bootstrap_over_tasks_matches_binomial_quantiles():
    # 400 shared tasks; the method scores 1 on 100 tasks where the baseline scores 0, they tie on the rest.
    # Each bootstrap replicate's mean difference is Binomial(400, 1/4) / 400, so the percentile interval
    # is the binomial's 2.5% and 97.5% quantiles over 400.
    method = np.zeros((1, 400))
    method[0, :100] = 1
    base = np.zeros((1, 400))
    cmp = stats.paired_difference(method, base, binary=False, resamples=20_000)
    low = sps.binom.ppf(0.025, 400, 0.25) / 400
    high = sps.binom.ppf(0.975, 400, 0.25) / 400
    assert cmp.difference.value == 0.25
    assert cmp.difference.low == pytest.approx(low, abs=0.0051)
    assert cmp.difference.high == pytest.approx(high, abs=0.0051)
    assert cmp.difference.method == "paired bootstrap over tasks"
    # the same outcomes as won/lost: McNemar's exact test
    won = stats.paired_difference(method, base, binary=True)
    assert won.test == "McNemar exact"
    assert won.p_value == pytest.approx(2 * 0.5 ** 100, rel=1e-9)


def test_newcombe_paired_interval_by_hand():
    # Altman et al. (2000), Statistics with Confidence, Table 6.2: 14 pairs won by both, 5 by the first only,
    # 0 by the second only, 22 by neither (n = 41). By hand: D = 5/41 = 0.1220; Wilson 19/41 = [0.3206, 0.6125],
    # 14/41 = [0.2156, 0.4945]; phi = (14*22 - 0 - 41/2) / sqrt(19*22*14*27) = 287.5 / 397.5 = 0.7233;
    # low = 0.1220 - sqrt(0.1428^2 - 2(0.7233)(0.1428)(0.1530) + 0.1530^2) = 0.0115,
    # high = 0.1220 + sqrt(0.1491^2 - 2(0.7233)(0.1491)(0.1259) + 0.1259^2) = 0.2265.
    first = [1] * 14 + [1] * 5 + [0] * 22
    second = [1] * 14 + [0] * 5 + [0] * 22
    est = stats.newcombe_paired(first, second)
    assert est.value == pytest.approx(5 / 41)
    assert (est.low, est.high) == pytest.approx((0.0115, 0.2265), abs=5e-4)


def test_one_seed_success_difference_uses_the_paired_score_interval():
    # Two methods that lose all 256 episodes: 0 +- the Wilson upper bound of 0/256 (scipy), not exactly 0.
    lost = np.zeros((1, 256))
    cmp = stats.paired_difference(lost, lost, binary=True)
    ref = sps.binomtest(0, 256).proportion_ci(method="wilson").high
    assert cmp.difference.value == 0
    assert (cmp.difference.low, cmp.difference.high) == pytest.approx((-ref, ref))
    assert cmp.p_value == 1.0 and cmp.difference.method.startswith("Newcombe paired score")
    # several seeds and still no pair differs: the same interval over the pooled pairs
    pooled = stats.paired_difference(np.zeros((3, 256)), np.zeros((3, 256)), binary=True)
    ref = sps.binomtest(0, 768).proportion_ci(method="wilson").high
    assert (pooled.difference.low, pooled.difference.high) == pytest.approx((-ref, ref))


def test_score_difference_with_every_score_at_a_bound_is_not_exactly_zero():
    # 128 WebShop episodes per method, every score 0: 0 +- 100 x the Wilson upper bound of 0/128
    # (scipy), on the score's 0-100 scale, not the bootstrap's [0, 0]
    zero = np.zeros((1, 128))
    cmp = stats.paired_difference(zero, zero, binary=False, bounds=(0.0, 100.0))
    ref = 100 * sps.binomtest(0, 128).proportion_ci(method="wilson").high
    assert (cmp.difference.low, cmp.difference.high) == pytest.approx((-ref, ref))
    assert cmp.p_value == 1.0
    full = stats.paired_difference(np.full((3, 64), 100.0), np.full((3, 64), 100.0), binary=False,
                                   bounds=(0.0, 100.0))
    ref = 100 * sps.binomtest(0, 192).proportion_ci(method="wilson").high
    assert (full.difference.low, full.difference.high) == pytest.approx((-ref, ref))
    # equal mid-range scores, or no bounds given, keep the bootstrap
    mid = stats.paired_difference(np.full((1, 8), 50.0), np.full((1, 8), 50.0), binary=False, bounds=(0.0, 100.0))
    assert mid.difference.method == "paired bootstrap over tasks"
    assert stats.paired_difference(zero, zero, binary=False).difference.high == 0.0


def test_score_difference_on_won_lost_scores_with_no_pair_differing_is_the_success_interval():
    # ALFWorld's score is 100 x won. Three seeds x 64 tasks, the same one task won by both methods:
    # no pair differs, so the score interval is 100 x the won/lost interval (not the bootstrap's [0, 0]).
    won = np.zeros((3, 64))
    won[2, 5] = 1.0
    success = stats.paired_difference(won, won, binary=True)
    score = stats.paired_difference(100 * won, 100 * won, binary=False, bounds=(0.0, 100.0))
    assert success.difference.high > 0
    assert (score.difference.low, score.difference.high) == pytest.approx(
        (100 * success.difference.low, 100 * success.difference.high))
    assert score.difference.method.endswith("(every score at a bound)")
    # once a pair differs, still 100 x the won/lost comparison (the same seed-and-task bootstrap)
    other = 100 * won
    other[0, 0] = 100.0
    moved = stats.paired_difference(other, 100 * won, binary=False, bounds=(0.0, 100.0))
    as_won = stats.paired_difference(other / 100, won, binary=True)
    assert moved.difference.method.startswith("paired bootstrap over seeds and tasks")
    assert (moved.difference.value, moved.difference.low, moved.difference.high) == pytest.approx(
        (100 * as_won.difference.value, 100 * as_won.difference.low, 100 * as_won.difference.high))
    assert moved.p_value == as_won.p_value


def test_one_seed_score_difference_on_won_lost_scores_is_newcombe_and_mcnemar():
    # Altman et al. (2000), Table 6.2, as ALFWorld scores (100 x won): 14 tasks won by both, 5 by the method
    # only, 22 by neither. By hand (test_newcombe_paired_interval_by_hand): D = 100 x 5/41 = 12.20,
    # interval 100 x [0.0115, 0.2265]; McNemar's exact p is the two-sided binomial test of 5 of 5 discordant
    # pairs (scipy): 0.0625. A bootstrap over the 5 differing tasks would give a far narrower interval.
    method = np.array([[100.0] * 14 + [100.0] * 5 + [0.0] * 22])
    base = np.array([[100.0] * 14 + [0.0] * 5 + [0.0] * 22])
    cmp = stats.paired_difference(method, base, binary=False, bounds=(0.0, 100.0))
    assert cmp.difference.value == pytest.approx(500 / 41)
    assert (cmp.difference.low, cmp.difference.high) == pytest.approx((1.15, 22.65), abs=0.05)
    assert cmp.test == "McNemar exact"
    assert cmp.p_value == pytest.approx(sps.binomtest(5, 5).pvalue, abs=1e-12)
    # a score strictly inside the range keeps the bootstrap and its permutation test
    inside = method.copy()
    inside[0, 0] = 50.0
    assert stats.paired_difference(inside, base, binary=False, bounds=(0.0, 100.0)).test.startswith("sign-flip")


def test_seed_and_task_bootstrap_on_two_seeds():
    # Two seeds; the difference is 1 on every task of seed 0 and 0 on every task of seed 1. Drawing two
    # seeds with replacement gives means 1, 1/2, 0 with chances 1/4, 1/2, 1/4: the 95% interval is [0, 1].
    method = np.array([[1.0] * 20, [0.0] * 20])
    base = np.zeros((2, 20))
    cmp = stats.paired_difference(method, base, binary=True)
    assert cmp.difference.value == 0.5
    assert (cmp.difference.low, cmp.difference.high) == (0.0, 1.0)
    assert cmp.test == "seed-and-task bootstrap"
    # about a quarter of the replicates sit at 0: p = 2 * (1/4) = 1/2
    assert cmp.p_value == pytest.approx(0.5, abs=0.03)


def test_paired_difference_refuses_unmatched_shapes():
    with pytest.raises(stats.StatsError, match="one shape"):
        stats.paired_difference(np.zeros((1, 3)), np.zeros((1, 4)), binary=True)


# -- unpaired fallbacks -------------------------------------------------------------------------------------------------
def test_newcombe_published_example():
    # Newcombe (1998), Statistics in Medicine 17:873, Table II example (a): 56/70 vs 48/80,
    # method 10 interval 0.0524 to 0.3339
    est = stats.newcombe(56, 70, 48, 80)
    assert est.value == pytest.approx(0.2)
    assert est.low == pytest.approx(0.0524, abs=1e-4)
    assert est.high == pytest.approx(0.3339, abs=1e-4)


def test_two_proportion_p_matches_chi_square():
    table = [[56, 14], [48, 32]]
    ref = sps.chi2_contingency(table, correction=False)[1]
    assert stats.two_proportion_p(56, 70, 48, 80) == pytest.approx(ref, rel=1e-9)


def test_welch_matches_scipy():
    a, b = [0.5, 0.62, 0.58], [0.40, 0.43, 0.51, 0.38]
    cmp = stats.welch(a, b)
    ref = sps.ttest_ind(a, b, equal_var=False)
    ci = ref.confidence_interval(0.95)
    assert cmp.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert (cmp.difference.low, cmp.difference.high) == pytest.approx((ci.low, ci.high), rel=1e-9)


# -- cost ----------------------------------------------------------------------------------------------------------
def test_cost_ratio_geometric_mean_and_spread():
    out = stats.cost_ratio([2.0, 8.0], [1.0, 2.0])  # ratios 2 and 4
    assert out["ratio"] == pytest.approx(math.sqrt(8))
    assert (out["min"], out["max"]) == (2.0, 4.0)
    half = 12.706205 * (math.log(4) - math.log(2)) / math.sqrt(2) / math.sqrt(2)  # t_{0.975,1}, s = log 2 / sqrt 2
    assert math.log(out["high"] / out["ratio"]) == pytest.approx(half, rel=1e-6)
    single = stats.cost_ratio([3.0], [2.0])
    assert single["ratio"] == pytest.approx(1.5) and single["low"] is None


# -- power ----------------------------------------------------------------------------------------------------------
def test_variance_components_hand_worked():
    d = np.array([[1.0, 0.0, 1.0, 0.0], [1.0, 1.0, 1.0, 1.0]])
    comp = stats.variance_components(d)
    # within: (1/3 + 0) / 2 = 1/6; seed means 0.5 and 1 have variance 0.125; between = 0.125 - (1/6)/4
    assert comp.within == pytest.approx(1 / 6)
    assert comp.between == pytest.approx(0.125 - 1 / 24)
    assert comp.between_known


def test_seeds_needed_hand_worked():
    # within 0.25, between 0, d = 0.1, 128 episodes: (1.959964 + 0.841621)^2 * 0.25 / 128 / 0.01 = 1.53 -> 2 seeds
    comp = stats.VarianceComponents(0.25, 0.0, True)
    assert stats.seeds_needed(comp, 0.1, 128) == 2
    assert stats.seeds_needed(comp, 0.1, 16) == 13  # 7.849 * 0.25 / 16 / 0.01 = 12.26
    assert stats.detectable_difference(comp, 2, 128) == pytest.approx(2.801585 * math.sqrt(0.25 / 256), rel=1e-5)


def test_power_is_eighty_percent_by_simulation():
    # Simulate the design the formula asks for and count how often a z test rejects.
    comp = stats.VarianceComponents(within=0.5, between=0.002, between_known=True)
    d, episodes = 0.1, 64
    seeds = stats.seeds_needed(comp, d, episodes)
    rng = np.random.default_rng(11)
    trials = 4000
    seed_effects = rng.normal(0, math.sqrt(comp.between), size=(trials, seeds))
    cells = d + seed_effects[:, :, None] + rng.normal(0, math.sqrt(comp.within), size=(trials, seeds, episodes))
    se = comp.standard_error(seeds, episodes)
    rejected = np.mean(np.abs(cells.mean(axis=(1, 2))) / se > 1.959964)
    assert 0.78 <= rejected <= 0.90  # at least 80% (seeds are rounded up), not far above


# -- properties ----------------------------------------------------------------------------------------------------
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 4), st.integers(5, 30), st.integers(0, 10_000))
def test_bootstrap_p_below_five_percent_exactly_when_zero_is_outside_the_interval(seeds, tasks, seed):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2, size=(seeds, tasks))
    b = (rng.random((seeds, tasks)) < 0.3).astype(int)
    cmp = stats.paired_difference(a, b, binary=True, resamples=2000)
    outside = cmp.difference.low > 0 or cmp.difference.high < 0
    # the p-value counts replicates on each side of 0 with a +1 correction, so it can sit just above 0.05
    # when exactly 2.5% of replicates lie beyond 0; away from that edge the two agree
    if abs(cmp.p_value - 0.05) > 0.005:
        assert (cmp.p_value < 0.05) == outside


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 500).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_contains_the_rate_and_stays_in_range(kn):
    k, n = kn
    est = stats.wilson(k, n)
    assert 0.0 <= est.low <= k / n <= est.high <= 1.0
    assert est.high - est.low > 0
