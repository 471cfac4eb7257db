"""`prism-gym compare` and prism_gym.comparison on constructed runs whose
answers are worked out independently (scipy, counting by hand)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from scipy import stats as sps
from typer.testing import CliRunner

from test_leaderboard import make_result

from prism_gym.cli import app
from prism_gym.comparison import ComparisonError, compare, load_records, record_from_result

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()
SPLITS = ("valid_seen", "valid_unseen")
TASKS = {split: [f"{split}/task-{i:03d}" for i in range(20)] for split in SPLITS}


def run_result(method: str, seed: int, won: dict[str, list[int]], *, flops: float = 2e12, tasks=None) -> dict:
    """A version 2 result.json of ``method`` at ``seed`` with these per-episode wins (score = 100 x won)."""
    baseline = method if method in ("rl-only", "sft-then-rl", "sft-only") else None
    result = make_result(f"alfworld-{method}-tiny-s{seed}", router="random" if baseline else method,
                         metric=None, seed=seed, baseline=baseline, flops=flops)
    result["schema_version"] = 2
    tasks = tasks or TASKS
    outcomes, per_split, wins, n = {}, {}, 0, 0
    for split in SPLITS:
        w = won[split]
        outcomes[split] = {"task_ids": list(tasks[split]), "won": list(w), "score": [100.0 * x for x in w]}
        per_split[split] = {"success_rate": sum(w) / len(w), "score": 100 * sum(w) / len(w), "episodes": len(w)}
        wins, n = wins + sum(w), n + len(w)
    result["metrics"].update(success_rate=wins / n, score=100 * wins / n, per_split=per_split)
    result["outcomes"] = outcomes
    return result


def wins(first: int, count: int = 20) -> list[int]:
    return [1] * first + [0] * (count - first)


def records(*results):
    return [record_from_result(r, r["run_id"]) for r in results]


def test_single_seed_success_is_paired_by_task_and_tested_by_mcnemar():
    # The baseline wins tasks 0-5 of each split; the method wins those and tasks 6-8 too: 6 tasks won by the
    # method only, none by the baseline only. McNemar: p = 2 * 0.5^6; an unpaired test would be far weaker.
    base = run_result("random", 0, {s: wins(6) for s in SPLITS})
    method = run_result("prism", 0, {s: wins(9) for s in SPLITS})
    out = compare(records(base, method), "random")
    vs = out["methods"][1]["vs_baseline"]
    assert vs["paired"] and vs["shared_seeds"] == [0]
    assert vs["success"]["test"] == "McNemar exact"
    assert vs["success"]["p_value"] == pytest.approx(sps.binomtest(6, 6, 0.5).pvalue)
    assert vs["success"]["difference"]["value"] == pytest.approx(6 / 40)
    assert vs["score"]["difference"]["value"] == pytest.approx(100 * 6 / 40)
    # every score is 0 or 100 (100 x won): the score is compared as won/lost, its interval 100 x success's
    assert vs["score"]["test"] == "McNemar exact"
    assert vs["score"]["p_value"] == pytest.approx(2 / 2 ** 6)
    assert (vs["score"]["difference"]["low"], vs["score"]["difference"]["high"]) == pytest.approx(
        (100 * vs["success"]["difference"]["low"], 100 * vs["success"]["difference"]["high"]))
    summary = out["methods"][0]["summary"]
    ref = sps.binomtest(12, 40).proportion_ci(method="wilson")
    assert (summary["success"]["low"], summary["success"]["high"]) == pytest.approx((ref.low, ref.high))


def test_several_seeds_use_shared_seeds_and_the_seed_and_task_bootstrap():
    base = [run_result("random", s, {sp: wins(5 + s) for sp in SPLITS}, flops=1e12) for s in range(3)]
    method = [run_result("prism", s, {sp: wins(8 + s) for sp in SPLITS}, flops=3e12 * (s + 1)) for s in range(4)]
    out = compare(records(*base, *method), "random")
    vs = out["methods"][1]["vs_baseline"]
    assert vs["shared_seeds"] == [0, 1, 2]
    assert vs["success"]["test"] == "seed-and-task bootstrap"
    assert vs["success"]["difference"]["value"] == pytest.approx(3 / 20)
    # per-seed FLOP ratios 3, 6, 9 on the shared seeds: geometric mean 162^(1/3)
    assert vs["cost_ratio"]["ratio"] == pytest.approx(162 ** (1 / 3))
    assert (vs["cost_ratio"]["min"], vs["cost_ratio"]["max"]) == pytest.approx((3.0, 9.0))
    summary = out["methods"][1]["summary"]
    per_seed = [(8 + s) / 20 for s in range(4)]
    low, high = sps.t.interval(0.95, 3, loc=sum(per_seed) / 4, scale=sps.sem(per_seed))
    assert summary["success"]["method"] == "t over seeds"
    assert (summary["success"]["low"], summary["success"]["high"]) == pytest.approx((low, high))


def test_refuses_runs_measured_differently_and_says_which():
    base = run_result("random", 0, {s: wins(6) for s in SPLITS})
    other_tasks = {s: list(reversed(TASKS[s])) for s in SPLITS}
    shuffled = run_result("prism", 0, {s: wins(9) for s in SPLITS}, tasks=other_tasks)
    with pytest.raises(ComparisonError) as info:
        compare(records(base, shuffled), "random")
    assert any("eval task list of split 'valid_seen' differs" in p for p in info.value.problems)

    longer = run_result("prism", 0, {s: wins(9) for s in SPLITS})
    longer["config"]["eval"]["episodes"] = 8
    with pytest.raises(ComparisonError) as info:
        compare(records(base, longer), "random")
    assert any(p.startswith("preset fingerprint") and "alfworld-prism-tiny-s0" in p for p in info.value.problems)

    other_data = run_result("prism", 0, {s: wins(9) for s in SPLITS})
    other_data["env"]["data_fingerprint"] = "sha256:" + "d" * 64
    with pytest.raises(ComparisonError) as info:
        compare(records(base, other_data), "random")
    assert any(p.startswith("env data fingerprint differs at seed 0") for p in info.value.problems)

    with pytest.raises(ComparisonError) as info:
        compare(records(base, longer), "hpt")
    assert any("baseline 'hpt' is not among the methods" in p for p in info.value.problems)


def test_compare_command_on_run_directories(tmp_path):
    for result in (run_result("random", 0, {s: wins(6) for s in SPLITS}),
                   run_result("prism", 0, {s: wins(9) for s in SPLITS})):
        (tmp_path / result["run_id"]).mkdir()
        (tmp_path / result["run_id"] / "result.json").write_text(json.dumps(result))
    dirs = [str(p) for p in sorted(tmp_path.iterdir())]
    res = runner.invoke(app, ["compare", *dirs, "--baseline", "random"])
    assert res.exit_code == 0, res.output
    assert "methods against random" in res.output and "McNemar exact" in res.output
    assert "15.0 [" in res.output  # +15 points, with its interval
    res = runner.invoke(app, ["compare", *dirs, "--markdown"])
    assert res.exit_code == 0, res.output
    table = [line for line in res.output.splitlines() if line.startswith("|")]
    header, rule, base_row, prism_row = ([c.strip() for c in line.strip("|").split("|")] for line in table)
    assert header[0] == "method" and set(rule) <= {"---", "---:"} and base_row[:2] == ["random", "1"]
    cells = dict(zip(header, prism_row))
    # 6 more tasks won per split, 40 episodes: +15 points; McNemar p = 2 x 0.5^6 (scipy's exact binomial)
    assert cells["Δ success"].startswith("15.0 [") and cells["episodes"] == "40"
    assert cells["p"] == f"{sps.binomtest(6, 6, 0.5).pvalue:.3g}"
    assert "- p-values: " in res.output and "McNemar exact" in res.output
    res = runner.invoke(app, ["compare", *dirs, "--json", "--power", "--difference", "10"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    power = data["methods"][1]["vs_baseline"]["power"]
    assert power["difference"] == 0.1 and power["table"][3]["episodes"] == 128


def test_compare_command_names_each_problem(tmp_path):
    res = runner.invoke(app, ["compare", str(tmp_path / "missing"), "--baseline", "random"])
    assert res.exit_code == 1 and "neither a run directory nor an entry file" in " ".join(res.output.split())


def test_version_1_entries_compare_unpaired_with_intervals():
    # Real entries of an earlier tiny track, submitted before entries carried per-episode outcomes.
    entries = sorted((REPO / "tests" / "fixtures" / "leaderboard-v1").glob("*_alfworld-*-tiny-s0.json"))
    assert entries, "the version 1 fixture entries are missing"
    recs = load_records(entries)
    out = compare(recs, "random")
    assert any("no per-episode outcomes" in n for n in out["notes"])
    for row in out["methods"][1:]:
        vs = row["vs_baseline"]
        assert not vs["paired"] and vs["success"]["test"] == "two-proportion z (unpaired)"
        assert vs["success"]["difference"]["low"] is not None
    random = out["methods"][0]["summary"]
    k, n = round(random["success"]["value"] * 32), 32
    ref = sps.binomtest(k, n).proportion_ci(method="wilson")
    assert random["success"]["high"] == pytest.approx(ref.high)
    res = runner.invoke(app, ["compare", *map(str, entries)])
    assert res.exit_code == 0, res.output
