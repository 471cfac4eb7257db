"""The arbiter plugin guide in README.md: its plugin is extracted and run as
written, its commands are run or validated, and the mixed loop trains with it
(SFT and RL terms both in one update) on a micro model."""
from __future__ import annotations

import json
import shlex

import pytest
from typer.testing import CliRunner

from prism_gym.arbitration import TaskOutcome, UpdateView, Weights
from prism_gym.records import Task, Trajectory, Turn
from test_routers_guide import guide_blocks as readme_guide_blocks
from test_routers_guide import install_guide_plugin


def guide_blocks() -> list[tuple[str, str]]:
    return readme_guide_blocks("arbiter")


@pytest.fixture()
def installed(tmp_path, monkeypatch):
    code = next(code for lang, code in guide_blocks() if lang == "python")
    return install_guide_plugin(code, tmp_path, "soft_gate", "soft_gate", monkeypatch)


def _demo(task: Task) -> Trajectory:
    return Trajectory(id=f"{task.id}#expert", task=task, turns=(Turn("You see a drawer.", "open drawer 2"),),
                      won=True, reward=1.0)


def test_guide_has_a_plugin_and_commands():
    assert [lang for lang, _ in guide_blocks()] == ["python", "bash"]


def test_guide_arbiter_weights_by_hand(installed):
    arbiter = installed.arbiter("soft-gate").build(floor=0.5)
    tasks = [Task(env="toy", split="train", instance=str(i), goal="g") for i in range(3)]
    outcomes = (TaskOutcome(tasks[0], _demo(tasks[0]), (0.0,) * 4, (False,) * 4),
                TaskOutcome(tasks[1], _demo(tasks[1]), (1.0, 1.0, 1.0, 0.0), (True, True, True, False)),
                TaskOutcome(tasks[2], None, (0.0,) * 4, (False,) * 4))
    view = UpdateView(update=0, updates=1, outcomes=outcomes, demonstrations={}, probe=lambda *a, **k: None)
    decision = arbiter.arbitrate(view)
    # failing 4/4 -> SFT 1; failing 1/4 -> the floor, 0.5; no demonstration -> no SFT
    assert decision.weights == {tasks[0].id: Weights(sft=1.0, rl=1.0), tasks[1].id: Weights(sft=0.5, rl=1.0),
                                tasks[2].id: Weights(sft=0.0, rl=1.0)}
    assert decision.notes["mean_sft"] == pytest.approx(1.5 / 3)


def test_guide_commands(installed):
    from prism_gym.cli import app

    list_cmd, bench_cmd = [shlex.split(line) for line in next(c for l, c in guide_blocks() if l == "bash").splitlines()]
    out = CliRunner().invoke(app, list_cmd[1:] + ["--json"])
    assert out.exit_code == 0, out.output
    rows = {row["name"]: row for row in json.loads(out.stdout)}
    assert rows["soft-gate"]["options"] == {"floor": 0.0}
    # the bench command's configuration is valid (running it takes minutes; the next test trains)
    out = CliRunner().invoke(app, bench_cmd[1:] + ["--validate-only"])
    assert out.exit_code == 0, out.output
    config = json.loads(out.stdout)[0]
    assert config["arbiter"] == "soft-gate" and config["arbiter_options"] == {"floor": 0.25}


def test_guide_arbiter_trains_both_losses_in_the_mixed_loop(installed, micro_lm, tmp_path):
    from prism_gym.runner.mixed import run_mixed
    from prism_gym.runner.presets import RLConfig
    from test_grpo import Collector, tasks

    model, tok = micro_lm
    task_list = tasks(4)
    cfg = RLConfig(iterations=2, tasks_per_iteration=2, group_size=4, learning_rate=0.05, max_new_tokens=1)
    _, cost, history = run_mixed(model, tok, task_list, {t.id: _demo(t) for t in task_list}, cfg,
                                 installed.arbiter("soft-gate").build(), seed=0, collect=Collector(tok),
                                 work_dir=tmp_path / "work")
    assert [h["rl_tasks"] for h in history] == [2, 2]
    assert all(h["sft_tokens"] > 0 and h["samples"] > 0 for h in history)  # both terms in each update
    assert all(h["loss"] == pytest.approx(h["rl_loss"] + h["sft_loss"]) for h in history)
    assert all("arbiter_mean_sft" in h for h in history)
    assert cost.tokens_trained > 0
