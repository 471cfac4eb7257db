"""Routers: the concentration statistics against hand-computed values, every
built-in router on a micro model, determinism, and option handling."""
from __future__ import annotations

import numpy as np
import pytest

from prism_gym.plugins import get_registry
from prism_gym.probe import probe_trajectories
from prism_gym.routers.concentration import cv, gini, kurtosis, metric
from prism_gym.routing import RoutingContext
from test_probe import make_trajectories

ALL_ROUTERS = ["prism", "inverse-prism", "magnitude", "loss", "difficulty", "random", "all-sft", "all-rl"]


# -- statistics, exactly as the paper defines them -----------------------------------------
@pytest.mark.parametrize("g, expected", [
    ([1, 2, 3, 4], 0.25),  # 2*30/(4*10) - 5/4
    ([4, 1, 3, 2], 0.25),  # order does not matter
    ([0, 0, 0, 5], 0.75),  # all in one matrix: (N-1)/N
    ([2, 2, 2], 0.0),
    ([0, 0], 0.0),
])
def test_gini_hand_computed(g, expected):
    assert gini(g) == pytest.approx(expected, abs=1e-12)


def test_gini_equals_pairwise_form():
    rng = np.random.default_rng(0)
    g = rng.exponential(size=37)
    pairwise = np.abs(g[:, None] - g[None, :]).sum() / (2 * g.size ** 2 * g.mean())
    assert gini(g) == pytest.approx(pairwise, rel=1e-12)


def test_cv_and_kurtosis_hand_computed():
    # [1,2,3,4]: mean 2.5, population variance 1.25, m4 = 2.5625.
    assert cv([1, 2, 3, 4]) == pytest.approx(np.sqrt(1.25) / 2.5, rel=1e-12)
    assert kurtosis([1, 2, 3, 4]) == pytest.approx(2.5625 / 1.25 ** 2, rel=1e-12)  # 1.64
    # [0,0,0,5]: cv = sqrt(3), kurtosis = 7/3.
    assert cv([0, 0, 0, 5]) == pytest.approx(np.sqrt(3), rel=1e-12)
    assert kurtosis([0, 0, 0, 5]) == pytest.approx(7 / 3, rel=1e-12)
    assert cv([3, 3]) == 0.0 and kurtosis([3, 3]) == 0.0


@pytest.mark.parametrize("name", ["gini", "cv", "kurtosis"])
def test_statistics_are_scale_invariant(name):
    g = np.random.default_rng(1).exponential(size=14)
    assert metric(name)(g * 1234.5) == pytest.approx(metric(name)(g), rel=1e-9)


def test_statistics_reject_bad_input():
    with pytest.raises(ValueError, match="non-negative"):
        gini([1, -1])
    with pytest.raises(ValueError, match="non-empty"):
        cv([])
    with pytest.raises(ValueError, match="unknown concentration metric 'entropy'"):
        metric("entropy")


# -- routers on a micro model -----------------------------------------------------------------
@pytest.fixture()
def context(micro_lm, monkeypatch):
    """A routing context whose base model is the micro model and whose pass
    rates come from a deterministic stand-in for base-model rollouts."""
    import prism_gym.rollout

    calls = []

    def fake_pass_rates(model, tokenizer, tasks, k, seed=0, **opts):
        calls.append({"k": k, "seed": seed, **opts})
        return [((int(t.instance) * 7 + seed) % (k + 1)) / k for t in tasks]

    monkeypatch.setattr(prism_gym.rollout, "base_model_pass_rates", fake_pass_rates)
    ctx = RoutingContext(env="alfworld", seed=3, options={"progress": False})
    ctx._cache["model"] = micro_lm
    ctx.pass_rate_calls = calls
    return ctx


def build(name, **options):
    return get_registry().router(name).build(**options)


def shares(decisions):
    return sum(d.route == "rl" for d in decisions)


# Four trajectories' per-matrix norms and their statistics, worked by hand:
#   A [1,1,1,1]: even. Gini 0, CV 0, kurtosis 0 (constant vector).
#   B [1,2,3,4]: mean 2.5, centred +-0.5, +-1.5, variance 1.25, m4 (2*0.0625 + 2*5.0625)/4 = 2.5625.
#      Gini 2*(1+4+9+16)/(4*10) - 5/4 = 0.25; CV sqrt(1.25)/2.5 = 0.4472; kurtosis 2.5625/1.5625 = 1.64.
#   C [0,0,0,5]: mean 1.25, centred -1.25 (x3), 3.75, variance 4.6875, m4 (3*2.4414 + 197.75)/4 = 51.27.
#      Gini 2*(4*5)/(4*5) - 5/4 = 0.75; CV sqrt(4.6875)/1.25 = sqrt(3) = 1.7321; kurtosis 51.27/21.97 = 7/3.
#   D [1,1,3,3]: mean 2, centred +-1, variance 1, m4 1.
#      Gini 2*(1+2+9+12)/(4*8) - 5/4 = 0.25; CV 1/2 = 0.5; kurtosis 1.
HAND_NORMS = [[1, 1, 1, 1], [1, 2, 3, 4], [0, 0, 0, 5], [1, 1, 3, 3]]
HAND_SCORES = {"gini": [0.0, 0.25, 0.75, 0.25], "cv": [0.0, np.sqrt(1.25) / 2.5, np.sqrt(3), 0.5],
               "kurtosis": [0.0, 1.64, 7 / 3, 1.0]}
# Median splits (s > median -> RL, ties to SFT):
#   gini:     sorted 0, .25, .25, .75 -> median .25: only C is above (B and D tie at the median).
#   cv:       sorted 0, .447, .5, 1.732 -> median .474: C and D.
#   kurtosis: sorted 0, 1, 1.64, 2.333 -> median 1.32: B and C.
#   inverse-prism (gini): scores 0, -.25, -.75, -.25 -> median -.25: only A.
HAND_ROUTES = {"gini": ["sft", "sft", "rl", "sft"], "cv": ["sft", "sft", "rl", "rl"],
               "kurtosis": ["sft", "rl", "rl", "sft"]}


@pytest.fixture()
def hand_probe(context, monkeypatch):
    """The context's probe answers with HAND_NORMS for four trajectories."""
    from prism_gym.probe import ProbeResult

    trajs = make_trajectories(4, seed=6)
    norms = np.array(HAND_NORMS, dtype=np.float64)

    def gradient_norms(trajectories, **options):
        assert [t.id for t in trajectories] == [t.id for t in trajs]
        return ProbeResult(trajectory_ids=[t.id for t in trajs], matrix_names=["a", "b", "c", "d"],
                           matrix_sizes=np.array([4, 4, 4, 4]), norms=norms, losses=np.array([2.0, 1.0, 4.0, 3.0]),
                           num_tokens=np.array([5, 5, 5, 5]))

    monkeypatch.setattr(context, "gradient_norms", gradient_norms)
    return trajs


@pytest.mark.parametrize("name", ["gini", "cv", "kurtosis"])
def test_prism_scores_and_median_split_hand_worked(context, hand_probe, name):
    decisions = build("prism", metric=name).route(hand_probe, context)
    assert [d.score for d in decisions] == pytest.approx(HAND_SCORES[name], abs=1e-12)
    assert [d.route for d in decisions] == HAND_ROUTES[name]


def test_inverse_prism_magnitude_and_loss_hand_worked(context, hand_probe):
    inverse = build("inverse-prism").route(hand_probe, context)
    assert [d.route for d in inverse] == ["rl", "sft", "sft", "sft"]  # ties at the median go to SFT
    # Magnitudes sqrt(4), sqrt(30), 5, sqrt(20) = 2, 5.477, 5, 4.472 -> median 4.736: B and C.
    magnitude = build("magnitude").route(hand_probe, context)
    assert [d.score for d in magnitude] == pytest.approx([2.0, np.sqrt(30), 5.0, np.sqrt(20)])
    assert [d.route for d in magnitude] == ["sft", "rl", "rl", "sft"]
    # Losses 2, 1, 4, 3 -> median 2.5: C and D; with rl_fraction 0.25 only the highest, C.
    assert [d.route for d in build("loss").route(hand_probe, context)] == ["sft", "sft", "rl", "rl"]
    assert [d.route for d in build("loss", rl_fraction=0.25).route(hand_probe, context)] == ["sft", "sft", "rl", "sft"]


@pytest.mark.parametrize("name", ALL_ROUTERS)
def test_every_router_routes_and_is_deterministic(name, context):
    trajs = make_trajectories(6, seed=4)
    first = build(name).route(trajs, context)
    again = build(name).route(trajs, context)
    assert [d.trajectory_id for d in first] == [t.id for t in trajs]
    assert [(d.route, d.score) for d in first] == [(d.route, d.score) for d in again]
    assert all(d.router == name and d.task_type for d in first)
    if name not in ("all-sft", "all-rl", "difficulty"):
        assert shares(first) == 3  # median split of 6 distinct scores


def test_prism_scores_are_the_metric_of_the_probe_norms(context, micro_lm):
    model, tok = micro_lm
    trajs = make_trajectories(6, seed=4)
    probe = probe_trajectories(model, tok, trajs, model_id="default", progress=False)
    for name in ("gini", "cv", "kurtosis"):
        decisions = build("prism", metric=name).route(trajs, context)
        assert [d.score for d in decisions] == pytest.approx([metric(name)(g) for g in probe.norms])
        median = np.median([d.score for d in decisions])
        assert all((d.route == "rl") == (d.score > median) for d in decisions)
    normalized = build("prism", normalize=True).route(trajs, context)
    assert [d.score for d in normalized] == pytest.approx(
        [gini(g / np.sqrt(probe.matrix_sizes)) for g in probe.norms])


def test_inverse_prism_is_the_complement(context):
    trajs = make_trajectories(6, seed=4)
    prism = build("prism").route(trajs, context)
    inverse = build("inverse-prism").route(trajs, context)
    assert [d.route for d in inverse] == ["sft" if d.route == "rl" else "rl" for d in prism]


def test_rl_fraction_changes_the_share(context):
    trajs = make_trajectories(6, seed=4)
    assert shares(build("prism", rl_fraction=1 / 3).route(trajs, context)) == 2
    assert shares(build("magnitude", rl_fraction=0.0).route(trajs, context)) == 0


def test_magnitude_and_loss_read_the_probe(context, micro_lm):
    model, tok = micro_lm
    trajs = make_trajectories(6, seed=4)
    probe = probe_trajectories(model, tok, trajs, model_id="default", progress=False)
    assert [d.score for d in build("magnitude").route(trajs, context)] == pytest.approx(list(probe.magnitude))
    high = build("loss").route(trajs, context)
    low = build("loss", direction="low-to-rl").route(trajs, context)
    assert [d.score for d in high] == pytest.approx(list(probe.losses))
    assert [d.route for d in low] == ["sft" if d.route == "rl" else "rl" for d in high]
    with pytest.raises(ValueError, match="direction"):
        build("loss", direction="sideways")


def test_difficulty_uses_pass_rates_and_threshold(context):
    trajs = make_trajectories(6, seed=4)
    decisions = build("difficulty", k=4, threshold=0.5).route(trajs, context)
    expected = [((i * 7 + 3) % 5) / 4 for i in range(6)]  # the stand-in's rates, seed 3
    assert [d.score for d in decisions] == pytest.approx(expected)
    assert [d.route for d in decisions] == ["rl" if r > 0.5 else "sft" for r in expected]
    assert context.pass_rate_calls[-1]["k"] == 4 and context.pass_rate_calls[-1]["seed"] == 3
    by_rank = build("difficulty", k=4, rl_fraction=0.5).route(trajs, context)
    assert shares(by_rank) == 3
    with pytest.raises(ValueError, match="k must be"):
        build("difficulty", k=0)
    with pytest.raises(ValueError, match=r"threshold must be in \[0, 1\]"):
        build("difficulty", threshold=1.5)


def test_difficulty_rollouts_take_the_contexts_step_limit_unless_given_their_own(context):
    trajs = make_trajectories(4, seed=4)
    context.rollout_options = {"max_steps": 30}  # what bench passes: the RL stage's step limit
    build("difficulty", k=2).route(trajs, context)
    assert context.pass_rate_calls[-1]["max_steps"] == 30
    build("difficulty", k=2, max_steps=7).route(trajs, context)
    assert context.pass_rate_calls[-1]["max_steps"] == 7


def test_random_depends_on_seed_not_order(context):
    trajs = make_trajectories(8, seed=5)
    a = {d.trajectory_id: d.score for d in build("random").route(trajs, context)}
    b = {d.trajectory_id: d.score for d in build("random").route(trajs[::-1], context)}
    assert a == b
    context.seed = 4
    c = {d.trajectory_id: d.score for d in build("random").route(trajs, context)}
    assert a != c


def test_unknown_options_are_rejected():
    with pytest.raises(TypeError, match="unknown options: colour"):
        build("prism", colour="red")
    with pytest.raises(ValueError, match="unknown concentration metric"):
        build("prism", metric="entropy")
