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


def _with_floor_objects(game):
    """The game plus scenery lying on the floor: at a lone receptacle, at a
    shared spot, and at the start (no generated game has floor objects)."""
    import dataclasses

    from prism_gym.envs.alfworld.game import mangle

    spots = Counter(loc for _, loc in game.receptacles.values())
    lone = next(loc for loc, n in spots.items() if n == 1)
    shared = next((loc for loc, n in spots.items() if n > 1), lone)
    extra = {mangle("Chair|+01.00|+00.00|+02.00"): lone, mangle("Chair|+01.50|+00.00|+02.00"): shared,
             mangle("Window|+01.00|+01.00|+02.00"): game.start_location}
    objects, where = dict(game.objects), dict(game.object_location)
    for o, loc in extra.items():
        objects[o], where[o] = o.split("_bar_")[0].capitalize(), loc
    recs = {loc: next(r for r, (_, l) in game.receptacles.items() if l == loc) for loc in (lone, shared)}
    return dataclasses.replace(game, objects=objects, object_location=where), [recs[lone], recs[shared]]


def test_look_with_floor_objects_matches_original(tmp_path):
    from prism_gym.envs.alfworld.conformance import OriginalEngine
    from prism_gym.envs.alfworld.engine import Engine

    game, recs = _with_floor_objects(generate_game("valid_seen", 2))
    path = export_game(game, tmp_path / "game.tw-pddl")
    native, original = Engine(game), OriginalEngine(path)
    try:
        original.reset()
        for command in ["look", f"go to {native.name[recs[0]]}", "look", f"go to {native.name[recs[1]]}", "look"]:
            assert native.step(command)[0] == original.step(command)[0], command
    finally:
        original.close()
