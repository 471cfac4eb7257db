"""`leaderboard verify`: re-run an entry's evaluation from its checkpoint (the
evaluation itself is monkeypatched: these tests check the protocol, the
comparison and the record, not the environments)."""
from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from prism_gym.leaderboard.fingerprint import weights_fingerprint
from prism_gym.leaderboard.loading import LeaderboardError, load_json_file
from prism_gym.leaderboard.reference import reference_entries, reference_filename
from prism_gym.leaderboard.render import render
from prism_gym.leaderboard.submit import submit
from prism_gym.leaderboard.verify import verify
from test_leaderboard import SUBMITTED, config_fingerprint, make_result, make_run


class FakeEvaluate:
    """Stands in for prism_gym.evaluation.evaluate; records its calls."""

    def __init__(self, success=0.5, score=None):
        self.success, self.score, self.calls = success, score, []

    def __call__(self, env_name, agent, *, split, episodes, seed, max_steps=None, progress=True):
        self.calls.append({"env": env_name, "agent": agent, "split": split, "episodes": episodes, "seed": seed,
                           "max_steps": max_steps})
        score = 100 * self.success if self.score is None else self.score
        return {"success_rate": self.success, "score": score, "episodes": episodes, "per_task_type": {}}


def fake_agent_factory(calls):
    def factory(env_name, checkpoint, protocol, *, device):
        decoding = (protocol.decoding, protocol.slot_text)
        calls.append((env_name, checkpoint.name, protocol.max_new_tokens, device, protocol.temperature)
                     + (decoding if decoding != ("free", "free") else ()))
        return "agent"
    return factory


@pytest.fixture()
def submitted(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    board = tmp_path / "leaderboard"
    run_dir = make_run(tmp_path / "runs", make_result(success=0.5))
    return board, submit(run_dir, board / "entries", submitted=SUBMITTED), run_dir


def test_verify_reproduces_with_the_entrys_protocol(submitted):
    board, entry_path, _ = submitted
    evaluate, built = FakeEvaluate(success=0.5 + 0.02), []
    record, path = verify(entry_path, root=board, evaluate=evaluate, agent_factory=fake_agent_factory(built),
                          progress=False)
    assert record["outcome"] == "reproduced" and path == board / "verifications" / entry_path.name
    assert built == [("alfworld", "final", 24, None, 0.0)]  # no recorded temperature: greedy
    # the step limit caps the rollout, as in the runner's evaluation (not an env option the env may not take)
    assert [(c["split"], c["seed"], c["episodes"], c["max_steps"]) for c in evaluate.calls] == [
        ("valid_seen", 0, 4, 30), ("valid_unseen", 1, 4, 30)]
    assert record["splits"]["valid_seen"]["difference"]["success_rate"] == pytest.approx(0.02)
    assert load_json_file(path)["outcome"] == "reproduced"
    render(board)
    assert "| verified |" in (board / "README.md").read_text()


def test_verify_samples_at_the_recorded_temperature(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = make_result(success=0.5)
    result["config"]["eval"]["temperature"] = 0.4
    result["fingerprints"]["config"] = config_fingerprint(result["config"])
    run_dir = make_run(tmp_path / "runs", result)
    board = tmp_path / "leaderboard"
    entry_path = submit(run_dir, board / "entries", submitted=SUBMITTED)
    assert json.loads(entry_path.read_text())["evaluation"]["temperature"] == 0.4
    built = []
    verify(entry_path, root=board, evaluate=FakeEvaluate(), agent_factory=fake_agent_factory(built), progress=False)
    assert built == [("alfworld", "final", 24, None, 0.4)]


def test_verify_decodes_as_the_run_did(tmp_path, monkeypatch):
    """A run that decoded within the admissible actions records it (from its
    config when its evaluation block predates the field), and verify builds
    its agent that way; a run without the setting decoded freely."""
    monkeypatch.chdir(tmp_path)
    result = make_result(success=0.5)
    result["config"]["agent"] = {"decoding": "admissible", "slot_text": "goal-span"}
    result["fingerprints"]["config"] = config_fingerprint(result["config"])
    run_dir = make_run(tmp_path / "runs", result)
    board = tmp_path / "leaderboard"
    entry_path = submit(run_dir, board / "entries", submitted=SUBMITTED)
    protocol = json.loads(entry_path.read_text())["evaluation"]
    assert (protocol["decoding"], protocol["slot_text"]) == ("admissible", "goal-span")
    built = []
    verify(entry_path, root=board, evaluate=FakeEvaluate(), agent_factory=fake_agent_factory(built), progress=False)
    assert built == [("alfworld", "final", 24, None, 0.0, "admissible", "goal-span")]


def test_verify_outside_tolerance_is_not_reproduced(submitted):
    board, entry_path, _ = submitted
    record, path = verify(entry_path, root=board, evaluate=FakeEvaluate(success=0.25),
                          agent_factory=fake_agent_factory([]), progress=False)
    assert record["outcome"] == "not reproduced"
    assert record["reason"] == "splits outside tolerance: valid_seen, valid_unseen"
    record, _ = verify(entry_path, root=board, evaluate=FakeEvaluate(success=0.25), success_tol=0.3, score_tol=30,
                       agent_factory=fake_agent_factory([]), progress=False)
    assert record["outcome"] == "reproduced" and record["tolerance"] == {"success_rate": 0.3, "score": 30}
    record, _ = verify(entry_path, root=board, evaluate=FakeEvaluate(success=0.5, score=45.0),
                       agent_factory=fake_agent_factory([]), progress=False)
    assert record["outcome"] == "not reproduced"  # success agrees, score is 5 points off
    render(board)
    assert "| verification failed |" in (board / "README.md").read_text()


def test_verify_detects_a_changed_checkpoint(submitted):
    board, entry_path, run_dir = submitted
    (run_dir / "checkpoints" / "final" / "model.safetensors").write_bytes(b"retrained")
    evaluate = FakeEvaluate()
    record, _ = verify(entry_path, root=board, evaluate=evaluate, agent_factory=fake_agent_factory([]))
    assert record["outcome"] == "fingerprint mismatch" and "hash to sha256:" in record["reason"]
    assert evaluate.calls == []


def test_verify_without_checkpoint_is_unavailable(submitted, tmp_path):
    board, entry_path, run_dir = submitted
    moved = tmp_path / "elsewhere"
    shutil.move(str(run_dir), moved)
    record, _ = verify(entry_path, root=board, evaluate=FakeEvaluate(), agent_factory=fake_agent_factory([]))
    assert record["outcome"] == "unavailable" and "--run-dir" in record["reason"]
    record, _ = verify(entry_path, root=board, run_dir=moved, evaluate=FakeEvaluate(),
                       agent_factory=fake_agent_factory([]), progress=False)
    assert record["outcome"] == "reproduced"


def test_verify_refuses_reference_and_invalid_entries(tmp_path):
    entry = reference_entries()[0]
    path = tmp_path / reference_filename(entry)
    path.write_text(json.dumps(entry))
    with pytest.raises(LeaderboardError, match="reference entry"):
        verify(path, root=tmp_path, evaluate=FakeEvaluate(), agent_factory=fake_agent_factory([]))
    entry["metrics"]["success_rate"] = 3
    path.write_text(json.dumps(entry))
    with pytest.raises(LeaderboardError, match="cannot verify an invalid entry"):
        verify(path, root=tmp_path, evaluate=FakeEvaluate(), agent_factory=fake_agent_factory([]))


def test_verify_builds_the_llm_agent_on_a_real_checkpoint(tmp_path, monkeypatch, micro_lm):
    """The default agent factory loads the checkpoint through the `llm` agent plugin."""
    monkeypatch.chdir(tmp_path)
    model, tokenizer = micro_lm
    result = make_result()
    run_dir = tmp_path / "runs" / result["run_id"]
    final = run_dir / "checkpoints" / "final"
    model.save_pretrained(final, safe_serialization=True)
    tokenizer.save_pretrained(final)
    result["fingerprints"]["checkpoint"] = weights_fingerprint(final)
    (run_dir / "result.json").write_text(json.dumps(result))
    entry_path = submit(run_dir, tmp_path / "leaderboard" / "entries", submitted=SUBMITTED)
    evaluate = FakeEvaluate()
    monkeypatch.setattr("prism_gym.evaluation.evaluate", evaluate)
    record, _ = verify(entry_path, root=tmp_path / "leaderboard", progress=False)
    assert record["outcome"] == "reproduced"
    agent = evaluate.calls[0]["agent"]
    assert agent.name == "llm" and agent.do_sample is False and agent.max_new_tokens == 24
    assert agent.env_name == "alfworld"


def test_cli_verify(submitted, monkeypatch):
    from prism_gym.cli import app
    import prism_gym.leaderboard.verify as verify_module

    board, entry_path, _ = submitted
    monkeypatch.setattr(verify_module, "build_llm_agent", fake_agent_factory([]))
    monkeypatch.setattr(verify_module, "_default_evaluate", FakeEvaluate(success=0.5))
    out = CliRunner().invoke(app, ["leaderboard", "verify", str(entry_path), "--root", str(board)])
    assert out.exit_code == 0, out.output
    assert "outcome: reproduced" in out.output and "valid_seen: success 0.5000 -> 0.5000" in out.output
    monkeypatch.setattr(verify_module, "_default_evaluate", FakeEvaluate(success=0.0))
    out = CliRunner().invoke(app, ["leaderboard", "verify", str(entry_path), "--root", str(board)])
    assert out.exit_code == 1 and "outcome: not reproduced" in out.output


def test_cli_verify_exits_2_when_the_checkpoint_is_unavailable(submitted, tmp_path):
    from prism_gym.cli import app

    board, entry_path, run_dir = submitted
    shutil.move(str(run_dir), tmp_path / "elsewhere")
    out = CliRunner().invoke(app, ["leaderboard", "verify", str(entry_path), "--root", str(board),
                                   "--success-tol", "0.1"])
    assert out.exit_code == 2, out.output
    assert "outcome: unavailable" in out.output
