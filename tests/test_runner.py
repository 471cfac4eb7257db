"""The SFT -> RL runner end to end on a micro model and a small text env
(a test double that follows the uniform env contract), resume after a kill
during SFT and during RL, the ledger, presets and result.json."""
from __future__ import annotations

import json
import re

import gymnasium as gym
import pytest
from plugin_registration import plugin_registered

from prism_gym import hookimpl
from prism_gym.records import Task
from prism_gym.specs import EnvSpec

WORDS = ["apple", "drawer", "fridge", "lamp", "mug", "shelf"]


def _task(split: str, i: int) -> Task:
    target = WORDS[(i * 7 + len(split)) % len(WORDS)]
    return Task(env="echo", split=split, instance=str(i), task_type=f"type{i % 2}", goal=f"say {target}")


def list_echo_tasks(split, limit=None, seed=0, **_):
    n = 12 if split == "train" else 6
    tasks = [_task(split, i) for i in range(n)]
    return tasks[:limit] if limit else tasks


class EchoEnv(gym.Env):
    """Say the word the goal names. Other answers earn partial credit for the
    target's letters they contain, so that sampled episodes of one task differ
    in return and RL gets a signal even from an untrained model."""

    def __init__(self, expert_actions: bool = False, max_steps: int = 4):
        self.observation_space = gym.spaces.Text(max_length=10_000)
        self.action_space = gym.spaces.Text(max_length=10_000)
        self.expert_actions, self.max_steps = expert_actions, max_steps

    def _info(self, won=False, valid=True):
        target = self.task.goal.split()[-1]
        info = {"admissible_actions": sorted(WORDS[:4] + ([target] if target not in WORDS[:4] else [])),
                "won": won, "task": self.task, "score": 100.0 if won else 0.0, "is_action_valid": valid}
        if self.expert_actions:
            info["expert_action"] = target
        return info

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        options = options or {}
        self.task = options.get("task") or _task(options.get("split", "train"), int(options.get("instance", 0)))
        self.steps = 0
        return f"You stand in a room. {self.task.goal}.", self._info()

    def step(self, action):
        self.steps += 1
        target = self.task.goal.split()[-1]
        won = action.strip() == target
        info = self._info(won=won, valid=action.strip() in WORDS)
        obs = "Well said." if won else "Nothing happens."
        reward = 1.0 if won else 0.1 * len(set(action) & set(target)) / len(set(target))
        return obs, reward, won, self.steps >= self.max_steps and not won, info


class EchoPlugin:
    @staticmethod
    @hookimpl
    def prism_gym_envs():
        return [EnvSpec(id="prism_gym_test/Echo-v0", name="echo", entry_point=EchoEnv, max_episode_steps=4,
                        splits=("train", "valid_seen", "valid_unseen"), eval_splits=("valid_seen", "valid_unseen"),
                        tasks=list_echo_tasks)]


@pytest.fixture(scope="module", autouse=True)
def echo_env():
    with plugin_registered(EchoPlugin, "echo-test"):
        yield


def small_config(micro_dir, router="random", **kw):
    from prism_gym.runner.presets import apply_overrides, make_config

    cfg = make_config("tiny", "echo", router, model=str(micro_dir), **kw)
    apply_overrides(cfg, ["expert.trajectories=8", "sft.epochs=2", "sft.batch_size=4", "sft.save_steps=1",
                          "sft.learning_rate=0.005", "rl.iterations=3", "rl.tasks_per_iteration=2",
                          "rl.group_size=2", "rl.max_steps=3", "rl.max_new_tokens=8", "eval.episodes=3",
                          "eval.max_steps=3", "eval.max_new_tokens=8"])
    return cfg


class Interrupt(Exception):
    """Stands in for a kill: raised from inside a stage, after a checkpoint."""


def interrupt_at(stage: str, step: int):
    def on_step(name, done, total):
        if name == stage and done == step:
            raise Interrupt(f"{stage} step {step}")
    return on_step


STABLE_KEYS = ("metrics", "routing", "fingerprints", "router", "model", "env", "seed", "baseline")


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory, micro_dir):
    from prism_gym.runner.run import BenchRun

    root = tmp_path_factory.mktemp("runs")
    cfg = small_config(micro_dir)
    return root, BenchRun(cfg, root / cfg.run_id()).run()


def test_result_has_the_documented_shape(reference_run):
    root, result = reference_run
    for key in ("schema_version", "run_id", "created", "code_version", "preset", "track", "router", "baseline",
                "model", "env", "seed", "routing", "metrics", "ledger", "relative_cost", "fingerprints",
                "checkpoint"):
        assert key in result, key
    assert result["run_id"] == "echo-random-custom-s0"
    assert result["routing"] == {"trajectories": 8, "sft": 4, "rl": 4}
    assert set(result["ledger"]["stages"]) == {"expert", "probe", "sft", "rl", "eval"}
    for stage, cost in result["ledger"]["stages"].items():
        assert set(cost) == {"wall_s", "tokens_forwarded", "tokens_trained", "tokens_generated", "flops", "env_steps"}
    stages = result["ledger"]["stages"]
    assert stages["sft"]["tokens_trained"] > 0 and stages["sft"]["tokens_generated"] == 0
    assert stages["rl"]["tokens_generated"] > 0 and stages["rl"]["env_steps"] > 0
    # RL trained: some updates had signal, and the weights moved away from the SFT checkpoint
    history = json.loads((root / result["run_id"] / "rl" / "history.json").read_text())
    assert stages["rl"]["tokens_trained"] > 0 and sum(h["samples"] for h in history) > 0
    assert any(not h["no_signal"] for h in history)
    from prism_gym.runner.result import weights_fingerprint

    run_dir = root / result["run_id"]
    assert weights_fingerprint(run_dir / "checkpoints" / "final") != weights_fingerprint(run_dir / "checkpoints" / "sft")
    assert stages["eval"]["tokens_trained"] == 0 and stages["eval"]["env_steps"] > 0
    assert stages["expert"]["env_steps"] == 8  # the expert wins each echo task in one step
    total = result["ledger"]["total"]
    assert total["flops"] == pytest.approx(sum(s["flops"] for s in stages.values()))
    assert set(result["metrics"]["per_split"]) == {"valid_seen", "valid_unseen"}
    # Each split's rate is whole wins over its episodes; the run's rate is the episode-weighted mean.
    splits = list(result["metrics"]["per_split"].values())
    wins = [s["success_rate"] * s["episodes"] for s in splits]
    assert all(w == pytest.approx(round(w)) for w in wins)
    assert result["metrics"]["success_rate"] == pytest.approx(sum(wins) / sum(s["episodes"] for s in splits))
    assert result["relative_cost"] == {"vs_rl_only": None, "vs_sft_then_rl": None}
    assert (root / result["run_id"] / result["checkpoint"] / "model.safetensors").exists()
    assert result["router"]["name"] == "random"
    on_disk = json.loads((root / result["run_id"] / "result.json").read_text())
    assert on_disk["fingerprints"] == result["fingerprints"]
    # the evaluation sampled at the preset's temperature, and says so for `leaderboard verify`
    assert result["evaluation"]["temperature"] == 0.4


def test_rerun_of_a_finished_run_shows_its_result_and_an_unfinished_one_needs_resume(reference_run, micro_dir,
                                                                                     tmp_path):
    from prism_gym.runner.run import BenchRun, RunError

    root, result = reference_run
    run_dir = root / result["run_id"]
    before = (run_dir / "result.json").stat().st_mtime_ns
    again = BenchRun(small_config(micro_dir), run_dir).run()
    assert again == result, "a rerun of a finished run must give back its result"
    assert (run_dir / "result.json").stat().st_mtime_ns == before, "a finished run must not be run again"
    other = small_config(micro_dir)
    other.sft.epochs = 3.0
    with pytest.raises(RunError, match="another configuration"):
        BenchRun(other, run_dir, resume=True).run()
    unfinished = tmp_path / "unfinished"
    unfinished.mkdir()
    (unfinished / "config.json").write_text((run_dir / "config.json").read_text())
    with pytest.raises(RunError, match="--resume"):
        BenchRun(small_config(micro_dir), unfinished).run()


@pytest.mark.parametrize("stage,step", [("sft", 2), ("rl", 2)])
def test_killed_run_resumes_to_the_same_result(tmp_path, micro_dir, reference_run, stage, step):
    from prism_gym.runner.run import BenchRun

    _, reference = reference_run
    cfg = small_config(micro_dir)
    run_dir = tmp_path / cfg.run_id()
    with pytest.raises(Interrupt):
        BenchRun(cfg, run_dir, on_step=interrupt_at(stage, step)).run()
    assert not (run_dir / "result.json").exists()
    assert not (run_dir / "stages" / f"{stage}.json").exists()
    assert any((run_dir / "work" / stage).iterdir())  # a mid-stage checkpoint is there
    calls = []
    resumed = BenchRun(cfg, run_dir, resume=True, on_step=lambda s, d, t: calls.append((s, d))).run()
    first = [d for s, d in calls if s == stage][0]
    # SFT saves after the step callback, so the interrupted step itself is redone; RL saves before it.
    assert first == (step if stage == "sft" else step + 1), "the stage must continue from its last checkpoint"
    for key in STABLE_KEYS:
        assert resumed[key] == reference[key], key
    # the same final weights as the uninterrupted run (which trained: see the test above)
    assert resumed["fingerprints"]["checkpoint"] == reference["fingerprints"]["checkpoint"]
    for name in ("tokens_trained", "tokens_generated", "env_steps"):
        assert resumed["ledger"]["total"][name] == reference["ledger"]["total"][name], name


def test_resume_refuses_another_configuration(tmp_path, micro_dir, reference_run):
    from prism_gym.runner.presets import apply_overrides
    from prism_gym.runner.run import BenchRun, RunError

    root, result = reference_run
    cfg = apply_overrides(small_config(micro_dir), ["rl.iterations=4"])
    with pytest.raises(RunError, match="another configuration"):
        BenchRun(cfg, root / result["run_id"], resume=True).run()


def test_baselines_and_relative_cost(reference_run, micro_dir):
    from prism_gym.runner.result import refresh_relative_costs
    from prism_gym.runner.run import BenchRun

    root, reference = reference_run
    cfg = small_config(micro_dir, router="rl-only")
    cfg.preset = "custom"
    rl_only = BenchRun(cfg, root / cfg.run_id()).run()
    assert rl_only["baseline"] == "rl-only" and rl_only["router"]["name"] == "all-rl"
    assert rl_only["routing"]["rl"] == 8
    assert rl_only["ledger"]["stages"]["sft"]["flops"] == 0
    assert rl_only["relative_cost"]["vs_rl_only"] == 1.0
    refresh_relative_costs(root)
    updated = json.loads((root / reference["run_id"] / "result.json").read_text())
    expected = reference["ledger"]["total"]["flops"] / rl_only["ledger"]["total"]["flops"]
    assert updated["relative_cost"]["vs_rl_only"] == pytest.approx(expected, rel=1e-5)
    assert updated["relative_cost"]["vs_sft_then_rl"] is None


# -- presets ------------------------------------------------------------------------

@pytest.mark.parametrize("env", ["alfworld", "webshop"])
@pytest.mark.parametrize("router", ["prism", "random", "rl-only", "sft-only", "sft-then-rl", "all-rl"])
def test_presets_build_and_validate(env, router):
    from prism_gym.runner.presets import RunConfig, make_config

    for preset in ("tiny", "paper"):
        cfg = make_config(preset, env, router).validate()
        again = RunConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
        assert again.fingerprint() == cfg.fingerprint()
    assert make_config("tiny", env, "all-rl").baseline == "rl-only"
    assert make_config("tiny", env, "sft-then-rl").rl_on_all_tasks


def test_paper_preset_follows_the_paper_and_verl_agent():
    from prism_gym.runner.presets import make_config

    cfg = make_config("paper", "alfworld", "prism", router_options={"metric": "gini"}).validate()
    assert cfg.eval.episodes == 128 and cfg.rl.group_size == 8 and cfg.rl.tasks_per_iteration == 16
    assert cfg.rl.learning_rate == 1e-6 and cfg.rl.beta == 0.01 and cfg.rl.max_steps == 50
    assert cfg.router_options == {"metric": "gini"} and cfg.track == "tiny"
    assert make_config("paper", "webshop", "prism", model="Qwen/Qwen3-8B").rl.max_steps == 15
    assert make_config("paper", "webshop", "prism", model="Qwen/Qwen3-8B").track == "full"


def test_bad_settings_are_named():
    from prism_gym.runner.presets import ConfigError, apply_overrides, make_config, parse_router_options

    cfg = make_config("tiny", "alfworld", "prism")
    with pytest.raises(ConfigError, match="rl.group_size"):
        apply_overrides(cfg, ["rl.group_size=1"]).validate()
    with pytest.raises(ConfigError, match="unknown setting 'sft.epoch'"):
        apply_overrides(make_config("tiny", "alfworld", "prism"), ["sft.epoch=2"])
    with pytest.raises(ConfigError, match="expected stage.field=value"):
        apply_overrides(make_config("tiny", "alfworld", "prism"), ["epochs"])
    with pytest.raises(ConfigError, match="sft.lora"):
        apply_overrides(make_config("tiny", "alfworld", "prism"), ["sft.lora=maybe"])
    with pytest.raises(ConfigError, match="preset"):
        make_config("huge", "alfworld", "prism")
    with pytest.raises(ConfigError, match="eval.temperature"):
        apply_overrides(make_config("tiny", "alfworld", "prism"), ["eval.temperature=-0.5"]).validate()
    changed = apply_overrides(make_config("tiny", "alfworld", "prism"), ["sft.epochs=2", "eval.splits=valid_seen"])
    assert changed.preset == "custom" and changed.sft.epochs == 2.0 and changed.eval.splits == ("valid_seen",)
    # An optional setting can go back to none (its derived default); a required one cannot.
    assert apply_overrides(changed, ["rl.max_new_tokens=12"]).rl.max_new_tokens == 12
    assert apply_overrides(changed, ["rl.max_new_tokens=none"]).rl.max_new_tokens is None
    with pytest.raises(ConfigError, match="sft.batch_size"):
        apply_overrides(changed, ["sft.batch_size=none"])
    assert parse_router_options(["metric=gini", "rl_fraction=0.3", "normalize=true", "x=none"]) == \
        {"metric": "gini", "rl_fraction": 0.3, "normalize": True, "x": None}


# -- ledger and GRPO pieces ---------------------------------------------------------

def test_flops_formula_and_token_meter(micro_lm):
    import torch

    from prism_gym.runner.ledger import TokenMeter, estimate_flops, matmul_parameters

    assert estimate_flops(10, tokens_forwarded=7, tokens_trained=3) == 6 * 10 * 3 + 2 * 10 * 4
    model, tok = micro_lm
    n = matmul_parameters(model)
    embed = model.get_input_embeddings().weight.numel()
    assert n == sum(p.numel() for p in model.parameters()) - (0 if model.config.tie_word_embeddings else embed)
    meter = TokenMeter().attach(model)
    ids = torch.tensor([[5, 6, 7, 8], [0, 0, 9, 10]])
    mask = torch.tensor([[1, 1, 1, 1], [0, 0, 1, 1]])
    with torch.no_grad():
        model(input_ids=ids, attention_mask=mask)
    assert meter.snapshot() == (6, 0, 0)
    model(input_ids=ids, attention_mask=mask).logits.sum().backward()
    assert meter.snapshot() == (12, 6, 0)
    with torch.no_grad():
        out = model.generate(input_ids=ids[:1], attention_mask=mask[:1], max_new_tokens=3, do_sample=False,
                             min_new_tokens=3, pad_token_id=tok.pad_token_id)
    assert out.shape[1] == 7
    fwd, trained, generated = meter.snapshot()
    assert generated == 2 and fwd == 12 + 4 + 2 and trained == 6  # the last new token is never fed back
    meter.detach()


def test_group_advantages_and_task_schedule():
    from prism_gym.runner.grpo import group_advantages, iteration_tasks

    adv = group_advantages([1.0, 0.0, 0.0, 1.0, 1.0, 1.0], group_size=3)
    assert adv[3:] == [0.0, 0.0, 0.0]
    assert adv[0] == pytest.approx((1 - 1 / 3) / ((2 / 9) ** 0.5 + 1e-4))
    assert sum(adv[:3]) == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError):
        group_advantages([1.0, 0.0, 1.0], group_size=2)
    tasks = [_task("train", i) for i in range(5)]
    seen = [t.id for it in range(5) for t in iteration_tasks(tasks, it, 2, seed=3)]
    assert set(seen) == {t.id for t in tasks}
    assert [t.id for t in iteration_tasks(tasks, 0, 2, seed=3)] == [t.id for t in iteration_tasks(tasks, 0, 2, seed=3)]


# -- the command line ---------------------------------------------------------------

def test_bench_grid_skips_finished_cells(tmp_path, micro_dir):
    from typer.testing import CliRunner

    from prism_gym.cli import app

    sets = []
    for s in ["expert.trajectories=4", "sft.epochs=1", "sft.batch_size=4", "rl.iterations=1",
              "rl.tasks_per_iteration=2", "rl.group_size=2", "rl.max_steps=2", "rl.max_new_tokens=6",
              "eval.episodes=2", "eval.max_steps=2", "eval.max_new_tokens=6"]:
        sets += ["--set", s]
    args = ["bench", "--routers", "random,rl-only", "--seeds", "2", "--env", "echo", "--model", str(micro_dir),
            "--runs-root", str(tmp_path), "--quiet", *sets]
    runner = CliRunner()
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "4 to run" in first.output and "routers compared" in first.output
    assert not re.search(r"\d+/\d+ won \d+", first.output), "--quiet still drew an episode progress bar"
    finished = sorted(p.parent.name for p in tmp_path.glob("*/result.json"))
    assert finished == ["echo-random-custom-s0", "echo-random-custom-s1", "echo-rl-only-custom-s0",
                        "echo-rl-only-custom-s1"]
    random_s0 = json.loads((tmp_path / "echo-random-custom-s0" / "result.json").read_text())
    assert random_s0["relative_cost"]["vs_rl_only"] is not None  # filled in once the reference finished
    second = runner.invoke(app, args + ["--json"])
    assert second.exit_code == 0, second.output
    assert "4 already finished, 0 to run" in second.output
    rows = json.loads(second.output[second.output.index("{"):])["rows"]
    assert {r["router"] for r in rows} == {"random", "rl-only"} and all(r["seeds"] == [0, 1] for r in rows)


def test_bench_reports_bad_input():
    from typer.testing import CliRunner

    from prism_gym.cli import app

    runner = CliRunner()
    out = runner.invoke(app, ["bench", "--router", "nope", "--env", "echo"])
    assert out.exit_code == 1 and "unknown router 'nope'" in out.output
    out = runner.invoke(app, ["bench", "--router", "random", "--env", "echo", "--set", "rl.group_size=1"])
    assert out.exit_code == 1 and "rl.group_size" in out.output


def test_probe_cost_is_in_the_ledger(tmp_path, micro_dir):
    from prism_gym.runner.presets import apply_overrides
    from prism_gym.runner.run import BenchRun

    cfg = apply_overrides(small_config(micro_dir, router="prism", router_options={"metric": "gini"}),
                          ["rl.iterations=1", "eval.episodes=1"])
    result = BenchRun(cfg, tmp_path / cfg.run_id()).run()
    probe = result["ledger"]["stages"]["probe"]
    assert probe["tokens_trained"] > 0 and probe["tokens_trained"] == probe["tokens_forwarded"]
    from prism_gym.models import load_model_and_tokenizer
    from prism_gym.runner.ledger import matmul_parameters

    model, _ = load_model_and_tokenizer(str(micro_dir))
    assert probe["flops"] == 6 * matmul_parameters(model) * probe["tokens_trained"]
    assert result["router"] == {"name": "prism", "settings": result["router"]["settings"]}
    assert result["router"]["settings"]["metric"] == "gini"


@pytest.mark.parametrize("configured,width", [(8, 5), (None, None)])
def test_pass_rate_rollouts_answer_within_the_rl_budget(tmp_path, micro_dir, monkeypatch, configured, width):
    """The difficulty router's rollouts get the RL stage's step limit and answer
    budget (the configured one, or the one derived from the expert's answers),
    and probe.rollout_batch episodes at a time (unset: 64 on a CPU)."""
    import math

    import prism_gym.rollout
    from prism_gym.agents.prompts import format_action
    from prism_gym.fileio import read_json
    from prism_gym.models import load_model_and_tokenizer
    from prism_gym.runner.presets import apply_overrides
    from prism_gym.runner.run import BenchRun

    seen = []

    def spy(model, tokenizer, tasks, k, seed=0, **opts):
        seen.append(opts)
        return [0.0] * len(tasks)

    monkeypatch.setattr(prism_gym.rollout, "base_model_pass_rates", spy)
    cfg = apply_overrides(small_config(micro_dir, router="difficulty", router_options={"k": 2}),
                          ["rl.iterations=1", "eval.episodes=1", f"rl.max_new_tokens={configured or 'none'}",
                           f"probe.rollout_batch={width or 'none'}"])
    run = BenchRun(cfg, tmp_path / cfg.run_id())
    run.run()
    if configured is None:  # longest formatted answer + stop token, plus 25%, up to a multiple of 8
        _, tok = load_model_and_tokenizer(str(micro_dir))
        actions = read_json(run.path("expert", "reference_actions.json"))
        longest = max(len(tok(format_action(a), add_special_tokens=False)["input_ids"]) for a in actions) + 1
        configured = 8 * math.ceil(longest * 1.25 / 8)
    assert len(seen) == 1 and (seen[0]["max_steps"], seen[0]["max_new_tokens"]) == (3, configured)
    assert seen[0]["max_batch"] == (width or 64)


def test_markdown_report_has_one_row_per_run(reference_run):
    from prism_gym.runner.report import load_runs, markdown_table

    root, result = reference_run
    table = markdown_table(load_runs(root))
    rows = [line for line in table.splitlines() if line.startswith("| echo |")]
    assert rows and rows[0].startswith("| echo | random | ")
    assert table.splitlines()[1].count("---") == table.splitlines()[0].count("|") - 1


def test_rl_epochs_scale_updates_with_the_share():
    from prism_gym.runner.grpo import planned_iterations
    from prism_gym.runner.presets import RLConfig

    assert planned_iterations(RLConfig(iterations=5), 24) == 5
    assert planned_iterations(RLConfig(epochs=1.0, tasks_per_iteration=3), 24) == 8
    assert planned_iterations(RLConfig(epochs=1.0, tasks_per_iteration=3), 12) == 4
    assert planned_iterations(RLConfig(epochs=0.5, tasks_per_iteration=3), 13) == 3
    assert planned_iterations(RLConfig(epochs=1.0), 0) == 0


def test_zero_advantage_steps_kept_only_when_the_kl_term_is_on():
    from types import SimpleNamespace

    from prism_gym.algorithms.grpo import GRPO
    from prism_gym.records import Turn
    from prism_gym.runner.grpo import group_samples, split_groups

    def episode(reward):
        step = SimpleNamespace(prompt_ids=[1, 2], completion_ids=[3], logprobs=None)
        turn = Turn(observation="room", action="x", reward=reward)
        return SimpleNamespace(trajectory=SimpleNamespace(reward=reward, turns=(turn,)), steps=[step])

    episodes = [episode(1.0), episode(1.0), episode(0.0), episode(1.0)]  # group 1 all won: zero advantage
    groups = split_groups(episodes, group_size=2)
    without_kl, signal = group_samples(groups, GRPO())
    with_kl, _ = group_samples(groups, GRPO(), keep_zero_advantage=True)
    assert signal == 1
    assert len(without_kl) == 2 and all(s.advantage != 0 for s in without_kl)
    assert len(with_kl) == 4 and [s.advantage for s in with_kl][:2] == [0.0, 0.0]


def test_sft_resumes_only_from_checkpoints_with_their_ledger(tmp_path):
    from prism_gym.runner.sft import LEDGER_FILE, latest_checkpoint

    for step, with_ledger in ((2, True), (4, False)):
        ckpt = tmp_path / f"checkpoint-{step}"
        ckpt.mkdir()
        (ckpt / "trainer_state.json").write_text("{}")
        if with_ledger:
            (ckpt / LEDGER_FILE).write_text("{}")
    assert latest_checkpoint(tmp_path) == tmp_path / "checkpoint-2"


def test_rl_stage_runs_another_algorithm_with_every_option(tmp_path, micro_dir):
    """`--set rl.algorithm=gigpo` and the loop's options reach the RL stage of a real run."""
    from prism_gym.runner.presets import apply_overrides
    from prism_gym.runner.run import BenchRun

    cfg = apply_overrides(small_config(micro_dir), ["rl.algorithm=gigpo", "rl.algorithm_options=omega=0.5",
                                                    "rl.dynamic_sampling=true", "rl.ppo_epochs=2",
                                                    "rl.mini_batch_size=4", "rl.bf16=true", "rl.beta=0.05"])
    result = BenchRun(cfg, tmp_path / cfg.run_id()).run()
    history = json.loads((tmp_path / cfg.run_id() / "rl" / "history.json").read_text())
    assert result["config"]["rl"]["algorithm"] == "gigpo" and len(history) == 3
    assert all(h["algorithm"] == "gigpo" for h in history)
    trained = [h for h in history if h["samples"]]
    assert trained and all(h["optimizer_steps"] == 2 * -(-h["samples"] // 4) for h in trained)
    assert result["ledger"]["stages"]["rl"]["tokens_trained"] > 0


def test_unmaskable_template_stops_the_run_before_any_stage(tmp_path, micro_tokenizer, monkeypatch):
    """A chat template whose assistant tokens cannot be located is refused when
    the run starts: no expert episode, no probe, nothing written."""
    from prism_gym.models import micro_model
    from prism_gym.runner import services
    from prism_gym.runner.run import BenchRun, RunError
    from test_chat_mask import MISMATCHED, with_template

    tok = with_template(micro_tokenizer, MISMATCHED)
    model_dir = tmp_path / "model"
    micro_model(tok).save_pretrained(model_dir)
    tok.save_pretrained(model_dir)

    def no_stage(*args, **kwargs):
        raise AssertionError("a stage ran before the template check")

    monkeypatch.setattr(services, "collect_expert", no_stage)
    monkeypatch.setattr(services, "list_tasks", no_stage)
    run_dir = tmp_path / "run"
    with pytest.raises(RunError, match="message 2 .*generation prompt"):
        BenchRun(small_config(model_dir), run_dir).run()
    assert not run_dir.exists()
