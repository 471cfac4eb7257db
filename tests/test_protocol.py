"""The evaluation protocol: resolved once by the runner, recorded in result.json
and the leaderboard entry, and replayed by `leaderboard verify` and
`prism-gym eval --protocol`. The replay tests run a real micro run (a real
agent and the real evaluation, on a test env) and verify it without fakes."""
from __future__ import annotations

import json
import shutil

import gymnasium as gym
import pytest
from plugin_registration import plugin_registered

from prism_gym import hookimpl
from prism_gym.protocol import EvaluationProtocol, ProtocolError, SplitPlan, load_protocol
from prism_gym.records import Task
from prism_gym.specs import EnvSpec


def _task(split: str, i: int) -> Task:
    return Task(env="tally", split=split, instance=str(i), task_type="say", goal="say apple")


def list_tally_tasks(split, limit=None, seed=0, **_):
    tasks = [_task(split, i) for i in range(8 if split == "train" else 4)]
    return tasks[:limit] if limit else tasks


class TallyEnv(gym.Env):
    """One answer per episode, won by the goal's word and otherwise scored by
    its length: an env where the answer budget decides the score, since an
    untrained micro model decoding freely answers up to its budget."""

    def __init__(self, expert_actions: bool = False, max_steps: int = 2):
        self.observation_space = gym.spaces.Text(max_length=10_000)
        self.action_space = gym.spaces.Text(max_length=10_000)
        self.expert_actions, self.max_steps = expert_actions, max_steps

    def _info(self, won=False, score=0.0):
        info = {"admissible_actions": ["apple", "pear"], "won": won, "task": self.task, "score": score,
                "is_action_valid": True}
        if self.expert_actions:
            info["expert_action"] = "apple"
        return info

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        options = options or {}
        self.task = options.get("task") or _task(options.get("split", "train"), int(options.get("instance", 0)))
        return f"You stand in a room. {self.task.goal}.", self._info()

    def step(self, action):
        won = action.strip() == "apple"
        score = 100.0 if won else min(99.0, float(len(action)))
        return "Done.", score / 100, True, False, self._info(won=won, score=score)


class TallyPlugin:
    @staticmethod
    @hookimpl
    def prism_gym_envs():
        return [EnvSpec(id="prism_gym_test/Tally-v0", name="tally", entry_point=TallyEnv, max_episode_steps=2,
                        splits=("train", "valid_seen", "valid_unseen"), eval_splits=("valid_seen", "valid_unseen"),
                        tasks=list_tally_tasks)]


@pytest.fixture(scope="module", autouse=True)
def tally_env():
    with plugin_registered(TallyPlugin, "tally-test"):
        yield


@pytest.fixture(scope="module")
def micro_run(tmp_path_factory, micro_tokenizer):
    """A finished sft-only run on a micro model whose answer budget the runner
    derived from the expert's answers (the tiny preset's), evaluated by
    sampling with free decoding, so that the budget shapes every answer."""
    from prism_gym.models import micro_model
    from prism_gym.runner.presets import apply_overrides, make_config
    from prism_gym.runner.run import BenchRun

    model_dir = tmp_path_factory.mktemp("micro")
    micro_model(micro_tokenizer, hidden_size=32, layers=2).save_pretrained(model_dir)
    micro_tokenizer.save_pretrained(model_dir)
    cfg = make_config("tiny", "tally", "sft-only", model=str(model_dir))
    apply_overrides(cfg, ["expert.trajectories=4", "expert.heldout=2", "sft.epochs=1", "sft.batch_size=4",
                          "eval.episodes=3", "eval.max_steps=2", "agent.decoding=free", "agent.slot_text=free"])
    assert cfg.eval.max_new_tokens is None and cfg.eval.temperature > 0
    root = tmp_path_factory.mktemp("runs")
    run = BenchRun(cfg, root / cfg.run_id())
    return run, run.run()


@pytest.fixture()
def submitted(micro_run, tmp_path, monkeypatch):
    """The micro run, copied under the working directory and submitted."""
    from prism_gym.leaderboard.submit import submit

    run, _ = micro_run
    monkeypatch.chdir(tmp_path)
    run_dir = tmp_path / "runs" / run.run_dir.name
    shutil.copytree(run.run_dir, run_dir)
    board = tmp_path / "leaderboard"
    return board, submit(run_dir, board / "entries"), run_dir


def test_the_run_records_the_budget_it_resolved(micro_run):
    from prism_gym.models import load_tokenizer
    from prism_gym.runner.run import expert_answer_budget

    run, result = micro_run
    budget = expert_answer_budget(run.run_dir, load_tokenizer(str(run.path("checkpoints", "final"))))
    assert budget != 48, "the test needs a derived budget other than the agent's default"
    protocol = EvaluationProtocol.from_dict(result["evaluation"])
    assert protocol.max_new_tokens == budget
    assert protocol.splits == (SplitPlan("valid_seen", 0, 3), SplitPlan("valid_unseen", 0, 3))
    assert (protocol.max_steps, protocol.temperature, protocol.decoding) == (2, 0.4, "free")
    assert json.loads(run.path("eval", "protocol.json").read_text()) == result["evaluation"]


def test_verify_reproduces_a_real_run_exactly(submitted):
    """No fakes: the entry's checkpoint, agent and evaluation, replayed."""
    from prism_gym.leaderboard.verify import verify

    board, entry_path, _ = submitted
    entry = json.loads(entry_path.read_text())
    assert isinstance(entry["evaluation"]["max_new_tokens"], int)
    record, _ = verify(entry_path, root=board, progress=False)
    assert record["outcome"] == "reproduced", record
    for split, row in record["splits"].items():
        assert row["measured"] == row["recorded"], split
        assert row["difference"] == {"success_rate": 0.0, "score": 0.0}
    assert record["protocol"] == entry["evaluation"] | {"decoding": "free", "slot_text": "free"}


def _restamped(entry_path, edit) -> None:
    """Rewrite an entry as an older prism-gym would have written it."""
    from prism_gym.leaderboard.fingerprint import entry_fingerprint

    entry = json.loads(entry_path.read_text())
    edit(entry)
    entry["entry_fingerprint"] = entry_fingerprint(entry)
    entry_path.write_text(json.dumps(entry, indent=2))


def test_verify_derives_an_old_entrys_budget_again_or_says_it_cannot(submitted):
    """An entry from before recorded budgets holds null: verify derives the
    budget from the run's expert answers as the run did, and never replays
    with the agent's default; without those answers it says so."""
    from prism_gym.leaderboard.verify import verify

    board, entry_path, run_dir = submitted
    _restamped(entry_path, lambda e: e["evaluation"].update(max_new_tokens=None))
    record, _ = verify(entry_path, root=board, progress=False)
    assert record["outcome"] == "reproduced", record
    assert all(row["measured"] == row["recorded"] for row in record["splits"].values())
    (run_dir / "expert" / "reference_actions.json").unlink()
    record, _ = verify(entry_path, root=board, progress=False)
    assert record["outcome"] == "unavailable" and "records no answer budget" in record["reason"]


def test_eval_cli_plays_a_recorded_protocol(micro_run, tmp_path):
    """`prism-gym eval --protocol` on the run's result.json plays every split
    as the run did and gets its numbers."""
    from typer.testing import CliRunner

    from prism_gym.cli import app

    run, result = micro_run
    out_json = tmp_path / "metrics.json"
    args = ["eval", "--env", "tally", "--model", str(run.path("checkpoints", "final")),
            "--protocol", str(run.path("result.json")), "--json", str(out_json)]
    out = CliRunner().invoke(app, args)
    assert out.exit_code == 0, out.output
    measured = json.loads(out_json.read_text())["per_split"]
    for split, recorded in result["metrics"]["per_split"].items():
        assert (measured[split]["success_rate"], measured[split]["score"]) == (recorded["success_rate"],
                                                                                 recorded["score"])
    refused = CliRunner().invoke(app, args + ["--episodes", "2"])
    assert refused.exit_code == 1 and "--episodes" in refused.output


def test_protocol_round_trip_and_old_records(tmp_path):
    protocol = EvaluationProtocol(splits=(SplitPlan("valid_seen", 0, 128),), max_new_tokens=24, max_steps=40,
                                  temperature=0.4, decoding="admissible", slot_text="goal-span")
    assert EvaluationProtocol.from_dict(protocol.to_dict()) == protocol
    # an entry from before sampled evaluation and admissible decoding: greedy, free, budget unknown
    old = EvaluationProtocol.from_dict({"splits": [{"split": "valid_seen", "seed": 0, "episodes": 4}],
                                        "max_steps": 30, "max_new_tokens": None})
    assert (old.temperature, old.decoding, old.budget_known) == (0.0, "free", False)
    with pytest.raises(ProtocolError, match="no answer budget"):
        old.llm_options()
    assert old.with_budget(16).llm_options() == {"do_sample": False, "temperature": 1.0, "max_new_tokens": 16,
                                                 "decoding": "free", "slot_text": "free"}
    for doc in (protocol.to_dict(), {"evaluation": protocol.to_dict(), "run_id": "x"}):
        path = tmp_path / "p.json"
        path.write_text(json.dumps(doc))
        assert load_protocol(path) == protocol
    path.write_text(json.dumps({"evaluation": None}))
    with pytest.raises(ProtocolError, match="no evaluation protocol"):
        load_protocol(path)
    with pytest.raises(ProtocolError, match="max_new_tokens"):
        EvaluationProtocol(splits=(SplitPlan("s", 0, 1),), max_new_tokens=0)
