"""Leaderboard: schema, submit, validate and every bad-input case."""
from __future__ import annotations

import copy
import json
import os
import pickle
from datetime import datetime, timezone
from pathlib import Path

import pytest
from typer.testing import CliRunner

from prism_gym.leaderboard.fingerprint import (config_fingerprint, entry_fingerprint, run_fingerprint,
                                               weights_fingerprint)
from prism_gym.leaderboard.loading import MAX_FILE_BYTES, LeaderboardError, load_json_file
from prism_gym.leaderboard.reference import reference_entries, reference_filename
from prism_gym.leaderboard.schema import REPORTED_NOTE, entry_problems, result_problems
from prism_gym.leaderboard.submit import SubmissionError, submit
from prism_gym.leaderboard.validate import entry_files, validate_files

REPO = Path(__file__).resolve().parents[1]
SUBMITTED = datetime(2026, 11, 26, 18, 0, tzinfo=timezone.utc)
LEDGER_ROW = {"wall_s": 10.0, "tokens_forwarded": 1000, "tokens_trained": 500, "tokens_generated": 200,
              "flops": 2.5e12, "env_steps": 40}


def make_result(run_id="alfworld-prism-tiny-s0", *, router="prism", metric="gini", seed=0, success=0.5,
                baseline=None, flops=2.5e12) -> dict:
    config = {"env": "alfworld", "router": router, "preset": "tiny", "seed": seed, "model": None, "device": "cpu",
              "router_options": {"metric": metric} if metric else {}, "baseline": baseline,
              "eval": {"episodes": 4, "splits": [], "max_steps": 30, "max_new_tokens": 24}}
    stages = {name: dict(LEDGER_ROW) for name in ("expert", "probe", "sft", "rl", "eval")}
    total = {k: sum(s[k] for s in stages.values()) for k in LEDGER_ROW}
    total["flops"] = flops
    return {
        "schema_version": 1, "run_id": run_id, "created": "2026-11-26T17:00:00+00:00",
        "code_version": "0.1.0+gabc1234", "preset": "tiny", "track": "tiny",
        "router": {"name": router, "settings": {"metric": metric, "rl_fraction": None} if metric else {}},
        "baseline": baseline,
        "model": {"name": "default", "parameters": 3_000_000, "fingerprint": "sha256:" + "a" * 64},
        "env": {"name": "alfworld", "id": "prism_gym/ALFWorld-v0", "version": "0.1.0",
                "data_fingerprint": "sha256:" + "b" * 64},
        "seed": seed,
        "routing": {"trajectories": 64, "sft": 32, "rl": 32},
        "metrics": {"success_rate": success, "score": 100 * success,
                    "per_split": {"valid_seen": {"success_rate": success, "score": 100 * success, "episodes": 4},
                                  "valid_unseen": {"success_rate": success, "score": 100 * success, "episodes": 4}},
                    "per_task_type": {"pick_and_place_simple": {"success_rate": success, "score": 100 * success,
                                                                "episodes": 8, "goal_condition_success": 0.5}}},
        "ledger": {"stages": stages, "total": total},
        "relative_cost": {"vs_rl_only": 0.4, "vs_sft_then_rl": None},
        "fingerprints": {"config": config_fingerprint(config), "data_split": "sha256:" + "c" * 64,
                         "checkpoint": None},
        "checkpoint": "checkpoints/final",
        "config": config,
    }


def make_run(parent: Path, result: dict | None = None, *, weights: bytes = b"weights-0", raw: str | None = None) -> Path:
    """A run directory as the runner leaves it: result.json and a checkpoint."""
    result = result or make_result()
    run_dir = parent / result.get("run_id", "run")
    final = run_dir / "checkpoints" / "final"
    final.mkdir(parents=True)
    (final / "model.safetensors").write_bytes(weights)
    (final / "config.json").write_text("{}")
    if isinstance(result.get("fingerprints"), dict) and result["fingerprints"].get("checkpoint", 1) is None:
        result["fingerprints"]["checkpoint"] = weights_fingerprint(final)
    (run_dir / "result.json").write_text(raw if raw is not None else json.dumps(result, indent=1))
    return run_dir


@pytest.fixture()
def board(tmp_path, monkeypatch):
    """An empty leaderboard and a runs folder; the working directory is tmp_path."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    return tmp_path / "leaderboard"


def _submit(board, result=None, **kw):
    run_dir = make_run(board.parent / "runs", result, **kw)
    return submit(run_dir, board / "entries", submitted=SUBMITTED)


def _problems_text(exc_info) -> str:
    return "\n".join(exc_info.value.problems) if hasattr(exc_info.value, "problems") else str(exc_info.value)


# -- the committed leaderboard ------------------------------------------------------------

def test_committed_entries_validate():
    files = entry_files(REPO / "leaderboard" / "entries")
    assert files, "the reference entries are committed"
    assert validate_files(files) == []


def test_committed_reference_entries_are_the_papers_numbers():
    entries = reference_entries()
    for entry in entries:
        path = REPO / "leaderboard" / "entries" / reference_filename(entry)
        assert json.loads(path.read_text()) == entry
        assert entry["reported"]["note"] == REPORTED_NOTE and entry["track"] == "full"
    by_name = {e["name"]: e for e in entries}
    gini = by_name["paper-alfworld-qwen3-8b-prism-gini"]["metrics"]["per_split"]
    assert gini["valid_seen"]["success_rate"] == 122 / 128 and gini["valid_unseen"]["success_rate"] == 102 / 128
    webshop = by_name["paper-webshop-llama-31-8b-prism-gini"]["metrics"]
    assert webshop["success_rate"] == 88 / 128 and webshop["score"] == 84.82
    assert by_name["paper-alfworld-qwen3-8b-grpo"]["reported"]["wall_s"] == 36 * 3600 + 13 * 60


def test_cli_validate_passes_on_committed_entries(monkeypatch):
    from prism_gym.cli import app

    monkeypatch.chdir(REPO)
    out = CliRunner().invoke(app, ["leaderboard", "validate"])
    assert out.exit_code == 0, out.output
    assert "valid" in out.output


# -- submit ----------------------------------------------------------------------------------

def test_submit_writes_a_valid_entry(board):
    path = _submit(board)
    assert path == board / "entries" / "2026-11-26_alfworld-prism-tiny-s0.json"
    entry = load_json_file(path)
    assert entry_problems(entry) == [] and validate_files([path]) == []
    assert entry["label"] == "prism (gini)" and entry["seeds"] == [0] and entry["kind"] == "run"
    assert entry["provenance"]["checkpoint_checked"] is True
    assert entry["provenance"]["run_dir"] == "runs/alfworld-prism-tiny-s0"
    assert entry["fingerprints"]["run"] == run_fingerprint(entry["fingerprints"], 0)
    assert entry["evaluation"] == {"splits": [{"split": "valid_seen", "seed": 0, "episodes": 4},
                                              {"split": "valid_unseen", "seed": 1, "episodes": 4}],
                                   "max_steps": 30, "max_new_tokens": 24, "temperature": 0.0}
    # extra result fields are not carried into the entry (the entry schema is strict)
    assert "goal_condition_success" not in entry["metrics"]["per_task_type"]["pick_and_place_simple"]
    assert "config" not in entry


def test_entries_name_the_rl_algorithm_that_trained_the_rl_share(board):
    gigpo = make_result("alfworld-prism-gigpo-tiny-s0")
    gigpo["config"]["rl"] = {"algorithm": "gigpo", "algorithm_options": {}, "dynamic_sampling": False}
    gigpo["fingerprints"]["config"] = config_fingerprint(gigpo["config"])
    entry = load_json_file(_submit(board, gigpo))
    assert (entry["rl_algorithm"], entry["label"]) == ("gigpo", "prism (gini) + gigpo")
    assert entry_problems(entry) == []
    plain = load_json_file(_submit(board, make_result("alfworld-random-tiny-s0", router="random", metric=None),
                                   weights=b"w-random"))
    assert (plain["rl_algorithm"], plain["label"]) == ("grpo", "random")
    # sft-only has no RL stage, whatever its config says
    sft = make_result("alfworld-sft-only-tiny-s0", router="all-sft", metric=None, baseline="sft-only")
    sft["config"]["rl"] = {"algorithm": "gigpo"}
    sft["fingerprints"]["config"] = config_fingerprint(sft["config"])
    entry = load_json_file(_submit(board, sft, weights=b"w-sft"))
    assert (entry["rl_algorithm"], entry["label"]) == (None, "sft-only")


def test_submit_without_checkpoint_on_disk_is_accepted_unchecked(board):
    run_dir = make_run(board.parent / "runs")
    fps = json.loads((run_dir / "result.json").read_text())["fingerprints"]
    assert fps["checkpoint"].startswith("sha256:")
    for f in (run_dir / "checkpoints" / "final").iterdir():
        f.unlink()
    (run_dir / "checkpoints" / "final").rmdir()
    entry = load_json_file(submit(run_dir, board / "entries", submitted=SUBMITTED))
    assert entry["provenance"]["checkpoint_checked"] is False


def test_cli_submit_and_render(board):
    from prism_gym.cli import app

    run_dir = make_run(board.parent / "runs")
    runner = CliRunner()
    out = runner.invoke(app, ["leaderboard", "submit", str(run_dir), "--root", str(board)])
    assert out.exit_code == 0, out.output
    assert len(list((board / "entries").glob("*.json"))) == 1
    out = runner.invoke(app, ["leaderboard", "submit", str(run_dir), "--root", str(board)])
    assert out.exit_code == 1 and "duplicate submission" in out.output
    out = runner.invoke(app, ["leaderboard", "render", "--root", str(board)])
    assert out.exit_code == 0, out.output
    assert (board / "README.md").is_file() and (board / "pareto.png").is_file() and (board / "index.html").is_file()


# -- bad input: each case rejected with a clear message ------------------------------------

def test_malformed_json_result_is_rejected(board):
    with pytest.raises(LeaderboardError, match=r"malformed JSON at line 1, column \d+"):
        _submit(board, raw='{"schema_version": 1, "run_id": ')


def test_malformed_json_entry_is_one_problem_line(tmp_path):
    bad = tmp_path / "2026-11-26_broken.json"
    bad.write_text("{ not json")
    problems = validate_files([bad])
    assert len(problems) == 1 and "malformed JSON" in problems[0] and str(bad) in problems[0]


def test_not_an_object_and_not_utf8_are_rejected(tmp_path):
    listing = tmp_path / "2026-11-26_list.json"
    listing.write_text("[1, 2]")
    pickled = tmp_path / "2026-11-26_pickle.json"
    pickled.write_bytes(pickle.dumps({"a": 1}))  # data only: a pickle is never unpickled
    problems = validate_files([listing, pickled])
    assert "top level must be a JSON object" in problems[0]
    assert "not UTF-8" in problems[1] or "malformed JSON" in problems[1]


def test_unknown_schema_version_is_rejected(board, tmp_path):
    result = make_result()
    result["schema_version"] = 3
    with pytest.raises(SubmissionError) as info:
        _submit(board, result)
    assert "unknown result.json schema version 3" in _problems_text(info)
    entry = copy.deepcopy(reference_entries()[0])
    entry["schema_version"] = 99
    assert entry_problems(entry) == ["schema_version: unknown entry schema version 99 (this prism-gym reads "
                                     "versions 1, 2 and 3)"]


def test_missing_fields_are_each_named(board):
    result = make_result()
    del result["metrics"]
    del result["ledger"]["total"]
    del result["fingerprints"]["data_split"]
    with pytest.raises(SubmissionError) as info:
        _submit(board, result)
    text = _problems_text(info)
    assert "metrics: missing field" in text and "ledger.total: missing field" in text
    assert "fingerprints.data_split: missing field" in text
    entry = copy.deepcopy(reference_entries()[0])
    del entry["label"]
    assert "label: missing field" in entry_problems(entry)


def test_nan_and_infinity_are_rejected(board):
    raw = json.dumps(make_result()).replace('"success_rate": 0.5', '"success_rate": NaN', 1)
    with pytest.raises(LeaderboardError, match="NaN"):
        _submit(board, raw=raw)
    entry = copy.deepcopy(reference_entries()[0])
    entry["metrics"]["success_rate"] = float("nan")
    entry["metrics"]["per_split"]["valid_seen"]["score"] = float("inf")
    problems = entry_problems(entry)
    assert any("metrics.success_rate: nan is not a finite number" in p for p in problems)
    assert any("metrics.per_split.valid_seen.score: inf is not a finite number" in p for p in problems)


def test_negative_metrics_are_rejected(board):
    result = make_result()
    result["ledger"]["stages"]["rl"]["flops"] = -5
    result["metrics"]["per_split"]["valid_seen"]["success_rate"] = -0.25
    with pytest.raises(SubmissionError) as info:
        _submit(board, result)
    text = _problems_text(info)
    assert "ledger.stages.rl.flops: -5 is negative" in text
    assert "metrics.per_split.valid_seen.success_rate: -0.25 is negative" in text


def test_out_of_range_metrics_are_rejected(board):
    result = make_result()
    result["metrics"]["success_rate"] = 1.5
    result["metrics"]["per_task_type"]["pick_and_place_simple"]["score"] = 120
    result["metrics"]["per_split"]["valid_unseen"]["episodes"] = 0
    result["routing"]["rl"] = 65
    with pytest.raises(SubmissionError) as info:
        _submit(board, result)
    text = _problems_text(info)
    assert "metrics.success_rate: 1.5 is out of range (allowed range [0, 1])" in text
    assert "metrics.per_task_type.pick_and_place_simple.score: 120 is out of range (allowed range [0, 100])" in text
    assert "metrics.per_split.valid_unseen.episodes: 0 is below the minimum" in text
    assert "routing.rl: 65 trajectories is more than the 64 routed" in text


def test_wrong_types_are_rejected():
    entry = copy.deepcopy(reference_entries()[0])
    entry["metrics"]["success_rate"] = True  # a boolean is not a number
    entry["seeds"] = "0"
    entry["router"]["settings"]["metric"] = {"nested": "object"}
    problems = entry_problems(entry)
    assert "metrics.success_rate: must be a number, got a boolean" in problems
    assert "seeds: must be a list, got a string" in problems
    assert any(p.startswith("router.settings.metric: must be a string, number, boolean, null") for p in problems)


def test_oversized_files_are_rejected(board, tmp_path):
    result = make_result()
    result["notes"] = "x" * MAX_FILE_BYTES
    with pytest.raises(LeaderboardError, match=f"over the limit of {MAX_FILE_BYTES} bytes"):
        _submit(board, result)
    big = tmp_path / "2026-11-26_big.json"
    big.write_text(" " * (MAX_FILE_BYTES + 1) + "{}")
    assert "over the limit" in validate_files([big])[0]


def test_path_traversal_and_odd_names_are_rejected(board):
    for run_id in ("../../etc/passwd", "..", "a/b", ".hidden", "name with space", "semi;colon", "x" * 101):
        result = make_result(run_id=run_id)
        run_dir = board.parent / "runs" / "odd"
        if run_dir.exists():
            import shutil

            shutil.rmtree(run_dir)
        final = run_dir / "checkpoints" / "final"
        final.mkdir(parents=True)
        (final / "model.safetensors").write_bytes(b"w")
        result["fingerprints"]["checkpoint"] = weights_fingerprint(final)
        (run_dir / "result.json").write_text(json.dumps(result))
        with pytest.raises(SubmissionError) as info:
            submit(run_dir, board / "entries", submitted=SUBMITTED)
        assert "run_id" in _problems_text(info), run_id
    assert not (board / "entries").exists() or not any((board / "entries").iterdir())
    assert not (board.parent / "etc").exists()


def test_checkpoint_path_traversal_is_rejected(board):
    for bad in ("../../outside", "/etc", "checkpoints/../../.."):
        result = make_result()
        result["checkpoint"] = bad
        result["fingerprints"]["checkpoint"] = "sha256:" + "d" * 64
        run_dir = board.parent / "runs" / f"r{abs(hash(bad))}"
        run_dir.mkdir()
        (run_dir / "result.json").write_text(json.dumps(result))
        with pytest.raises(SubmissionError, match="path traversal"):
            submit(run_dir, board / "entries", submitted=SUBMITTED)


def test_entry_file_names_are_checked(board, tmp_path):
    path = _submit(board)
    for name in ("bad name.json", "2026-11-26_other-name.json", "2025-01-01_alfworld-prism-tiny-s0.json"):
        other = tmp_path / name
        other.write_bytes(path.read_bytes())
        problems = validate_files([other])
        assert problems and all(str(other) in p for p in problems), name
    assert "does not have the form" in validate_files([tmp_path / "bad name.json"])[0]


def test_symlinked_entry_is_rejected(board, tmp_path):
    path = _submit(board)
    link = tmp_path / "2026-11-26_alfworld-prism-tiny-s0.json"
    os.symlink(path, link)
    assert "symbolic link" in validate_files([link])[0]


def test_repeated_keys_are_rejected(tmp_path):
    path = tmp_path / "2026-11-26_x.json"
    path.write_text('{"schema_version": 1, "schema_version": 2}')
    assert "key 'schema_version' appears twice" in validate_files([path])[0]


def test_duplicate_submission_is_rejected(board):
    first = _submit(board)
    run_dir = board.parent / "runs" / "alfworld-prism-tiny-s0"
    with pytest.raises(SubmissionError, match="duplicate submission: run 'alfworld-prism-tiny-s0' is already"):
        submit(run_dir, board / "entries", submitted=SUBMITTED)
    # the same run copied under another name is still the same run
    copy_dir = board.parent / "runs" / "copy"
    import shutil

    shutil.copytree(run_dir, copy_dir)
    result = json.loads((copy_dir / "result.json").read_text())
    result["run_id"] = "copy"
    (copy_dir / "result.json").write_text(json.dumps(result))
    with pytest.raises(SubmissionError, match="duplicate submission"):
        submit(copy_dir, board / "entries", submitted=SUBMITTED)
    assert sorted(p.name for p in (board / "entries").iterdir()) == [first.name]


def test_duplicates_across_files_fail_validation(board):
    path = _submit(board)
    twin = path.parent / "2026-11-26_twin.json"
    entry = load_json_file(path)
    entry["name"] = "twin"
    entry["entry_fingerprint"] = entry_fingerprint(entry)
    twin.write_text(json.dumps(entry))
    problems = validate_files([path, twin])
    assert problems == [f"{twin}: duplicate submission: records the same run as {path}"]


def test_existing_entry_is_never_overwritten(board):
    path = _submit(board)
    before = path.read_bytes()
    rerun = make_result(success=0.75)  # another run (other checkpoint) with the same id and date
    with pytest.raises(SubmissionError, match="already exists; entries are never overwritten"):
        submit(make_run(board.parent / "runs" / "again", rerun, weights=b"weights-1"), board / "entries",
               submitted=SUBMITTED)
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left behind


def test_checkpoint_fingerprint_mismatch_is_rejected(board):
    run_dir = make_run(board.parent / "runs")
    (run_dir / "checkpoints" / "final" / "model.safetensors").write_bytes(b"changed after the run")
    with pytest.raises(SubmissionError, match="fingerprint mismatch: the checkpoint checkpoints/final hashes to"):
        submit(run_dir, board / "entries", submitted=SUBMITTED)


def test_config_fingerprint_mismatch_is_rejected(board):
    result = make_result()
    result["config"]["seed"] = 7  # config edited, fingerprint left as it was
    with pytest.raises(SubmissionError, match="fingerprint mismatch: the config in result.json hashes to"):
        _submit(board, result)


def test_edited_entry_fails_its_fingerprint(board):
    path = _submit(board)
    entry = load_json_file(path)
    entry["metrics"]["success_rate"] = 0.99
    path.write_text(json.dumps(entry))
    problems = validate_files([path])
    assert len(problems) == 1 and "entry_fingerprint: fingerprint mismatch" in problems[0]
    entry = load_json_file(path)
    entry["fingerprints"]["checkpoint"] = "sha256:" + "e" * 64
    entry["entry_fingerprint"] = entry_fingerprint(entry)
    path.write_text(json.dumps(entry))
    assert "fingerprints.run: fingerprint mismatch" in validate_files([path])[0]


def test_unknown_entry_fields_and_kind_rules():
    entry = copy.deepcopy(reference_entries()[0])
    entry["exec"] = "__import__('os').system('true')"  # never evaluated; just an unknown field
    entry["reported"]["note"] = "reproduced"
    entry["track"] = "tiny"
    entry["entry_fingerprint"] = entry_fingerprint(entry)
    problems = entry_problems(entry)
    assert "exec: unknown field" in problems
    assert any(p.startswith("reported.note: 'reproduced' is not one of") for p in problems)


def test_tiny_track_requires_the_default_model(board):
    result = make_result()
    result["model"]["name"] = "Qwen/Qwen3-8B"
    assert any("tiny track is for the embedded default model" in p for p in result_problems(result))
    entry = load_json_file(_submit(board))
    assert entry["track"] == "tiny" and entry_problems(entry) == []
    entry["model"]["name"] = "Qwen/Qwen3-8B"
    entry["entry_fingerprint"] = entry_fingerprint(entry)
    assert entry_problems(entry) == ["track: the tiny track is for the embedded default model, but model.name is "
                                     "'Qwen/Qwen3-8B'"]


def test_cli_validate_reports_one_line_per_problem(board):
    from prism_gym.cli import app

    path = _submit(board)
    entry = load_json_file(path)
    entry["metrics"]["score"] = -1
    entry["metrics"]["success_rate"] = 2
    entry["entry_fingerprint"] = entry_fingerprint(entry)
    path.write_text(json.dumps(entry))
    good = reference_entries()[0]
    good_path = board / "entries" / reference_filename(good)
    good_path.write_text(json.dumps(good))
    out = CliRunner().invoke(app, ["leaderboard", "validate", "--root", str(board)])
    assert out.exit_code == 1
    lines = [line for line in out.output.splitlines() if line.startswith(str(path))]
    assert len(lines) == 2 and any("metrics.score: -1 is negative" in line for line in lines)
    out = CliRunner().invoke(app, ["leaderboard", "validate", str(good_path)])
    assert out.exit_code == 0, out.output


# -- fingerprints agree with the runner's ------------------------------------------------------

def test_fingerprints_follow_the_runners_rules(tmp_path):
    result_module = pytest.importorskip("prism_gym.runner.result")
    (tmp_path / "b.safetensors").write_bytes(b"second")
    (tmp_path / "a.safetensors").write_bytes(b"first")
    (tmp_path / "config.json").write_text("{}")
    assert weights_fingerprint(tmp_path) == result_module.weights_fingerprint(tmp_path)
    presets = pytest.importorskip("prism_gym.runner.presets")
    cfg = presets.RunConfig(env="alfworld", router="prism", device="cpu")
    assert config_fingerprint(cfg.to_dict()) == cfg.fingerprint()


def test_every_field_type_reports_null_and_wrong_type_in_one_form():
    from prism_gym.leaderboard.fields import Bool, List, Map, Num, Obj, Str

    for spec, kind in ((Num(), "a number"), (Str(), "a string"), (Bool(), "true or false"), (Obj(), "an object"),
                       (Map(), "an object"), (List(), "a list")):
        problems: list[str] = []
        spec.check(None, "x", problems)
        spec.check(1.5 if not isinstance(spec, Num) else "1.5", "y", problems)
        assert problems == ["x: is missing a value (null)",
                            f"y: must be {kind}, got {'a string' if isinstance(spec, Num) else 'a number'}"]
    problems = []
    Num().check(True, "z", problems)
    Bool(nullable=True).check(None, "w", problems)
    assert problems == ["z: must be a number, got a boolean"]


def test_write_reference_entries_writes_missing_rows_and_never_overwrites(tmp_path):
    from prism_gym.leaderboard.reference import write_reference_entries

    written = write_reference_entries(tmp_path)
    assert sorted(p.name for p in written) == sorted(reference_filename(e) for e in reference_entries())
    assert validate_files(entry_files(tmp_path)) == []
    assert write_reference_entries(tmp_path) == []  # identical files are left alone
    first = written[0]
    changed = json.loads(first.read_text())
    changed["label"] = "edited"
    first.write_text(json.dumps(changed))
    with pytest.raises(ValueError, match="exists with different content"):
        write_reference_entries(tmp_path)
    assert json.loads(first.read_text())["label"] == "edited"


def test_names_with_a_trailing_newline_are_rejected():
    from prism_gym.leaderboard.loading import check_name

    assert check_name("run-1.a_b") == "run-1.a_b"
    with pytest.raises(LeaderboardError, match="is rejected"):
        check_name("run-1\n")
