"""``leaderboard validate``: check entry files, one line per problem.

Besides each entry's own schema (:func:`prism_gym.leaderboard.schema.entry_problems`)
this checks what needs the file system or the other entries: the file name
(``<date>_<name>.json`` matching the entry's own date and name) and duplicate
runs across files (for reference agents measured here: the same agent and
settings played with the same protocol on the same env version).
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from prism_gym.leaderboard.agent_rows import agent_identity
from prism_gym.leaderboard.loading import NAME, LeaderboardError, entry_files, load_json_file
from prism_gym.leaderboard.schema import entry_problems
from prism_gym.leaderboard.submit import find_duplicate

FILENAME = re.compile(rf"(\d{{4}}-\d{{2}}-\d{{2}})_({NAME})\.json")


def _filename_problems(path: Path, entry: dict) -> list[str]:
    match = FILENAME.fullmatch(path.name)
    if not match:
        return [f"file name {path.name!r} does not have the form <YYYY-MM-DD>_<name>.json with a safe name"]
    problems = []
    if match.group(2) != entry.get("name"):
        problems.append(f"file name {path.name!r} does not match the entry's name {entry.get('name')!r}")
    created = entry.get("created")
    if isinstance(created, str) and match.group(1) != created[:10]:
        problems.append(f"file name date {match.group(1)} does not match the entry's created date {created[:10]}")
    return problems


def load_entry(path: str | os.PathLike) -> tuple[dict | None, list[str]]:
    """``(entry, problems)`` for one file; ``entry`` is None when unreadable."""
    path = Path(path)
    try:
        entry = load_json_file(path)
    except LeaderboardError as exc:
        return None, [str(exc)]
    problems = [f"{path}: {p}" for p in entry_problems(entry)]
    problems += [f"{path}: {p}" for p in _filename_problems(path, entry)]
    return entry, problems


def _check_files(paths) -> tuple[list[tuple[Path, dict]], list[str]]:
    """The readable entries among ``paths`` and every problem, including
    duplicates among them."""
    problems: list[str] = []
    seen: list[tuple[Path, dict]] = []
    for path in map(Path, paths):
        entry, found = load_entry(path)
        problems += found
        if entry is None:
            continue
        duplicate = find_duplicate(entry, seen)
        if duplicate is not None:
            problems.append(f"{path}: duplicate submission: records the same run as {duplicate}")
        measurement = agent_identity(entry)
        twin = next((p for p, e in seen if measurement is not None and agent_identity(e) == measurement), None)
        if twin is not None:
            problems.append(f"{path}: duplicate reference agent: measures the same agent with the same protocol "
                            f"as {twin}")
        seen.append((path, entry))
    return seen, problems


def validate_files(paths: list[str | os.PathLike]) -> list[str]:
    """Every problem in the given entry files, including duplicates among them."""
    return _check_files(paths)[1]


def restamp_intervals(paths: list[str | os.PathLike]) -> list[Path]:
    """Rewrite the recorded ``intervals`` of each entry among ``paths`` that
    differ from the ones its own values give now (after a change in how an
    interval is computed), and return the rewritten files. Nothing else in an
    entry changes but its content fingerprint, which is recomputed. An entry
    that was edited after submission (its fingerprint no longer matches) or
    whose outcomes are inconsistent is left alone, for ``validate`` to
    report: restamping must not vouch for an edit."""
    from prism_gym.fileio import write_json
    from prism_gym.leaderboard.fingerprint import entry_fingerprint
    from prism_gym.leaderboard.intervals import entry_intervals
    from prism_gym.leaderboard.schema import outcome_problems
    from prism_gym.stats import StatsError

    rewritten = []
    for path in map(Path, paths):
        try:
            entry = load_json_file(path)
        except LeaderboardError:
            continue
        outcomes = entry.get("outcomes") if isinstance(entry, dict) else None
        if not isinstance(entry, dict) or not isinstance(entry.get("intervals"), dict) or \
                entry.get("entry_fingerprint") != entry_fingerprint(entry) or \
                (outcomes is not None and outcome_problems(outcomes, entry["metrics"]["per_split"])):
            continue
        try:
            fresh = entry_intervals(entry)
        except (StatsError, KeyError, TypeError, ValueError):
            continue
        if fresh != entry["intervals"]:
            entry["intervals"] = fresh
            entry["entry_fingerprint"] = entry_fingerprint(entry)
            write_json(path, entry)
            rewritten.append(path)
    return rewritten


def load_valid_entries(entries_dir: str | os.PathLike) -> list[tuple[Path, dict]]:
    """All entries of ``entries_dir``; raises with every problem if any is invalid."""
    entries, problems = _check_files(entry_files(entries_dir))
    if problems:
        raise LeaderboardError("invalid entries:\n" + "\n".join(problems))
    return entries
