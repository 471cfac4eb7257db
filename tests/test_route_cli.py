"""`prism-gym route`: decisions file, summary, options, exports, errors."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from prism_gym.cli import app
from prism_gym.cli.route import parse_option, score_histogram
from prism_gym.records import read_decisions, write_jsonl
from test_probe import make_trajectories

runner = CliRunner()


@pytest.fixture()
def model_dir(micro_lm, tmp_path):
    model, tok = micro_lm
    path = tmp_path / "model"
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path


@pytest.fixture()
def data(tmp_path):
    path = tmp_path / "trajectories.jsonl"
    write_jsonl(path, make_trajectories(8, seed=6))
    return path


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_route_prism_writes_decisions_and_summary(data, model_dir, tmp_path):
    out = tmp_path / "decisions.jsonl"
    result = invoke("route", "--router", "prism", "--data", data, "--model", model_dir, "--out", out,
                    "-o", "metric=cv", "--cache-dir", tmp_path / "cache")
    assert result.exit_code == 0, result.output
    decisions = read_decisions(out)
    assert len(decisions) == 8 and sum(d.route == "rl" for d in decisions) == 4
    first = json.loads(out.read_text().splitlines()[0])
    assert {"id", "score", "route"} <= set(first) and first["id"] == "alfworld-0"
    assert "share to RL" in result.output and "scores of 8 trajectories" in result.output
    assert list((tmp_path / "cache").glob("probe-*.npz"))
    # Same inputs, same decisions (read back from the cache this time).
    out2 = tmp_path / "again.jsonl"
    assert invoke("route", "--router", "prism", "--data", data, "--model", model_dir, "--out", out2,
                  "-o", "metric=cv", "--cache-dir", tmp_path / "cache", "-q").exit_code == 0
    assert out2.read_text() == out.read_text()


def test_route_random_with_export(data, tmp_path):
    out = tmp_path / "d.jsonl"
    result = invoke("route", "--router", "random", "--data", data, "--out", out, "--seed", 5,
                    "-o", "rl_fraction=0.25", "--export-dir", tmp_path / "export", "--no-cache")
    assert result.exit_code == 0, result.output
    assert sum(d.route == "rl" for d in read_decisions(out)) == 2
    manifest = json.loads((tmp_path / "export" / "export.json").read_text())
    assert manifest["rl"]["trajectories"] == 2 and manifest["sft"]["trajectories"] == 6
    assert (tmp_path / "export" / "rl.parquet").is_file()


@pytest.mark.parametrize("args, message", [
    (["--router", "nope"], "unknown router 'nope'"),
    (["--router", "prism", "-o", "colour=red"], "unknown options: colour"),
    (["--router", "prism", "-o", "metric"], "not of the form key=value"),
    (["--router", "random", "--env", "webshop"], "holds trajectories of alfworld"),
])
def test_route_errors(data, tmp_path, args, message):
    result = invoke("route", "--data", data, "--out", tmp_path / "d.jsonl", *args)
    assert result.exit_code == 1
    assert message in result.output
    assert not (tmp_path / "d.jsonl").exists()


def test_route_bad_file(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1}\n')
    result = invoke("route", "--router", "random", "--data", bad, "--out", tmp_path / "d.jsonl")
    assert result.exit_code == 1 and "line 1" in result.output


def test_parse_option():
    assert parse_option("rl_fraction=0.3") == ("rl_fraction", 0.3)
    assert parse_option("k=8") == ("k", 8)
    assert parse_option("normalize=true") == ("normalize", True)
    assert parse_option("rl_fraction=none") == ("rl_fraction", None)
    assert parse_option("metric=gini") == ("metric", "gini")


def test_histogram_counts_every_decision():
    from prism_gym.records import RoutingDecision

    decisions = [RoutingDecision(str(i), "t", "rl" if i >= 5 else "sft", float(i), "x") for i in range(10)]
    lines = score_histogram(decisions, bins=5)
    assert sum(int(line.rsplit(" ", 1)[1]) for line in lines[1:-1]) == 10


def test_route_rejects_unusable_data_files(tmp_path):
    twice = tmp_path / "twice.jsonl"
    write_jsonl(twice, make_trajectories(2) + make_trajectories(1))
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    mixed = tmp_path / "mixed.jsonl"
    write_jsonl(mixed, make_trajectories(1) + make_trajectories(1, env="webshop"))
    for path, message in ((twice, "trajectory id 'alfworld-0' appears more than once"),
                          (empty, "holds no trajectories"), (tmp_path / "absent.jsonl", "no such file"),
                          (mixed, "mixes envs (alfworld, webshop)")):
        result = invoke("route", "--router", "random", "--data", path, "--out", tmp_path / "d.jsonl")
        assert result.exit_code == 1 and message in result.output, (path, result.output)
    assert not (tmp_path / "d.jsonl").exists()


def test_route_export_into_a_folder_with_a_broken_dataset_info(data, tmp_path):
    export = tmp_path / "export"
    export.mkdir()
    (export / "dataset_info.json").write_text("[1, 2")
    result = invoke("route", "--router", "random", "--data", data, "--out", tmp_path / "d.jsonl",
                    "--export-dir", export, "-q")
    assert result.exit_code == 1 and "not valid JSON (line 1" in result.output, result.output
