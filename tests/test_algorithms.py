"""RL-algorithm plugins: advantages against hand-worked examples, registration
like every other plugin kind, the CLI, and the run configuration."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from prism_gym.algorithm import PlayedEpisode
from prism_gym.plugins import DEFAULT_PLUGINS, PluginRegistry


def ep(observations, rewards) -> PlayedEpisode:
    return PlayedEpisode(rewards=tuple(rewards), observations=tuple(observations))


# A group of 4 episodes of one task. Anchor states repeat across episodes (s0 starts
# every episode, s1 and s2 recur) and within one (episode 1 stays in s1).
GROUP = [
    ep(["s0", "s1", "s2"], [0, 0, 1]),  # R = 1
    ep(["s0", "s1", "s1"], [0, 0, 0]),  # R = 0
    ep(["s0", "s2"], [0, 1]),           # R = 1
    ep(["s0", "s3"], [0, 0]),           # R = 0
]


def test_gigpo_step_advantages_by_hand_without_std():
    from prism_gym.algorithms.gigpo import GiGPO

    # Episode level: mean return 0.5, so A_E = +-0.5.
    # Step returns with gamma = 0.5: ep0 [0.25, 0.5, 1], ep1 [0, 0, 0], ep2 [0.5, 1], ep3 [0, 0].
    # Step groups and their means:
    #   s0: {0.25, 0, 0.5, 0}, mean 0.1875 -> ep0 +0.0625, ep1 -0.1875, ep2 +0.3125, ep3 -0.1875
    #   s1: {ep0: 0.5, ep1: 0, ep1: 0}, mean 1/6 -> ep0 +1/3, ep1 -1/6 (twice)
    #   s2: {ep0: 1, ep2: 1}, mean 1 -> 0, 0
    #   s3: visited once -> 0
    # A = A_E + omega * A_S with omega = 0.5:
    expected = [
        [0.5 + 0.5 * 0.0625, 0.5 + 0.5 / 3, 0.5],
        [-0.5 - 0.5 * 0.1875, -0.5 - 0.5 / 6, -0.5 - 0.5 / 6],
        [0.5 + 0.5 * 0.3125, 0.5],
        [-0.5 - 0.5 * 0.1875, -0.5],
    ]
    got = GiGPO(omega=0.5, gamma=0.5, std_normalize=False).advantages(GROUP)
    assert [len(a) for a in got] == [3, 3, 2, 2]
    for row, want in zip(got, expected):
        assert row == pytest.approx(want, abs=1e-12)


def test_gigpo_step_advantages_by_hand_with_std():
    from prism_gym.algorithms.gigpo import GiGPO

    eps = 1e-4
    # episode level: returns {1, 0, 1, 0}: population std 0.5
    a_e = 0.5 / (0.5 + eps)
    # s0: deviations {0.0625, -0.1875, 0.3125, -0.1875}; variance = (0.00390625 + 0.03515625
    #     + 0.09765625 + 0.03515625) / 4 = 0.04296875
    s0 = 0.04296875 ** 0.5 + eps
    # s1: deviations {1/3, -1/6, -1/6}; variance = (1/9 + 1/36 + 1/36) / 3 = 1/18
    s1 = (1 / 18) ** 0.5 + eps
    expected = [
        [a_e + 0.0625 / s0, a_e + (1 / 3) / s1, a_e],
        [-a_e - 0.1875 / s0, -a_e - (1 / 6) / s1, -a_e - (1 / 6) / s1],
        [a_e + 0.3125 / s0, a_e],
        [-a_e - 0.1875 / s0, -a_e],
    ]
    got = GiGPO(omega=1.0, gamma=0.5).advantages(GROUP)
    for row, want in zip(got, expected):
        assert row == pytest.approx(want, rel=1e-9)


def test_gigpo_with_omega_zero_is_grpo():
    from prism_gym.algorithms.gigpo import GiGPO
    from prism_gym.algorithms.grpo import GRPO

    for gigpo_row, grpo_row in zip(GiGPO(omega=0.0).advantages(GROUP), GRPO().advantages(GROUP)):
        assert gigpo_row == pytest.approx(grpo_row)


def test_discounted_returns_by_hand():
    from prism_gym.algorithms.gigpo import discounted_returns

    assert discounted_returns([1, 0, 2], 0.9) == pytest.approx([1 + 0.9 ** 2 * 2, 0.9 * 2, 2])
    assert discounted_returns([], 0.9) == []


def test_grpo_and_dr_grpo_by_hand():
    from prism_gym.algorithms.grpo import GRPO

    group = [ep(["a"], [3.0]), ep(["a", "b"], [0.0, 1.0]), ep(["a"], [0.0]), ep(["c"], [0.0])]
    # returns 3, 1, 0, 0: mean 1, population std sqrt((4 + 0 + 1 + 1) / 4) = sqrt(1.5)
    std = 1.5 ** 0.5 + 1e-4
    got = GRPO().advantages(group)
    assert got == [pytest.approx([2 / std]), pytest.approx([0.0, 0.0]), pytest.approx([-1 / std]),
                   pytest.approx([-1 / std])]
    dr = GRPO(std_normalize=False, length_normalize=False)
    assert dr.advantages(group) == [[2.0], [0.0, 0.0], [-1.0], [-1.0]]
    assert GRPO().loss.aggregation == "token-mean" and dr.loss.aggregation == "token-sum"


def test_rloo_by_hand():
    from prism_gym.algorithms.rloo import RLOO

    group = [ep(["a"], [3.0]), ep(["a"], [1.0]), ep(["a"], [0.0]), ep(["a", "b"], [0.0, 0.0])]
    # leave-one-out baselines: (1+0+0)/3, (3+0+0)/3, (3+1+0)/3, (3+1+0)/3
    assert RLOO().advantages(group) == [pytest.approx([3 - 1 / 3]), pytest.approx([1 - 1.0]),
                                        pytest.approx([0 - 4 / 3]), pytest.approx([-4 / 3, -4 / 3])]


def test_played_episode_from_a_trajectory():
    from prism_gym.records import Task, Trajectory, Turn

    task = Task(env="x", split="train", instance="0", task_type="t", goal="g")
    turns = (Turn(observation="o1", action="a", reward=0.5), Turn(observation="o2", action="b", reward=1.0))
    played = PlayedEpisode.from_trajectory(Trajectory(id="t", task=task, turns=turns, won=True, reward=1.5))
    assert played.observations == ("o1", "o2") and played.rewards == (0.5, 1.0) and played.ret == 1.5


# -- registration -------------------------------------------------------------------

def test_builtin_algorithms_register_like_plugins():
    registry = PluginRegistry(load_entry_points=False)
    table = registry.algorithms()
    assert {"grpo", "gigpo", "rloo"} <= set(table)
    for name, (plugin, spec) in table.items():
        assert plugin in DEFAULT_PLUGINS and registry.info[plugin].builtin
        algo = spec.build()
        assert algo.name == name and algo.loss.aggregation in ("token-mean", "token-sum")


def test_cli_lists_algorithms_and_their_plugins():
    from prism_gym.cli import app

    runner = CliRunner()
    out = runner.invoke(app, ["algorithms", "list", "--json"])
    assert out.exit_code == 0, out.output
    rows = {r["name"]: r for r in json.loads(out.stdout)}
    assert rows["gigpo"]["plugin"] == "prism_gym.algorithms.gigpo"
    assert rows["gigpo"]["options"] == {"omega": 1.0, "gamma": 0.95, "std_normalize": True}
    plugins = {r["name"]: r for r in json.loads(runner.invoke(app, ["plugins", "--json"]).stdout)}
    assert plugins["prism_gym.algorithms.rloo"]["hooks"] == "prism_gym_algorithms"


def test_run_config_selects_the_algorithm_and_rejects_bad_ones():
    from prism_gym.runner.grpo import build_algorithm
    from prism_gym.runner.presets import ConfigError, apply_overrides, make_config

    cfg = apply_overrides(make_config("tiny", "alfworld", "prism"),
                          ["rl.algorithm=gigpo", "rl.algorithm_options=omega=0.5,gamma=0.9"]).validate()
    algo = build_algorithm(cfg.rl)
    assert algo.name == "gigpo" and (algo.omega, algo.gamma) == (0.5, 0.9)
    assert make_config("tiny", "alfworld", "prism").rl.algorithm == "grpo"
    with pytest.raises(ConfigError, match="rl.algorithm: unknown algorithm 'ppo'"):
        apply_overrides(make_config("tiny", "alfworld", "prism"), ["rl.algorithm=ppo"]).validate()
    with pytest.raises(ConfigError, match="rl.algorithm_options"):
        apply_overrides(make_config("tiny", "alfworld", "prism"), ["rl.algorithm_options=omgea=1"]).validate()
    with pytest.raises(ConfigError, match="rl.ppo_epochs"):
        apply_overrides(make_config("tiny", "alfworld", "prism"), ["rl.ppo_epochs=0"]).validate()


def test_the_algorithm_is_part_of_the_method_not_the_preset():
    import re

    from prism_gym.runner.presets import apply_overrides, make_config
    from prism_gym.runner.result import preset_fingerprint

    def run(method, *sets):
        return apply_overrides(make_config("tiny", "alfworld", method), list(sets))

    grpo, gigpo = run("prism"), run("prism", "rl.algorithm=gigpo")
    assert (grpo.run_id(), gigpo.run_id()) == ("alfworld-prism-tiny-s0", "alfworld-prism-gigpo-tiny-s0")
    assert gigpo.preset == "tiny"
    # same preset (they compare), different runs
    assert preset_fingerprint(gigpo.to_dict()) == preset_fingerprint(grpo.to_dict())
    assert gigpo.fingerprint() != grpo.fingerprint()
    assert run("random", "rl.dynamic_sampling=true").run_id() == "alfworld-random-grpo-ds-tiny-s0"
    assert run("prism", "rl.algorithm=grpo").run_id() == "alfworld-prism-tiny-s0"  # the default, spelled out
    assert re.fullmatch(r"alfworld-prism-gigpo-o[0-9a-f]{6}-tiny-s0",
                        run("prism", "rl.algorithm=gigpo", "rl.algorithm_options=omega=0.5").run_id())
    # sft-only has no RL stage: its algorithm setting changes nothing, and the run is the GRPO track's
    assert run("sft-only", "rl.algorithm=gigpo").run_id() == "alfworld-sft-only-tiny-s0"
    assert run("rl-only", "rl.algorithm=gigpo").run_id() == "alfworld-rl-only-gigpo-tiny-s0"
    # any other setting is a different preset
    other = run("prism", "rl.algorithm=gigpo", "sft.epochs=1")
    assert other.run_id() == "alfworld-prism-gigpo-custom-s0"
    assert preset_fingerprint(other.to_dict()) != preset_fingerprint(grpo.to_dict())
    # a run's cost references are the baselines trained by the same algorithm (GiGPO-only for a GiGPO run)
    from pathlib import Path

    from prism_gym.runner.result import reference_dir

    def reference(cfg, baseline):
        result = {"env": {"name": "alfworld"}, "preset": cfg.preset, "seed": 0, "config": cfg.to_dict()}
        return reference_dir(Path("runs/x"), result, baseline).name

    assert reference(gigpo, "rl-only") == "alfworld-rl-only-gigpo-tiny-s0"
    assert reference(grpo, "sft-then-rl") == "alfworld-sft-then-rl-tiny-s0"


def test_bench_rejects_an_unknown_algorithm_before_any_stage(tmp_path):
    from prism_gym.cli import app

    out = CliRunner().invoke(app, ["bench", "--router", "random", "--env", "alfworld", "--set", "rl.algorithm=nope",
                                   "--runs-root", str(tmp_path)])
    assert out.exit_code == 1 and "rl.algorithm" in out.output
    assert not any(tmp_path.iterdir())
