"""Reference agent rows: the model-free agents (expert, random, WebShop's rule)
measured by `prism-gym leaderboard reference-agents`, validated, and rendered
as unranked reference rows on every track."""
from __future__ import annotations

import copy
import json
import shutil

import pytest
from typer.testing import CliRunner

from prism_gym.evaluation import evaluate
from prism_gym.leaderboard.fingerprint import entry_fingerprint
from prism_gym.leaderboard.loading import LeaderboardError
from prism_gym.leaderboard.reference_agents import (REFERENCE_AGENTS, published_rule_entry, reference_protocol,
                                                    write_reference_agent_entries)
from prism_gym.leaderboard.render import render
from prism_gym.leaderboard.schema import AGENT_NOTE, REPORTED_NOTE, entry_problems
from prism_gym.leaderboard.submit import entry_text, submit
from prism_gym.leaderboard.table import build_tables
from prism_gym.leaderboard.validate import load_valid_entries, validate_files
from prism_gym.plugins import get_registry
from prism_gym.runner.presets import make_config
from test_leaderboard import REPO, SUBMITTED, make_result, make_run

CREATED = "2026-12-08T10:00:00+00:00"
EPISODES = 3  # per split: enough to tell agents apart, quick on a CPU


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    """The command's rows on a fresh board, 3 episodes per split."""
    entries = tmp_path_factory.mktemp("board") / "entries"
    done = write_reference_agent_entries(entries, episodes=EPISODES, created=CREATED)
    assert {status for _, status in done} == {"written"}
    return {json.loads(path.read_text())["name"]: json.loads(path.read_text()) for path, _ in done}


def _fresh_evaluation(env: str, agent: str, split: str) -> dict:
    """The agent played directly, without the leaderboard's code: the tiny preset's step limit."""
    max_steps = make_config("tiny", env, "random").eval.max_steps
    player = get_registry().agent(agent).build(env_name=env)
    return evaluate(env, player, split=split, episodes=EPISODES, seed=0, max_steps=max_steps, progress=False)


# -- measured, not typed in ------------------------------------------------------------

@pytest.mark.parametrize("env,agent", [(env, agent) for env, agents in REFERENCE_AGENTS.items() for agent in agents])
def test_the_commands_rows_equal_a_fresh_evaluation_of_the_agents(measured, env, agent):
    entry = measured[f"agent-{env}-{agent}"]
    assert entry["kind"] == "agent" and entry["agent"] == {"name": agent, "settings": {}}
    assert entry_problems(entry) == []
    for split, bucket in entry["metrics"]["per_split"].items():
        fresh = _fresh_evaluation(env, agent, split)
        assert entry["outcomes"][split] == fresh["outcomes"]
        assert bucket == {"success_rate": fresh["success_rate"], "score": fresh["score"], "episodes": EPISODES}
    assert list(entry["metrics"]["per_split"]) == list(get_registry().env(env).eval_splits)
    assert entry["evaluation"]["max_steps"] == {"alfworld": 40, "webshop": 15}[env]


def test_the_rows_play_the_tasks_the_tiny_runs_are_evaluated_on(measured):
    for env, split in (("webshop", "test"), ("alfworld", "valid_unseen")):
        run = json.loads((REPO / "leaderboard" / "entries" / f"2026-12-07_{env}-random-tiny-s0.json").read_text())
        agent = measured[f"agent-{env}-random"]
        assert agent["outcomes"][split]["task_ids"] == run["outcomes"][split]["task_ids"][:EPISODES]
        assert agent["evaluation"]["max_steps"] == run["evaluation"]["max_steps"]
        assert [s["seed"] for s in agent["evaluation"]["splits"]] == [s["seed"] for s in run["evaluation"]["splits"]]
    assert reference_protocol("webshop")["splits"] == [{"split": "test", "seed": 0, "episodes": 128}]


def test_the_committed_rows_are_what_the_agents_do_now(tmp_path):
    """Re-measuring the committed rows (128 episodes per split) leaves every file unchanged."""
    shutil.copytree(REPO / "leaderboard" / "entries", tmp_path / "entries")
    done = write_reference_agent_entries(tmp_path / "entries")
    assert len(done) == 1 + sum(len(agents) for agents in REFERENCE_AGENTS.values())
    assert {status for _, status in done} == {"unchanged"}, done
    rule = json.loads(next(p for p, _ in done if p.name.endswith("_agent-webshop-rule.json")).read_text())
    assert (rule["metrics"]["score"], sum(rule["outcomes"]["test"]["won"])) == (pytest.approx(59.64, abs=0.005), 7)


def test_the_published_rule_row_is_the_webshop_papers_figure():
    entry = published_rule_entry()
    assert entry_problems(entry) == []
    assert entry["reported"]["note"] == REPORTED_NOTE and "2207.01206" in entry["reported"]["source"]
    assert entry["metrics"]["score"] == 45.6 and entry["metrics"]["success_rate"] == 0.096
    assert entry["metrics"]["per_split"]["test"]["episodes"] == 500
    path = REPO / "leaderboard" / "entries" / "2026-12-08_webshop-paper-rule.json"
    assert json.loads(path.read_text()) == entry


def test_cli_writes_missing_rows_and_never_overwrites(tmp_path, monkeypatch):
    from prism_gym.cli import app

    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    first = runner.invoke(app, ["leaderboard", "reference-agents", "--env", "webshop", "--episodes", "2"])
    assert first.exit_code == 0, first.output
    files = sorted((tmp_path / "leaderboard" / "entries").glob("*.json"))
    assert len(files) == 4 and first.output.count(": written") == 4, first.output  # the paper's rule and 3 agents
    again = runner.invoke(app, ["leaderboard", "reference-agents", "--env", "webshop", "--episodes", "2"])
    assert again.exit_code == 0 and again.output.count(": unchanged") == 4, again.output
    assert validate_files(files) == []
    # A row whose recorded episodes no longer match what the agent does stops the command; nothing is written.
    path = next(f for f in files if f.name.endswith("_agent-webshop-rule.json"))
    entry = json.loads(path.read_text())
    entry["outcomes"]["test"]["score"] = [s + 1 for s in entry["outcomes"]["test"]["score"]]
    entry["metrics"]["score"] += 1
    entry["metrics"]["per_split"]["test"]["score"] += 1
    path.write_text(json.dumps(entry))
    before = {f: f.read_bytes() for f in files}
    stale = runner.invoke(app, ["leaderboard", "reference-agents", "--env", "webshop", "--episodes", "2"])
    assert stale.exit_code == 1 and "no longer agree" in stale.output
    assert {f: f.read_bytes() for f in files} == before


def test_an_unknown_env_is_refused(tmp_path):
    with pytest.raises(LeaderboardError, match="no reference agents for env"):
        write_reference_agent_entries(tmp_path, envs=("nowhere",))


# -- validation ------------------------------------------------------------------------------

def _restamped(entry: dict) -> dict:
    """The entry with its content fingerprint recomputed, so that only the change itself is judged."""
    entry["entry_fingerprint"] = entry_fingerprint(entry)
    return entry


def _problems_after(entry: dict, change) -> str:
    broken = copy.deepcopy(entry)
    change(broken)
    return "\n".join(entry_problems(_restamped(broken)))


def test_validation_rejects_malformed_agent_rows(measured):
    entry = measured["agent-webshop-rule"]
    ledger = {"stages": {}, "total": {k: 1.0 for k in ("wall_s", "tokens_forwarded", "tokens_trained",
                                                        "tokens_generated", "flops", "env_steps")}}
    cases = {
        "ledger: a reference agent was not trained": lambda e: e.update(ledger=ledger),
        "agent.name: missing field": lambda e: e["agent"].pop("name"),
        "agent: a reference agent entry (kind 'agent') names its agent": lambda e: e.update(agent=None),
        "router: a reference agent was not trained": lambda e: e.update(router={"name": "random", "settings": {}}),
        "model: a reference agent plays without a model": lambda e: e.update(
            model={"name": "default", "parameters": 1, "fingerprint": None}),
        "track: a reference agent has no model, so it is on every track": lambda e: e.update(track="tiny"),
        "env.data_fingerprint: hashes a run's expert data": lambda e: e["env"].update(
            data_fingerprint="sha256:" + "b" * 64),
        "outcomes: a reference agent measured here needs a value here": lambda e: e.update(outcomes=None),
        "evaluation.splits: the protocol plays": lambda e: e["evaluation"]["splits"][0].update(episodes=5),
        "relative_cost.vs_rl_only: a reference agent has no training cost": lambda e: e["relative_cost"].update(
            vs_rl_only=1.0),
        "agent: a run entry names the router or baseline": lambda e: e.update(kind="run"),
        "kind: 'agent' is not one of 'run', 'reported'": lambda e: e.update(schema_version=2),
    }
    for expected, change in cases.items():
        assert expected in _problems_after(entry, change), expected
    edited = copy.deepcopy(entry)
    edited["metrics"]["per_task_type"] = {}
    assert "entry_fingerprint: fingerprint mismatch" in "\n".join(entry_problems(edited))


def test_only_a_reference_agent_may_have_no_model_or_track():
    run_like = published_rule_entry()
    run_like["agent"] = None
    problems = "\n".join(entry_problems(_restamped(run_like)))
    assert "model: only a reference agent" in problems and "track: only a reference agent" in problems
    published = published_rule_entry()
    published["track"] = "full"
    assert "track: a reference agent has no model" in "\n".join(entry_problems(_restamped(published)))


def test_validate_reports_the_same_measurement_twice(measured, tmp_path):
    entry = measured["agent-alfworld-expert"]
    twin = _restamped(dict(copy.deepcopy(entry), created="2026-12-09T10:00:00+00:00",
                           submitted="2026-12-09T10:00:00+00:00"))
    paths = []
    for item in (entry, twin):
        path = tmp_path / f"{item['created'][:10]}_{item['name']}.json"
        path.write_text(entry_text(item))
        paths.append(path)
    assert validate_files(paths[:1]) == []
    problems = validate_files(paths)
    assert len(problems) == 1 and "duplicate reference agent" in problems[0] and paths[0].name in problems[0]


# -- the rendered tables -----------------------------------------------------------------------

@pytest.fixture()
def board_with_agents(tmp_path, monkeypatch):
    """Runs of the random router and of prism on ALFWorld's tiny track, and the reference agents."""
    monkeypatch.chdir(tmp_path)
    board = tmp_path / "leaderboard"
    write_reference_agent_entries(board / "entries", envs=("alfworld",), episodes=4, created=CREATED)
    for rid, router, metric, success in [("alfworld-random-tiny-s0", "random", None, 0.125),
                                         ("alfworld-prism-tiny-s0", "prism", "gini", 0.25)]:
        result = make_result(rid, router=router, metric=metric, success=success)
        submit(make_run(tmp_path / "runs", result, weights=rid.encode()), board / "entries", submitted=SUBMITTED)
    return board


def test_reference_agents_are_unranked_rows_on_every_track(board_with_agents):
    tables = {(t.env, t.track): t for t in build_tables(load_valid_entries(board_with_agents / "entries"))}
    tiny, full = tables[("alfworld", "tiny")], tables[("alfworld", "full")]
    assert [r.label for r in tiny.rows] == ["prism (gini)", "random", "expert agent", "random agent"]
    assert [r.label for r in full.rows] == ["expert agent", "random agent"]  # no runs there: references only
    prism, router, expert, random_agent = tiny.rows
    # The expert wins more than any method but is not the best row; Δ vs random is against the random ROUTER.
    assert prism.tied == "best" and expert.tied == "above"
    assert prism.delta["difference"]["value"] == pytest.approx(0.25 - 0.125)  # prism - the random router's 1/8
    assert router.delta is None
    assert expert.delta is None and random_agent.delta is None
    assert {r.tied for r in full.rows} == {None}  # no method to be tied with


def test_the_rendered_table_marks_reference_rows(board_with_agents):
    render(board_with_agents)
    readme = (board_with_agents / "README.md").read_text()
    tiny = readme.split("## alfworld · tiny track")[1].split("## alfworld · full track")[0]
    rows = [line for line in tiny.splitlines() if line.startswith("| ")][1:]  # after the header
    assert rows[0].startswith("| 1 | prism (gini) |") and rows[1].startswith("| 2 | random |")
    assert rows[2].startswith("| ref | expert agent | none | 1 | 8 | 100.00 ")
    assert rows[3].startswith("| ref | random agent | none |")
    assert all(row.endswith(f"| {AGENT_NOTE} |") for row in rows[2:])
    assert "| – | above best |" in rows[2]  # no Δ vs random; above the best method
    full = readme.split("## alfworld · full track")[1]
    assert "| ref | expert agent |" in full
    page = (board_with_agents / "index.html").read_text()
    assert page.count('<tr class="reference"><td>ref</td>') == 4  # two agents on two tracks


def test_the_pareto_plot_renders_with_rows_without_compute(tmp_path):
    """A board of reference agents only: no FLOPs, no wall clock; render still writes all three files."""
    board = tmp_path / "leaderboard"
    write_reference_agent_entries(board / "entries", envs=("webshop",), episodes=2, created=CREATED)
    assert render(board) == {"README.md": True, "pareto.png": True, "index.html": True}
    readme = (board / "README.md").read_text()
    assert "| ref | rule agent (WebShop paper) | none | – | 500 | 9.60 " in readme
    assert readme.count("- webshop, rule agent (WebShop paper): rule baseline") == 1  # one note, two tracks
