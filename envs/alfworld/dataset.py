"""The official ALFWorld splits from a user's data directory (``$ALFWORLD_DATA``).

Layout: ``<data_dir>/json_2.1.1/{train,valid_seen,valid_unseen,valid_train}/<task>/<trial>/``
with ``traj_data.json`` and ``game.tw-pddl``. The game collection follows the
original: walk the split for ``traj_data.json``; skip paths that
contain ``movable`` or ``Sliced``; keep the configured task types; require a
``game.tw-pddl`` beside it with ``solvable: true``; optionally truncate.

One deliberate difference: the original walks the folder in file-system order,
which differs between machines; here the walk is sorted, so a split's game list
is the same everywhere.
"""
from __future__ import annotations

import os
from pathlib import Path

from prism_gym.envs.alfworld.tables import normalize_task_types
from prism_gym.fileio import read_json

DATA_SPLITS = {"train": "train", "valid_seen": "valid_seen", "valid_unseen": "valid_unseen",
               "valid_train": "valid_train", "eval_in_distribution": "valid_seen",
               "eval_out_of_distribution": "valid_unseen"}
JSON_DIR = "json_2.1.1"


def resolve_data_dir(data_dir) -> Path:
    """``True`` / ``"env"`` means ``$ALFWORLD_DATA`` (default ``~/.cache/alfworld``)."""
    if data_dir is True or data_dir == "env":
        data_dir = os.environ.get("ALFWORLD_DATA") or os.path.expanduser("~/.cache/alfworld")
    return Path(os.path.expandvars(os.path.expanduser(str(data_dir))))


def split_game_files(data_dir, split: str, task_types=None, num_games: int | None = None) -> list[str]:
    """The ``game.tw-pddl`` paths of an official split, filtered like the original."""
    if split not in DATA_SPLITS:
        raise ValueError(f"unknown ALFWorld data split {split!r}; known: {', '.join(DATA_SPLITS)}")
    root = resolve_data_dir(data_dir)
    split_dir = root / JSON_DIR / DATA_SPLITS[split]
    if not split_dir.is_dir():
        raise FileNotFoundError(
            f"no ALFWorld split folder {split_dir} (set ALFWORLD_DATA or data_dir to the folder that holds "
            f"{JSON_DIR}/; the original's data download puts it in ~/.cache/alfworld)")
    wanted = set(normalize_task_types(task_types))
    files: list[str] = []
    for dirpath, dirnames, filenames in sorted(os.walk(split_dir, topdown=False)):
        if "traj_data.json" not in filenames:
            continue
        if "movable" in dirpath or "Sliced" in dirpath:
            continue
        traj_path = Path(dirpath) / "traj_data.json"
        traj = read_json(traj_path)
        if traj.get("task_type") not in wanted:
            continue
        game_path = Path(dirpath) / "game.tw-pddl"
        if not game_path.is_file():
            continue
        game_data = read_json(game_path)
        if not game_data.get("solvable", False):
            continue
        files.append(str(game_path))
    if num_games is not None and num_games > 0:
        files = files[:num_games]
    if not files:
        raise ValueError(f"split {split!r} under {split_dir} has no solvable games of the chosen task types")
    return files
