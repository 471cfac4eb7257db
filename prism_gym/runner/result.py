"""result.json: the run summary the leaderboard reads (docs/runner.md and the
leaderboard's schema), its fingerprints, and costs relative to the monolithic
baselines of the same preset."""
from __future__ import annotations

import hashlib
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

from prism_gym.fileio import read_json, write_json

RESULT_FILE = "result.json"
SCHEMA_VERSION = 1
REFERENCES = {"vs_rl_only": "rl-only", "vs_sft_then_rl": "sft-then-rl"}


def sha256_files(paths: Iterable[Path]) -> str:
    h = hashlib.sha256()
    for p in sorted(Path(p) for p in paths):
        h.update(p.name.encode())
        with open(p, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return "sha256:" + h.hexdigest()


def sha256_text(lines: Iterable[str]) -> str:
    h = hashlib.sha256()
    for line in lines:
        h.update(line.encode())
        h.update(b"\n")
    return "sha256:" + h.hexdigest()


def weights_fingerprint(model_dir: Path) -> str:
    """sha256 of a saved model's safetensors files (the weights, not the config)."""
    files = list(Path(model_dir).glob("*.safetensors"))
    if not files:
        raise FileNotFoundError(f"no safetensors weights in {model_dir}")
    return sha256_files(files)


def code_version() -> str:
    from prism_gym import __version__

    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=Path(__file__).parent,
                             capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        sha = ""
    return f"{__version__}+g{sha or 'unknown'}"


def now_iso() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def reference_dir(run_dir: Path, result: dict, baseline: str) -> Path:
    """Where the ``baseline`` run of the same env, preset and seed lives."""
    return Path(run_dir).parent / f"{result['env']['name']}-{baseline}-{result['preset']}-s{result['seed']}"


def relative_costs(run_dir: Path, result: dict) -> dict:
    """Total FLOPs of this run over those of each reference run (None when the
    reference has not run, or ran another model)."""
    out = {}
    flops = result["ledger"]["total"]["flops"]
    for key, baseline in REFERENCES.items():
        ref_path = reference_dir(run_dir, result, baseline) / RESULT_FILE
        value = None
        if result.get("baseline") == baseline:
            value = 1.0  # the run is its own reference
        elif ref_path.exists():
            ref = read_json(ref_path)
            ref_flops = ref["ledger"]["total"]["flops"]
            if ref.get("model", {}).get("fingerprint") == result["model"]["fingerprint"] and ref_flops > 0:
                value = round(flops / ref_flops, 6)
        out[key] = value
    return out


def refresh_relative_costs(runs_root: Path) -> int:
    """Fill in ``relative_cost`` for every finished run under ``runs_root``
    (references may finish after the runs that cite them); return how many changed."""
    changed = 0
    for path in sorted(Path(runs_root).glob(f"*/{RESULT_FILE}")):
        result = read_json(path)
        new = relative_costs(path.parent, result)
        if new != result.get("relative_cost"):
            result["relative_cost"] = new
            write_json(path, result)
            changed += 1
    return changed
