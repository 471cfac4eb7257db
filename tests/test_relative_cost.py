"""Cost ratios against the monolithic baselines: the reference run is found by
its run id, and must also have run the same settings (preset fingerprint)."""
from __future__ import annotations

import json

from prism_gym.runner.presets import apply_overrides, make_config
from prism_gym.runner.result import RESULT_FILE, preset_fingerprint, relative_costs


def _result(method: str, settings: list[str], flops: float) -> dict:
    """The fields of a result.json that relative_costs reads, for a `custom`
    run of ``method`` with ``--set`` ``settings``."""
    cfg = apply_overrides(make_config("tiny", "alfworld", method), settings)
    config = cfg.to_dict()
    return {"run_id": cfg.run_id(), "env": {"name": cfg.env}, "preset": cfg.preset, "seed": cfg.seed,
            "baseline": cfg.baseline, "config": config, "model": {"fingerprint": "sha256:" + "a" * 64},
            "ledger": {"total": {"flops": flops}}, "fingerprints": {"preset": preset_fingerprint(config)}}


def _write(root, result: dict):
    run_dir = root / result["run_id"]
    run_dir.mkdir(parents=True)
    (run_dir / RESULT_FILE).write_text(json.dumps(result))
    return run_dir


def test_custom_runs_with_other_settings_get_no_cost_ratio(tmp_path):
    reference = _result("rl-only", ["sft.epochs=1"], flops=4.0)
    _write(tmp_path, reference)
    other = _result("random", ["sft.epochs=5"], flops=2.0)
    # the same run id's reference directory, but another configuration: no ratio
    assert other["preset"] == reference["preset"] == "custom"
    assert relative_costs(tmp_path / other["run_id"], other)["vs_rl_only"] is None
    same = _result("random", ["sft.epochs=1"], flops=2.0)
    assert relative_costs(tmp_path / same["run_id"], same)["vs_rl_only"] == 0.5


def test_a_reference_without_a_recorded_preset_fingerprint_is_judged_by_its_config(tmp_path):
    reference = _result("rl-only", ["sft.epochs=1"], flops=4.0)
    del reference["fingerprints"]["preset"]  # a result.json made before the preset fingerprint was recorded
    _write(tmp_path, reference)
    same = _result("random", ["sft.epochs=1"], flops=1.0)
    assert relative_costs(tmp_path / same["run_id"], same)["vs_rl_only"] == 0.25
    other = _result("random", ["sft.epochs=3"], flops=1.0)
    assert relative_costs(tmp_path / other["run_id"], other)["vs_rl_only"] is None
