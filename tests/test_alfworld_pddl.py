"""game.tw-pddl export and load, ALFWORLD_DATA split loading, game_files option."""
from __future__ import annotations

import json

import pytest

from prism_gym.envs.alfworld.dataset import split_game_files
from prism_gym.envs.alfworld.engine import Engine
from prism_gym.envs.alfworld.env import ALFWorldEnv
from prism_gym.envs.alfworld.expert import solve
from prism_gym.envs.alfworld.generator import generate_game
from prism_gym.envs.alfworld.pddl import (domain_text, export_game, goal_sentence, grammar_dialect, grammar_text,
                                          load_game_file, parse_problem, parse_sexpr)
from prism_gym.envs.alfworld.tables import TASK_TYPES


def _one_game_per_type():
    seen = {}
    i = 0
    while len(seen) < len(TASK_TYPES):
        g = generate_game("valid_seen", i)
        seen.setdefault(g.goal.task_type, g)
        i += 1
    return list(seen.values())


@pytest.mark.parametrize("dialect", ["2.1.2", "2.1.1"])
def test_export_then_load_plays_identically(tmp_path, dialect):
    for game in _one_game_per_type():
        game = generate_game(game.metadata["split"], game.metadata["index"], dialect=dialect)
        path = export_game(game, tmp_path / game.goal.task_type / "game.tw-pddl", prefer_installed=False)
        data = json.loads(path.read_text())
        assert data["solvable"] is True and data["walkthrough"]
        assert set(data) == {"pddl_domain", "grammar", "pddl_problem", "solvable", "walkthrough"}
        loaded = load_game_file(path)
        assert loaded.dialect == dialect and loaded.goal == game.goal
        assert set(loaded.declared_names()) == set(game.declared_names())
        assert loaded.names(shuffle_seed=5) == game.names(shuffle_seed=5) != game.names()
        a, b = Engine(game), Engine(loaded)
        assert a.intro == b.intro and a.admissible == b.admissible
        for command in data["walkthrough"]:
            assert a.step(command) == b.step(command)
            assert a.admissible == b.admissible
        assert b.won


def test_own_domain_and_grammar_texts():
    domain = domain_text(prefer_installed=False)
    assert parse_sexpr(domain)[0][:2] == ["define", ["domain", "alfred"]]
    assert "(:action help" in domain and "(:action help" not in domain_text("2.1.1", prefer_installed=False)
    g12, g11 = grammar_text("2.1.2", prefer_installed=False), grammar_text("2.1.1", prefer_installed=False)
    assert grammar_dialect(g12) == "2.1.2" and grammar_dialect(g11) == "2.1.1"
    assert goal_sentence(g12) == "UNKNOWN GOAL"
    assert "action help" not in g11 and "You arrive at {lend.name}. " in g11


def test_bad_files_give_clear_errors(tmp_path):
    bad = tmp_path / "game.tw-pddl"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_game_file(bad)
    bad.write_text(json.dumps({"grammar": "x"}))
    with pytest.raises(ValueError, match="not a game.tw-pddl"):
        load_game_file(bad)
    with pytest.raises(ValueError, match="unbalanced"):
        parse_problem("(define (problem x)")
    with pytest.raises(FileNotFoundError):
        ALFWorldEnv(game_files=[str(tmp_path / "missing.tw-pddl")])


def test_game_files_option_plays_files_in_order(tmp_path):
    games = _one_game_per_type()[:3]
    paths = [str(export_game(g, tmp_path / f"g{i}" / "game.tw-pddl", prefer_installed=False))
             for i, g in enumerate(games)]
    env = ALFWorldEnv(game_files=paths, expert_actions=True)
    for cycle in range(2):
        for path, game in zip(paths, games):
            obs, info = env.reset(seed=5 if cycle == 0 and path == paths[0] else None)
            assert info["task"].instance == path and info["task"].split == "custom"
            assert obs == Engine(game).intro
    obs, info = env.reset(options={"instance": paths[1]})
    assert obs == Engine(games[1]).intro


def _write_trial(root, split, task_dir, trial, game, solvable=True, task_type=None):
    folder = root / "json_2.1.1" / split / task_dir / trial
    folder.mkdir(parents=True)
    (folder / "traj_data.json").write_text(json.dumps({"task_type": task_type or game.goal.task_type,
                                                       "pddl_params": {}}))
    export_game(game, folder / "game.tw-pddl", prefer_installed=False)
    if not solvable:
        data = json.loads((folder / "game.tw-pddl").read_text())
        data["solvable"] = False
        (folder / "game.tw-pddl").write_text(json.dumps(data))
    return folder


def test_data_dir_split_loading_filters_like_the_original(tmp_path, monkeypatch):
    games = _one_game_per_type()
    g0, g1 = games[0], games[1]
    _write_trial(tmp_path, "valid_seen", "a-task-1", "trial_T1", g0)
    _write_trial(tmp_path, "valid_seen", "b-task-2", "trial_T1", g1)
    _write_trial(tmp_path, "valid_seen", "c-movable-3", "trial_T1", g0)
    _write_trial(tmp_path, "valid_seen", "d-Sliced-4", "trial_T1", g0)
    _write_trial(tmp_path, "valid_seen", "e-task-5", "trial_T1", g0, solvable=False)
    files = split_game_files(tmp_path, "valid_seen")
    assert [f.split("/")[-3] for f in files] == ["a-task-1", "b-task-2"]
    only = split_game_files(tmp_path, "eval_in_distribution", task_types=[g1.goal.task_type])
    assert [f.split("/")[-3] for f in only] == ["b-task-2"]
    assert len(split_game_files(tmp_path, "valid_seen", num_games=1)) == 1
    monkeypatch.setenv("ALFWORLD_DATA", str(tmp_path))
    env = ALFWorldEnv(split="valid_seen", data_dir=True, expert_actions=True)
    obs, info = env.reset(options={"instance": "0"})
    assert obs == Engine(g0).intro and info["task"].task_type == g0.goal.task_type
    with pytest.raises(FileNotFoundError, match="ALFWORLD_DATA"):
        split_game_files(tmp_path, "valid_unseen")


def test_expert_solves_loaded_games(tmp_path):
    for i, game in enumerate(_one_game_per_type()):
        path = export_game(game, tmp_path / str(i) / "game.tw-pddl", prefer_installed=False)
        assert solve(Engine(load_game_file(path)))[0]
