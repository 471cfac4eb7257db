"""Reading leaderboard files safely.

Entries and ``result.json`` files come from other people's machines, so they
are treated as untrusted data: size-capped before they are read, parsed with
the plain JSON parser (nothing is executed, imported or unpickled), and
rejected when they hold things JSON allows but a result must not (NaN and
Infinity literals, repeated keys, a top level that is not an object).
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

# An entry is a few kilobytes; a quarter of a megabyte leaves room for many task
# types while keeping a hostile file from exhausting memory.
MAX_FILE_BYTES = 256 * 1024

# Names become file names: letters, digits, dot, dash, underscore; no leading
# dot (hidden files, "..") and a bounded length.
NAME = r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}"
NAME_HINT = "1-100 characters from A-Z a-z 0-9 . _ -, starting with a letter or digit"
NAME_PATTERN = re.compile(NAME)


class LeaderboardError(ValueError):
    """A leaderboard input is unusable; the message says which file and why."""


def check_name(name: Any, what: str = "name") -> str:
    """Return ``name`` if it is safe to use inside a file name, else raise."""
    if not isinstance(name, str):
        raise LeaderboardError(f"{what} must be a string, got {type(name).__name__}")
    if "/" in name or "\\" in name or ".." in name:
        raise LeaderboardError(f"{what} {name!r} is rejected: path separators and '..' are not allowed "
                               "(path traversal)")
    if not NAME_PATTERN.fullmatch(name):
        raise LeaderboardError(f"{what} {name!r} is rejected: use {NAME_HINT}")
    return name


def _reject_constant(token: str):
    raise LeaderboardError(f"{token} is not a number a result may hold (NaN and Infinity are rejected)")


def _no_repeated_keys(pairs):
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise LeaderboardError(f"key {key!r} appears twice in one object")
        obj[key] = value
    return obj


def parse_json_text(text: str, source: str) -> dict:
    """Parse ``text`` as one JSON object; errors name ``source`` and the position."""
    try:
        data = json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_no_repeated_keys)
    except json.JSONDecodeError as exc:
        raise LeaderboardError(f"{source}: malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except LeaderboardError as exc:
        raise LeaderboardError(f"{source}: {exc}") from None
    except RecursionError:
        raise LeaderboardError(f"{source}: JSON nested too deeply") from None
    if not isinstance(data, dict):
        raise LeaderboardError(f"{source}: the top level must be a JSON object, got {type(data).__name__}")
    return data


def load_json_file(path: str | os.PathLike, max_bytes: int = MAX_FILE_BYTES) -> dict:
    """Read one JSON object from ``path`` with the checks above."""
    path = Path(path)
    if path.is_symlink():
        raise LeaderboardError(f"{path}: is a symbolic link; leaderboard files must be regular files")
    if not path.is_file():
        raise LeaderboardError(f"{path}: no such file")
    size = path.stat().st_size
    if size > max_bytes:
        raise LeaderboardError(f"{path}: file is {size} bytes, over the limit of {max_bytes} bytes")
    with open(path, "rb") as fh:
        raw = fh.read(max_bytes + 1)  # the file may have grown since stat
    if len(raw) > max_bytes:
        raise LeaderboardError(f"{path}: file is over the limit of {max_bytes} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LeaderboardError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    return parse_json_text(text, str(path))


def entry_files(entries_dir: str | os.PathLike) -> list[Path]:
    """Every entry file in ``entries_dir``, sorted (hidden temporary files skipped)."""
    entries_dir = Path(entries_dir)
    if not entries_dir.is_dir():
        return []
    return sorted(p for p in entries_dir.iterdir() if p.suffix == ".json" and not p.name.startswith("."))
