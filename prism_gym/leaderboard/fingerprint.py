"""Content fingerprints: ``"sha256:<hex>"`` strings for files, directories and
JSON values.

``leaderboard submit`` and ``leaderboard verify`` recompute the fingerprints a
run recorded (checkpoint weights, config) with the same rules as the runner,
so a checkpoint or config that changed after the run is caught.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

PREFIX = "sha256:"
_CHUNK = 1 << 20


def canonical_json(value: Any) -> bytes:
    """One byte string per JSON value: sorted keys, no spaces, NaN refused."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def json_fingerprint(value: Any) -> str:
    return PREFIX + hashlib.sha256(canonical_json(value)).hexdigest()


def bytes_fingerprint(data: bytes) -> str:
    return PREFIX + hashlib.sha256(data).hexdigest()


def weights_fingerprint(model_dir: str | os.PathLike) -> str:
    """Fingerprint of a saved model: sha256 over its ``*.safetensors`` files in
    name order, each contributing its file name then its bytes (the weights,
    not the config or tokenizer files). This is the rule the runner uses for
    ``fingerprints.checkpoint`` in result.json."""
    model_dir = Path(model_dir)
    if model_dir.is_symlink() or not model_dir.is_dir():
        raise FileNotFoundError(f"{model_dir}: not a model directory")
    files = sorted(p for p in model_dir.glob("*.safetensors") if p.is_file() and not p.is_symlink())
    if not files:
        raise FileNotFoundError(f"no safetensors weights in {model_dir}")
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode())
        with open(path, "rb") as fh:
            while chunk := fh.read(_CHUNK):
                digest.update(chunk)
    return PREFIX + digest.hexdigest()


def config_fingerprint(config: dict) -> str:
    """Fingerprint of a run's config as result.json carries it: sha256 of its
    compact sorted JSON without ``device`` (which does not change results);
    the runner's rule for ``fingerprints.config``."""
    settings = {k: v for k, v in config.items() if k != "device"}
    return PREFIX + hashlib.sha256(json.dumps(settings, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def run_fingerprint(fingerprints: dict, seed: int) -> str:
    """The identity of a run's outcome: its config, data split, checkpoint and
    seed. Two entries with the same run fingerprint are one result twice."""
    return json_fingerprint({"config": fingerprints.get("config"), "data_split": fingerprints.get("data_split"),
                             "checkpoint": fingerprints.get("checkpoint"), "seed": seed})


def entry_fingerprint(entry: dict) -> str:
    """Fingerprint of an entry's content, without the field that stores it."""
    return json_fingerprint({k: v for k, v in entry.items() if k != "entry_fingerprint"})
