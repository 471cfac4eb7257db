"""Differential test: the native engine against the original (optional
``alfworld`` package). Skipped, with the reason, where it is not installed."""
from __future__ import annotations

import os
from collections import Counter

import pytest

from prism_gym.envs.alfworld.conformance import coverage_games, differential_play, original_available
from prism_gym.envs.alfworld.generator import generate_game
from prism_gym.envs.alfworld.pddl import export_game
from prism_gym.envs.alfworld.tables import TASK_TYPES

_MISSING = original_available()
pytestmark = [pytest.mark.original,
              pytest.mark.skipif(_MISSING is not None, reason=f"{_MISSING}; pip install alfworld to run it")]


def _check(games, tmp_path, dialect="2.1.2", prefer_installed=True, steps=50, expert_rate=0.5):
    failures, types, rooms = [], Counter(), Counter()
    for split, index in games:
        game = generate_game(split, index, dialect=dialect)
        path = export_game(game, tmp_path / f"{split}-{index}" / "game.tw-pddl", prefer_installed=prefer_installed)
        diffs, _ = differential_play(game, path, steps=steps, seed=index, expert_rate=expert_rate)
        failures += [f"{split}/{index}: {d}" for d in diffs]
        types[game.goal.task_type] += 1
        rooms[game.metadata["room"]] += 1
    assert not failures, "\n".join(failures)
    return types, rooms


def test_one_game_per_task_type_matches_original(tmp_path):
    types, _ = _check(coverage_games(6), tmp_path)
    assert set(types) == set(TASK_TYPES)


def test_random_play_to_the_step_limit_matches_original(tmp_path):
    _check(coverage_games(1), tmp_path, steps=50, expert_rate=0.0)


def test_this_packages_domain_and_grammar_play_the_same_in_original(tmp_path):
    _check(coverage_games(6)[1:3], tmp_path, prefer_installed=False)


def test_2_1_1_text_matches_original_with_2_1_1_grammar(tmp_path):
    _check(coverage_games(6)[3:5], tmp_path, dialect="2.1.1")


@pytest.mark.slow
def test_sixty_games_cover_all_task_and_room_types(tmp_path):
    n = int(os.environ.get("ALFWORLD_DIFF_GAMES", "60"))
    types, rooms = _check(coverage_games(n), tmp_path)
    assert set(types) == set(TASK_TYPES) and len(rooms) == 4
