"""Evaluation metrics and the `eval`, `expert` and `model path` commands, on the toy env."""
from __future__ import annotations

import json

from typer.testing import CliRunner

from test_agents_toyenv import list_tasks, toy_registry  # noqa: F401  (fixture)

from prism_gym.agents.baselines import ExpertAgent, RandomAgent
from prism_gym.cli import app
from prism_gym.evaluation import evaluate, summarize
from prism_gym.records import Task, Trajectory, Turn, read_trajectories

runner = CliRunner()


def test_expert_scores_full_success_with_per_type_breakdown(toy_registry):
    result = evaluate("toy", ExpertAgent("toy"), split="test", episodes=10, progress=False)
    assert result["episodes"] == 10 and result["success_rate"] == 1.0 and result["score"] == 100.0
    assert result["goal_condition_success"] == 1.0
    assert set(result["per_task_type"]) == {"near", "far"}
    assert sum(row["episodes"] for row in result["per_task_type"].values()) == 10


def test_random_agent_is_worse_and_split_is_capped(toy_registry):
    result = evaluate("toy", RandomAgent("toy"), split="test", episodes=128, progress=False)
    assert result["episodes"] == 12  # the toy test split has 12 tasks
    assert result["success_rate"] < 1.0
    far, near = result["per_task_type"]["far"], result["per_task_type"]["near"]
    assert far["success_rate"] <= near["success_rate"]


def test_summarize_means():
    def traj(i, won, score, task_type):
        return Trajectory(id=str(i), task=Task("webshop", "test", str(i), task_type=task_type),
                          turns=(Turn("o", "a"),), won=won, reward=score / 100, score=score)

    stats = summarize([traj(0, True, 100.0, "shoes"), traj(1, False, 50.0, "shoes"), traj(2, False, 0.0, "bags")])
    assert stats["success_rate"] == 1 / 3 and stats["score"] == 50.0
    assert stats["per_task_type"]["shoes"] == {"episodes": 2, "success_rate": 0.5, "score": 75.0, "mean_steps": 1.0,
                                               "malformed_action_rate": 0.0, "invalid_action_rate": 0.0}


def test_eval_command_prints_table_and_writes_json(toy_registry, tmp_path):
    out = tmp_path / "m.json"
    res = runner.invoke(app, ["eval", "--env", "toy", "--agent", "expert", "--episodes", "6", "--json", str(out)])
    assert res.exit_code == 0, res.output
    assert "success 100.00%" in res.output and "per task type" in res.output
    data = json.loads(out.read_text())
    assert data["split"] == "test" and data["episodes"] == 6 and data["success_rate"] == 1.0


def test_eval_command_errors_are_one_line(toy_registry):
    res = runner.invoke(app, ["eval", "--env", "nope", "--agent", "expert"])
    assert res.exit_code == 1 and "unknown env 'nope'" in res.output
    res = runner.invoke(app, ["eval", "--env", "toy", "--agent", "expert", "--split", "valid"])
    assert res.exit_code == 1 and "no split 'valid'" in res.output
    res = runner.invoke(app, ["eval", "--env", "toy", "--agent", "random", "--model", "x"])
    assert res.exit_code == 1 and "--model applies to the llm agent only" in res.output


def test_expert_command_writes_trajectories(toy_registry, tmp_path):
    out = tmp_path / "expert.jsonl"
    res = runner.invoke(app, ["expert", "--env", "toy", "--split", "train", "--episodes", "7", "--out", str(out)])
    assert res.exit_code == 0, res.output
    trajectories = read_trajectories(out)
    assert [t.task.id for t in trajectories] == [t.id for t in list_tasks("train", limit=7)]
    assert all(t.won and t.agent == "expert" and t.turns[-1].action == "take key" for t in trajectories)


def test_model_path_command(tmp_path, monkeypatch):
    """The shipped model is found with an empty cache; without it (another
    recipe), the cache path is named and nothing is built yet."""
    from prism_gym.agents import default_model

    monkeypatch.setenv("PRISM_GYM_CACHE", str(tmp_path))
    res = runner.invoke(app, ["model", "path", "--json"])
    assert res.exit_code == 0
    info = json.loads(res.output)
    assert info == {"path": str(default_model.SHIPPED_DIR), "built": True, "where": "shipped"}
    monkeypatch.setattr(default_model, "SHIPPED_DIR", tmp_path / "nothing-shipped")
    info = json.loads(runner.invoke(app, ["model", "path", "--json"]).output)
    assert info["path"].startswith(str(tmp_path / "models")) and info["built"] is False
    assert info["where"] == "not built"


def test_evaluation_records_every_episode_in_task_order(toy_registry):
    result = evaluate("toy", RandomAgent("toy", seed=3), split="test", episodes=8, progress=False,
                      return_trajectories=True)
    outcomes = result["outcomes"]
    played = result["trajectories"]
    assert outcomes["task_ids"] == [t.id for t in list_tasks("test")[:8]]
    assert outcomes["won"] == [int(t.won) for t in played]
    assert outcomes["score"] == [t.score for t in played]
    assert sum(outcomes["won"]) / 8 == result["success_rate"]



def test_model_build_reads_recipe_settings_and_refuses_bad_ones_before_building(tmp_path, monkeypatch):
    from prism_gym.agents import default_model
    from prism_gym.cli.model import build_settings

    settings = build_settings(3, ["train_steps=20000", "copy_share=0.25", "envs=alfworld, webshop",
                                  "copy_warmup_lengths=16, 48"])
    assert (settings.seed, settings.train_steps, settings.copy_share) == (3, 20000, 0.25)
    assert settings.envs == ("alfworld", "webshop") and settings.layers == default_model.BuildSettings().layers
    assert settings.copy_warmup_lengths == (16, 48)  # a tuple of ints stays one

    def no_build(*a, **k):
        raise AssertionError("built despite a bad setting")

    monkeypatch.setattr(default_model, "build_default_model", no_build)
    monkeypatch.setenv("PRISM_GYM_CACHE", str(tmp_path))
    for args, message in ((["--set", "nope=1"], "expected key=value"),
                          (["--set", "train_steps=many"], "train_steps must be an int"),
                          (["--set", "copy_share=1"], "copy_share must be in [0, 1)"),
                          (["--set", "seq_len=0"], "seq_len must be at least 1"),
                          (["--set", "copy_warmup_lengths=32,4"], "copy_warmup_lengths must be row lengths"),
                          (["--set", "copy_warmup_lengths=32,x"], "copy_warmup_lengths must be"),
                          (["--device", "no-such-device"], "--device no-such-device")):
        res = runner.invoke(app, ["model", "build", *args])
        assert res.exit_code == 1 and message in res.output, (args, res.output)
    assert not (tmp_path / "models").exists()
