"""Arbiter runs through the whole runner on a micro model and the echo test env
(tests/test_runner.py): `prism-gym bench --router hpt` end to end, and a
static router's run unchanged by the arbiter machinery (the plain two-stage
path, the recorded configs and fingerprints of every leaderboard run)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from plugin_registration import plugin_registered
from test_runner import EchoPlugin, small_config

ROOT = Path(__file__).parent.parent
SETTINGS = ["expert.trajectories=6", "rl.iterations=2", "rl.tasks_per_iteration=2", "rl.group_size=2",
            "rl.max_steps=2", "rl.max_new_tokens=8", "eval.episodes=2", "eval.max_steps=2", "eval.max_new_tokens=8"]


@pytest.fixture(scope="module", autouse=True)
def echo_env():
    with plugin_registered(EchoPlugin, "echo-test"):
        yield


def test_bench_with_hpt_runs_end_to_end(tmp_path, micro_dir):
    from typer.testing import CliRunner

    from prism_gym.cli import app

    args = ["bench", "--router", "hpt", "--env", "echo", "--model", str(micro_dir), "--run-dir",
            str(tmp_path / "run"), "--quiet", "--json"]
    for s in SETTINGS:
        args += ["--set", s]
    out = CliRunner().invoke(app, args)
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout[out.stdout.index("{"):])
    assert result["router"] == {"name": "hpt", "settings": {"switch_gate": 0}}
    assert result["config"]["arbiter"] == "hpt" and result["baseline"] is None
    assert result["routing"] == {"trajectories": 6, "sft": 0, "rl": 6}  # every task to the mixed loop
    stages = result["ledger"]["stages"]
    assert stages["sft"]["tokens_trained"] == 0  # HPT starts from the base model: no SFT stage
    assert not (tmp_path / "run" / "checkpoints" / "sft").exists()
    assert stages["rl"]["tokens_trained"] > 0 and stages["rl"]["tokens_generated"] > 0
    history = json.loads((tmp_path / "run" / "rl" / "history.json").read_text())
    assert [h["arbiter"] for h in history] == ["hpt", "hpt"]
    # the untrained micro model wins no echo task: its groups train on the demonstrations
    assert all(h["sft_tasks"] + h["rl_tasks"] == 2 for h in history)
    assert sum(h["sft_tasks"] for h in history) > 0 and sum(h["sft_tokens"] for h in history) > 0
    assert result["run_id"] == "run" and result["metrics"]["per_split"]


def test_a_static_run_takes_the_plain_two_stage_path(tmp_path, micro_dir, monkeypatch):
    """The RL stage of a static router's run is run_grpo with the run's own
    inputs: replaying run_grpo from the SFT checkpoint gives the same history,
    byte for byte, and the same final weights; the mixed loop is never entered
    and config.json holds no arbiter field."""
    import prism_gym.runner.grpo as grpo
    import prism_gym.runner.mixed as mixed
    from prism_gym.models import load_model_and_tokenizer
    from prism_gym.runner.presets import apply_overrides
    from prism_gym.runner.result import weights_fingerprint
    from prism_gym.runner.run import BenchRun
    from prism_gym.runner.sft import save_model

    def refuse(*args, **kwargs):
        raise AssertionError("a static router's run entered the mixed loop")

    monkeypatch.setattr(mixed, "run_mixed", refuse)
    monkeypatch.setattr(mixed, "arbitrated_stage", refuse)
    real, calls = grpo.run_grpo, []

    def recording(model, tokenizer, tasks, cfg, **kwargs):
        calls.append((list(tasks), cfg, dict(kwargs)))
        return real(model, tokenizer, tasks, cfg, **kwargs)

    monkeypatch.setattr(grpo, "run_grpo", recording)
    cfg = apply_overrides(small_config(micro_dir, router="random"), ["rl.iterations=2"])
    run_dir = tmp_path / "static"
    BenchRun(cfg, run_dir).run()
    config = json.loads((run_dir / "config.json").read_text())
    assert "arbiter" not in config and "arbiter_options" not in config
    assert json.loads((run_dir / "probe" / "router.json").read_text())["name"] == "random"
    assert len(calls) == 1
    tasks, rl_cfg, kwargs = calls[0]
    model, tok = load_model_and_tokenizer(str(run_dir / "checkpoints" / "sft"))
    kwargs = {**kwargs, "work_dir": tmp_path / "replay-work", "on_step": None, "on_update": None}
    model, _, history = real(model, tok, tasks, rl_cfg, **kwargs)
    recorded = (run_dir / "rl" / "history.json").read_text()
    assert json.dumps(json.loads(recorded), sort_keys=True) == json.dumps(history, sort_keys=True)
    save_model(model, tok, tmp_path / "replay")
    assert weights_fingerprint(tmp_path / "replay") == weights_fingerprint(run_dir / "checkpoints" / "final")


def test_every_leaderboard_run_keeps_its_config_and_preset_fingerprints():
    from prism_gym.runner.presets import RunConfig
    from prism_gym.runner.result import preset_fingerprint

    results = sorted((ROOT / "leaderboard" / "runs").glob("*/result.json"))
    assert results
    for path in results:
        result = json.loads(path.read_text())
        cfg = RunConfig.from_dict(result["config"])
        assert cfg.fingerprint() == result["fingerprints"]["config"], path
        assert cfg.to_dict() == result["config"], path
        if "preset" in result["fingerprints"]:
            assert preset_fingerprint(cfg.to_dict()) == result["fingerprints"]["preset"], path


@pytest.mark.parametrize("name,options", [("relift", {"buffer_size": 1}), ("prism-reprobe", {"every": 1})])
def test_the_other_builtin_arbiters_run_end_to_end(tmp_path, micro_dir, name, options):
    from prism_gym.runner.presets import apply_overrides, make_config
    from prism_gym.runner.run import BenchRun

    cfg = apply_overrides(make_config("tiny", "echo", name, model=str(micro_dir), router_options=options), SETTINGS)
    result = BenchRun(cfg, tmp_path / name).run()
    assert result["router"]["name"] == name and result["config"]["arbiter_options"] == options
    history = json.loads((tmp_path / name / "rl" / "history.json").read_text())
    assert len(history) == 2 and sum(h["sft_tokens"] for h in history) > 0
    if name == "prism-reprobe":  # re-probed at each update, on the demonstrations of the unlearned tasks
        assert all(h["arbiter_probed"] > 0 for h in history)
    assert result["ledger"]["stages"]["rl"]["tokens_trained"] > 0
