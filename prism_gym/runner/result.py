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
# 2: per-episode ``outcomes``, the ``evaluation`` protocol and ``fingerprints.preset``
SCHEMA_VERSION = 2
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


# Config fields that name the method or the seed rather than the protocol
# every method of a comparison shares.
METHOD_FIELDS = ("router", "router_options", "baseline", "seed", "device", "arbiter", "arbiter_options")


def preset_fingerprint(config: dict) -> str:
    """sha256 of a run's config without the method and seed fields (router,
    baseline, RL algorithm): runs with the same preset fingerprint differ only
    in what is being compared. Null settings are left out, so that a setting
    added later with a null default does not set apart runs that ran alike."""
    import json

    def drop_nulls(value):
        if isinstance(value, dict):
            return {k: drop_nulls(v) for k, v in value.items() if v is not None}
        return value

    from prism_gym.runner.presets import METHOD_RL_SETTINGS

    shared = drop_nulls({k: v for k, v in config.items() if k not in METHOD_FIELDS})
    if isinstance(shared.get("rl"), dict):  # the RL algorithm is part of the method too
        shared["rl"] = {k: v for k, v in shared["rl"].items() if k not in METHOD_RL_SETTINGS}
    return "sha256:" + hashlib.sha256(json.dumps(shared, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def preset_fingerprint_of(result: dict) -> str | None:
    """A result's preset fingerprint: recorded, or computed from its config
    (results made before it was recorded); None when it has neither."""
    recorded = (result.get("fingerprints") or {}).get("preset")
    if recorded is not None:
        return recorded
    config = result.get("config")
    return preset_fingerprint(config) if isinstance(config, dict) else None


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
    """Where the ``baseline`` run of the same env, preset, RL algorithm and seed
    lives (a GiGPO run's rl-only reference is GiGPO-only)."""
    from prism_gym.runner.presets import algorithm_tag

    tag = algorithm_tag({**result.get("config", {}), "baseline": baseline, "router": None})
    label = baseline + (f"-{tag}" if tag else "")
    return Path(run_dir).parent / f"{result['env']['name']}-{label}-{result['preset']}-s{result['seed']}"


def relative_costs(run_dir: Path, result: dict) -> dict:
    """Total FLOPs of this run over those of each reference run (None when the
    reference has not run, ran another model, or ran other settings).

    The reference is found by its run id, which names the preset but not the
    settings: every ``--set`` run is preset ``custom``. So the reference must
    also have this run's preset fingerprint (the config less the method and
    the seed), or two differently configured ``custom`` runs would compare."""
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
            same_model = ref.get("model", {}).get("fingerprint") == result["model"]["fingerprint"]
            preset = preset_fingerprint_of(result)
            same_settings = preset is not None and preset_fingerprint_of(ref) == preset
            if same_model and same_settings and ref_flops > 0:
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
