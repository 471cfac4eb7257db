"""Leaderboard rendering: tables per env and track, the Pareto plot, the HTML page."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from scipy import stats as sps

from prism_gym.leaderboard.fingerprint import entry_fingerprint
from prism_gym.leaderboard.loading import LeaderboardError
from prism_gym.leaderboard.reference import reference_entries, reference_filename
from prism_gym.leaderboard.render import render
from prism_gym.leaderboard.submit import submit
from prism_gym.leaderboard.table import build_tables, pareto_front
from test_leaderboard import REPO, SUBMITTED, config_fingerprint, make_result, make_run

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture()
def filled_board(tmp_path, monkeypatch):
    """The reference rows plus tiny runs: two seeds of prism, one of random and rl-only."""
    monkeypatch.chdir(tmp_path)
    board = tmp_path / "leaderboard"
    (board / "entries").mkdir(parents=True)
    for name in (reference_filename(entry) for entry in reference_entries()):
        shutil.copy(REPO / "leaderboard" / "entries" / name, board / "entries" / name)
    for rid, router, metric, baseline, seed, success, flops in [
            ("alfworld-prism-tiny-s0", "prism", "gini", None, 0, 0.5, 2e12),
            ("alfworld-prism-tiny-s1", "prism", "gini", None, 1, 0.25, 2e12),
            ("alfworld-random-tiny-s0", "random", None, None, 0, 0.375, 1.9e12),
            ("alfworld-rl-only-tiny-s0", "all-rl", None, "rl-only", 0, 0.125, 6e12)]:
        result = make_result(rid, router=router, metric=metric, seed=seed, success=success, baseline=baseline,
                             flops=flops)
        submit(make_run(tmp_path / "runs", result, weights=rid.encode()), board / "entries", submitted=SUBMITTED)
    return board


def test_render_writes_tables_per_env_and_track(filled_board):
    assert render(filled_board) == {"README.md": True, "pareto.png": True, "index.html": True}
    readme = (filled_board / "README.md").read_text()
    for heading in ("## alfworld · tiny track", "## alfworld · full track", "## webshop · tiny track",
                    "## webshop · full track"):
        assert heading in readme
    tiny = readme.split("## alfworld · tiny track")[1].split("## alfworld · full track")[0]
    rows = [line for line in tiny.splitlines() if line.startswith("| ") and line[2].isdigit()]
    # prism's two seeds form one row: mean 37.50 with the t interval over the two seeds, cut to [0, 100];
    # rows sorted by success
    low, high = sps.t.interval(0.95, 1, loc=37.5, scale=sps.sem([50.0, 25.0]))
    assert rows[0].startswith(f"| 1 | prism (gini) | default | 2 | 8 | 37.50 \\[{max(low, 0):.2f}, {min(high, 100):.2f}\\] |")
    # one seed: Wilson over its 8 episodes (3 won)
    wilson = sps.binomtest(3, 8).proportion_ci(method="wilson")
    assert f"| random | default | 1 | 8 | 37.50 \\[{100 * wilson.low:.2f}, {100 * wilson.high:.2f}\\] | – | tied |" in rows[1]
    assert rows[1].startswith("| 2 | random |") and rows[2].startswith("| 3 | rl-only |")
    assert "not verified" in rows[0]
    assert "No entries yet." in readme.split("## webshop · tiny track")[1].split("##")[0]
    assert "reported, not reproduced here" in readme.split("## webshop · full track")[1]
    png = (filled_board / "pareto.png").read_bytes()
    assert png.startswith(PNG_MAGIC)


def test_render_is_idempotent_and_deterministic(filled_board, tmp_path):
    render(filled_board)
    first = {name: (filled_board / name).read_bytes() for name in ("README.md", "pareto.png", "index.html")}
    assert render(filled_board) == {"README.md": False, "pareto.png": False, "index.html": False}
    for name in first:
        (filled_board / name).unlink()
    render(filled_board)
    assert {name: (filled_board / name).read_bytes() for name in first} == first


def test_html_is_self_contained_and_escaped(filled_board):
    path = filled_board / "entries" / reference_filename(reference_entries()[0])
    entry = json.loads(path.read_text())
    entry["label"] = "<script>alert(1)</script> | pipe"
    entry["entry_fingerprint"] = entry_fingerprint(entry)
    path.write_text(json.dumps(entry))
    render(filled_board)
    page = (filled_board / "index.html").read_text()
    assert "data:image/png;base64," in page
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)" in page
    assert page.count("<script>") == 1  # the page's own table sorter, inline
    assert 'src="http' not in page and "<link" not in page
    readme = (filled_board / "README.md").read_text()
    assert "<script>" not in readme and "\\<script\\>alert(1)\\</script\\> \\| pipe" in readme


def test_render_refuses_invalid_entries(filled_board):
    bad = filled_board / "entries" / "2026-11-26_bad.json"
    bad.write_text("{")
    with pytest.raises(LeaderboardError, match="malformed JSON"):
        render(filled_board)


def test_pareto_front():
    points = [(1.0, 40.0), (2.0, 30.0), (2.0, 50.0), (3.0, 45.0), (4.0, 60.0), (0.5, 10.0)]
    assert pareto_front(points) == [(0.5, 10.0), (1.0, 40.0), (2.0, 50.0), (4.0, 60.0)]
    assert pareto_front([]) == []


def test_committed_render_is_up_to_date(tmp_path):
    """The committed README, plot and page are what `render` makes of the committed entries."""
    board = tmp_path / "leaderboard"
    shutil.copytree(REPO / "leaderboard" / "entries", board / "entries")
    if (REPO / "leaderboard" / "verifications").is_dir():
        shutil.copytree(REPO / "leaderboard" / "verifications", board / "verifications")
    render(board)
    stale = "leaderboard/{} is stale: run `prism-gym leaderboard render`"
    assert (board / "README.md").read_text() == (REPO / "leaderboard" / "README.md").read_text(), stale.format("README.md")
    # PNG bytes depend on the matplotlib version and fonts, so the page is
    # compared without its embedded image, and the plot only for being a PNG.
    def text_of(page: Path) -> str:
        return re.sub(r"base64,[A-Za-z0-9+/=]+", "base64,...", page.read_text())
    assert text_of(board / "index.html") == text_of(REPO / "leaderboard" / "index.html"), stale.format("index.html")
    assert (REPO / "leaderboard" / "pareto.png").read_bytes().startswith(PNG_MAGIC)


def test_reference_rows_never_merge_and_runs_group_by_method(filled_board):
    from prism_gym.leaderboard.validate import load_valid_entries

    tables = {(t.env, t.track): t for t in build_tables(load_valid_entries(filled_board / "entries"))}
    full = tables[("webshop", "full")]
    assert len(full.rows) == len(reference_entries()) - 11  # every webshop reference row stands alone
    tiny = tables[("alfworld", "tiny")]
    assert [r.seeds for r in tiny.rows] == [[0, 1], [0], [0]]


def test_cost_columns_come_from_the_reference_entries_when_a_run_finished_first(tmp_path, monkeypatch):
    # A run's cost relative to rl-only is recorded when the run ends; this PRISM run ended before the rl-only
    # run of its seed, so its entry has none. The board divides the two entries' FLOPs: 3e12 / 2e12 = 1.5.
    monkeypatch.chdir(tmp_path)
    entries_dir = tmp_path / "leaderboard" / "entries"
    for rid, router, metric, baseline, seed, flops in [
            ("alfworld-prism-tiny-s0", "prism", "gini", None, 0, 3e12),
            ("alfworld-rl-only-tiny-s0", "all-rl", None, "rl-only", 0, 2e12),
            ("alfworld-prism-tiny-s1", "prism", "gini", None, 1, 4e12)]:  # no rl-only run at seed 1
        result = make_result(rid, router=router, metric=metric, seed=seed, baseline=baseline, flops=flops)
        result["relative_cost"] = {"vs_rl_only": None, "vs_sft_then_rl": None}
        submit(make_run(tmp_path / "runs", result, weights=rid.encode()), entries_dir, submitted=SUBMITTED)
    entries = [(p, json.loads(p.read_text())) for p in sorted(entries_dir.glob("*.json"))]
    rows = {row.label: row for row in build_tables(entries)[0].rows}
    assert rows["prism (gini)"].relative_cost("vs_rl_only") == pytest.approx(1.5)
    assert rows["prism (gini)"].relative_cost("vs_sft_then_rl") is None  # no sft-then-rl run on the board
    assert rows["rl-only"].relative_cost("vs_rl_only") == pytest.approx(1.0)


def test_a_method_decoded_within_the_admissible_actions_is_its_own_row(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    entries_dir = tmp_path / "leaderboard" / "entries"
    for rid, seed, agent in [("alfworld-prism-tiny-s0", 0, None), ("alfworld-prism-tiny-s1", 1, None),
                             ("alfworld-prism-tiny-s2", 0, {"decoding": "admissible", "slot_text": "goal-span"})]:
        result = make_result(rid, seed=seed, flops=2e12)
        if agent is not None:
            result["config"]["agent"] = agent
            result["fingerprints"]["config"] = config_fingerprint(result["config"])
        submit(make_run(tmp_path / "runs", result, weights=rid.encode()), entries_dir, submitted=SUBMITTED)
    entries = [(p, json.loads(p.read_text())) for p in sorted(entries_dir.glob("*.json"))]
    rows = {row.label: row.seeds for row in build_tables(entries)[0].rows}
    assert rows == {"prism (gini)": [0, 1], "prism (gini) · admissible decoding": [0]}
