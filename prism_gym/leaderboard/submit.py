"""``leaderboard submit``: turn a run directory's ``result.json`` into an entry.

The entry is written to ``<entries>/<date>_<name>.json`` (date of the run's
``created`` time, name = the run id) by an exclusive create: an existing file
is never overwritten, and a run that is already on the board (same run
fingerprint or the same ``result.json`` bytes) is rejected as a duplicate.
"""
from __future__ import annotations

import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from prism_gym.leaderboard.fingerprint import (bytes_fingerprint, config_fingerprint, entry_fingerprint,
                                               run_fingerprint, weights_fingerprint)
from prism_gym.leaderboard.loading import (LeaderboardError, MAX_FILE_BYTES, check_name, entry_files,
                                          load_json_file)
from prism_gym.leaderboard.intervals import entry_intervals
from prism_gym.leaderboard.schema import ENTRY_SCHEMA_VERSION, entry_problems, result_problems

RESULT_FILE = "result.json"


class SubmissionError(LeaderboardError):
    """A run cannot be submitted; ``problems`` holds one line per reason."""

    def __init__(self, message: str, problems: list[str] | None = None):
        self.problems = problems or [message]
        super().__init__(message)


def load_result(run_dir: str | os.PathLike) -> tuple[dict, bytes]:
    """The run's ``result.json``, checked against the result schema, and its bytes."""
    path = Path(run_dir) / RESULT_FILE
    if not Path(run_dir).is_dir():
        raise SubmissionError(f"{run_dir}: not a run directory")
    result = load_json_file(path)
    problems = result_problems(result)
    if problems:
        raise SubmissionError(f"{path}: {len(problems)} problem(s)", [f"{path}: {p}" for p in problems])
    return result, path.read_bytes()


def _checkpoint_path(run_dir: Path, relative: str) -> Path:
    """Resolve the result's checkpoint path, refusing anything outside the run directory."""
    rel = PurePosixPath(relative.replace("\\", "/"))
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        raise SubmissionError(f"checkpoint path {relative!r} is rejected: it must be a relative path inside the "
                              "run directory, without '..' (path traversal)")
    path = run_dir.joinpath(*rel.parts)
    if not path.resolve().is_relative_to(run_dir.resolve()):
        raise SubmissionError(f"checkpoint path {relative!r} leads outside the run directory (path traversal)")
    return path


def check_checkpoint(run_dir: Path, relative: str | None, expected: str | None) -> bool:
    """Recompute the checkpoint fingerprint when the checkpoint is present.

    Returns whether it was checked; raises on a mismatch."""
    if relative is None or expected is None:
        return False
    path = _checkpoint_path(run_dir, relative)
    if not path.exists():
        return False  # a copied run summary without its checkpoint: nothing to compare
    try:
        actual = weights_fingerprint(path)
    except FileNotFoundError as exc:
        raise SubmissionError(f"checkpoint {relative}: {exc}") from None
    if actual != expected:
        raise SubmissionError(f"fingerprint mismatch: the checkpoint {relative} hashes to {actual}, but "
                              f"result.json records {expected}; the checkpoint changed after the run")
    return True


def check_config(result: dict) -> None:
    """When result.json carries its config, its fingerprint must match."""
    config = result.get("config")
    if config is None:
        return
    actual = config_fingerprint(config)
    if actual != result["fingerprints"]["config"]:
        raise SubmissionError(f"fingerprint mismatch: the config in result.json hashes to {actual}, but "
                              f"fingerprints.config records {result['fingerprints']['config']}")


def evaluation_protocol(result: dict) -> dict:
    """The evaluation settings ``verify`` needs to repeat the run's evaluation.

    Taken from result.json's ``evaluation`` block when present; otherwise
    derived from its ``config`` with the runner's convention that the i-th
    evaluated split (in the order of ``metrics.per_split``) used seed + i.
    The agent's decoding comes from the block, else from ``config.agent``;
    a result that names neither decoded freely."""
    given = result.get("evaluation")
    agent = (result.get("config") or {}).get("agent") or {}
    decoding = {key: str((given or {}).get(key) or agent.get(key) or "free") for key in ("decoding", "slot_text")}
    if given is not None:
        return {"splits": [{"split": s["split"], "seed": int(s["seed"]), "episodes": int(s["episodes"])}
                           for s in given["splits"]],
                "max_steps": given.get("max_steps"), "max_new_tokens": given.get("max_new_tokens"),
                "temperature": float(given.get("temperature") or 0.0), **_non_default(decoding)}
    per_split = result["metrics"]["per_split"]
    if not per_split:
        raise SubmissionError("metrics.per_split is empty: a run must report at least one evaluated split")
    eval_cfg = (result.get("config") or {}).get("eval") or {}
    max_steps, max_new = eval_cfg.get("max_steps"), eval_cfg.get("max_new_tokens")
    temperature = eval_cfg.get("temperature", 0.0)
    return {"splits": [{"split": name, "seed": int(result["seed"]) + i, "episodes": int(bucket["episodes"])}
                       for i, (name, bucket) in enumerate(per_split.items())],
            "max_steps": max_steps if isinstance(max_steps, int) and not isinstance(max_steps, bool) else None,
            "max_new_tokens": max_new if isinstance(max_new, int) and not isinstance(max_new, bool) else None,
            "temperature": float(temperature) if isinstance(temperature, (int, float))
            and not isinstance(temperature, bool) and temperature >= 0 else 0.0, **_non_default(decoding)}


def _non_default(decoding: dict) -> dict:
    """The decoding keys of an entry's protocol: omitted for free decoding, so
    that entries of runs that decoded freely read as they always have."""
    return decoding if decoding != {"decoding": "free", "slot_text": "free"} else {}


def run_label(router: dict | None, baseline: str | None, algorithm: str = "") -> str:
    """A short human label: the baseline's name, or the router with its metric;
    then the RL algorithm when it is not plain GRPO (``prism (gini) + gigpo``)."""
    suffix = f" + {algorithm}" if algorithm else ""
    if baseline:
        return baseline + suffix
    assert router is not None
    settings = router.get("settings") or {}
    parts = [str(settings[key]) for key in ("metric",) if settings.get(key) is not None]
    if settings.get("rl_fraction") is not None:
        parts.append(f"rl {settings['rl_fraction']}")
    return router["name"] + (f" ({', '.join(parts)})" if parts else "") + suffix


def result_label(result: dict) -> str:
    """A result.json's method label, its RL algorithm included."""
    from prism_gym.runner.presets import algorithm_tag

    return run_label(result["router"], result["baseline"], algorithm_tag(result.get("config") or {}))


def rl_algorithm_of(result: dict) -> str | None:
    """The algorithm that trained the RL share; None for sft-only, which has no RL stage."""
    from prism_gym.runner.presets import DEFAULT_ALGORITHM, has_rl_stage

    config = result.get("config") or {}
    if not has_rl_stage({**config, "baseline": result["baseline"]}):
        return None
    return (config.get("rl") or {}).get("algorithm") or DEFAULT_ALGORITHM


def _bucket(b: dict) -> dict:
    return {"success_rate": b["success_rate"], "score": b["score"], "episodes": int(b["episodes"])}


def preset_fingerprint_of(result: dict) -> str | None:
    """The result's preset fingerprint: recorded, or computed from its config."""
    from prism_gym.runner.result import preset_fingerprint_of as of_result

    return of_result(result)


def _outcomes(outcomes: dict) -> dict:
    return {split: {"task_ids": list(rec["task_ids"]), "won": [int(w) for w in rec["won"]],
                    "score": [float(x) for x in rec["score"]]} for split, rec in outcomes.items()}


def _display_path(run_dir: Path) -> str:
    """The run directory as the entry records it: relative to the working
    directory when inside it (no user paths in committed files), else its name."""
    resolved = run_dir.resolve()
    cwd = Path.cwd().resolve()
    if resolved.is_relative_to(cwd):
        return resolved.relative_to(cwd).as_posix() or "."
    return resolved.name


def build_entry(result: dict, run_dir: str | os.PathLike, result_bytes: bytes, *,
                submitted: datetime | None = None) -> dict:
    """The entry for a valid ``result``. Only known fields are copied."""
    run_dir = Path(run_dir)
    check_name(result["run_id"], "run_id")
    fps = result["fingerprints"]
    check_config(result)
    checked = check_checkpoint(run_dir, result["checkpoint"], fps["checkpoint"])
    submitted = (submitted or datetime.now(timezone.utc)).replace(microsecond=0)
    metrics = result["metrics"]
    routing = result["routing"]
    entry = {
        "schema_version": ENTRY_SCHEMA_VERSION,
        "kind": "run",
        "name": result["run_id"],
        "label": result_label(result),
        "created": result["created"],
        "submitted": submitted.isoformat(),
        "code_version": result["code_version"],
        "preset": result["preset"],
        "track": result["track"],
        "router": None if result["router"] is None else
        {"name": result["router"]["name"], "settings": dict(result["router"]["settings"])},
        "baseline": result["baseline"],
        "rl_algorithm": rl_algorithm_of(result),
        "model": {k: result["model"][k] for k in ("name", "parameters", "fingerprint")},
        "env": {k: result["env"][k] for k in ("name", "id", "version", "data_fingerprint")},
        "seeds": [result["seed"]],
        "routing": None if routing is None else {k: routing[k] for k in ("trajectories", "sft", "rl")},
        "metrics": {
            "success_rate": metrics["success_rate"], "score": metrics["score"],
            "per_split": {k: _bucket(v) for k, v in metrics["per_split"].items()},
            "per_task_type": {k: _bucket(v) for k, v in metrics["per_task_type"].items()},
        },
        "ledger": {"stages": {name: {k: row[k] for k in row} for name, row in result["ledger"]["stages"].items()},
                   "total": dict(result["ledger"]["total"])},
        "relative_cost": {k: result["relative_cost"][k] for k in ("vs_rl_only", "vs_sft_then_rl")},
        "fingerprints": {"config": fps["config"], "data_split": fps["data_split"], "checkpoint": fps["checkpoint"],
                         "run": run_fingerprint(fps, result["seed"])},
        "provenance": {"run_dir": _display_path(run_dir), "checkpoint": result["checkpoint"],
                       "checkpoint_checked": checked, "result_sha256": bytes_fingerprint(result_bytes)},
        "evaluation": evaluation_protocol(result),
        "reported": None,
    }
    if "episodes" in metrics:
        entry["metrics"]["episodes"] = int(metrics["episodes"])
    preset = preset_fingerprint_of(result)
    if result.get("outcomes") is not None and preset is not None:
        entry["fingerprints"] = {"config": fps["config"], "preset": preset, "data_split": fps["data_split"],
                                 "checkpoint": fps["checkpoint"], "run": entry["fingerprints"]["run"]}
        entry["outcomes"] = _outcomes(result["outcomes"])
        entry["intervals"] = entry_intervals(entry)
    else:
        # A result without per-episode outcomes (runner before version 2) makes a version 1 entry.
        entry["schema_version"] = 1
    entry["entry_fingerprint"] = entry_fingerprint(entry)
    problems = entry_problems(entry)
    if problems:  # the result schema should make this impossible; never write a bad entry
        raise SubmissionError("the entry built from result.json is invalid", problems)
    return entry


def entry_filename(entry: dict) -> str:
    return f"{entry['created'][:10]}_{check_name(entry['name'])}.json"


def existing_entries(entries_dir: Path) -> list[tuple[Path, dict]]:
    """The readable entries in ``entries_dir`` (unreadable ones are left to ``validate``)."""
    found = []
    for path in entry_files(entries_dir):
        try:
            found.append((path, load_json_file(path)))
        except LeaderboardError:
            continue
    return found


def find_duplicate(entry: dict, others: list[tuple[Path, dict]]) -> Path | None:
    """The existing entry that records the same run, if any."""
    run = (entry.get("fingerprints") or {}).get("run")
    result_hash = (entry.get("provenance") or {}).get("result_sha256")
    for path, other in others:
        other_fps = other.get("fingerprints") if isinstance(other.get("fingerprints"), dict) else {}
        other_prov = other.get("provenance") if isinstance(other.get("provenance"), dict) else {}
        if run and other_fps.get("run") == run:
            return path
        if result_hash and other_prov.get("result_sha256") == result_hash:
            return path
    return None


def write_new_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically, failing if ``path`` exists.

    The content goes to a temporary file first; a hard link then publishes it
    under the final name, which the OS refuses if the name is taken, so
    concurrent submissions cannot overwrite each other."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise SubmissionError(f"{path} already exists; entries are never overwritten "
                                  "(rename the run or remove the old entry by hand)") from None
    finally:
        os.unlink(tmp)


def entry_text(entry: dict) -> str:
    import json

    text = json.dumps(entry, indent=2, sort_keys=True, allow_nan=False) + "\n"
    if len(text.encode()) > MAX_FILE_BYTES:
        raise SubmissionError(f"the entry would be {len(text.encode())} bytes, over the limit of {MAX_FILE_BYTES}")
    return text


def submit(run_dir: str | os.PathLike, entries_dir: str | os.PathLike, *, submitted: datetime | None = None) -> Path:
    """Validate ``run_dir``'s result and write its entry; return the entry's path."""
    run_dir, entries_dir = Path(run_dir), Path(entries_dir)
    result, raw = load_result(run_dir)
    entry = build_entry(result, run_dir, raw, submitted=submitted)
    duplicate = find_duplicate(entry, existing_entries(entries_dir))
    if duplicate is not None:
        raise SubmissionError(f"duplicate submission: run {entry['name']!r} is already on the leaderboard as "
                              f"{duplicate} (same run fingerprint or same result.json)")
    path = entries_dir / entry_filename(entry)
    write_new_file(path, entry_text(entry))
    return path
