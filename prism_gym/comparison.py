"""Compare methods across runs: load run directories and leaderboard entries,
refuse runs that were not measured alike, and compute every method's values
and its difference from a baseline with prism_gym.stats (docs/statistics.md).

A run is one method at one seed. Runs are paired by seed (the seed fixes the
expert tasks, so methods at one seed start from the same data) and by
evaluation task (every run is evaluated on the same fixed task list).
"""
from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from prism_gym import stats


class ComparisonError(ValueError):
    """The runs cannot be compared; ``problems`` says why, one line each."""

    def __init__(self, message: str, problems: list[str] | None = None):
        self.problems = problems or [message]
        super().__init__(message if not problems else message + ":\n" + "\n".join(problems))


@dataclass
class RunRecord:
    """What a comparison needs from one run (a result.json or an entry)."""

    source: str
    method: str
    seed: int
    env: str
    env_version: str
    data_fingerprint: str | None
    preset: str | None
    preset_fingerprint: str | None
    model_fingerprint: str | None
    code_version: str | None
    protocol: tuple | None  # ((split, episodes), ...) when known
    per_split: dict
    success: float
    score: float
    flops: float | None
    outcomes: dict | None = field(default=None, repr=False)

    @property
    def episodes(self) -> int:
        return sum(int(b["episodes"]) for b in self.per_split.values())

    def task_lists(self) -> dict | None:
        if self.outcomes is None:
            return None
        return {split: tuple(rec["task_ids"]) for split, rec in self.outcomes.items()}

    def vector(self, key: str, splits: list[str]) -> np.ndarray:
        """Per-episode outcomes ``won`` or ``score`` over ``splits`` in order."""
        assert self.outcomes is not None
        return np.concatenate([np.asarray(self.outcomes[s][key], dtype=float) for s in splits])


def record_from_result(result: dict, source: str = "") -> RunRecord:
    from prism_gym.leaderboard.submit import preset_fingerprint_of, result_label

    evaluation = result.get("evaluation")
    protocol = None
    if evaluation:
        protocol = tuple((s["split"], int(s["episodes"])) for s in evaluation["splits"])
    elif result["metrics"].get("per_split"):
        protocol = tuple((name, int(b["episodes"])) for name, b in result["metrics"]["per_split"].items())
    return RunRecord(
        source=source or result.get("run_id", "?"), method=result_label(result),
        seed=int(result["seed"]), env=result["env"]["name"], env_version=result["env"]["version"],
        data_fingerprint=result["env"].get("data_fingerprint"), preset=result.get("preset"),
        preset_fingerprint=preset_fingerprint_of(result), model_fingerprint=result["model"].get("fingerprint"),
        code_version=result.get("code_version"), protocol=protocol, per_split=result["metrics"]["per_split"],
        success=float(result["metrics"]["success_rate"]), score=float(result["metrics"]["score"]),
        flops=float(result["ledger"]["total"]["flops"]), outcomes=result.get("outcomes"))


def record_from_entry(entry: dict, source: str = "") -> RunRecord:
    where = source or entry.get("name", "?")
    if entry["kind"] == "agent":
        raise ComparisonError(f"{where}: a reference agent's row is an agent that was not trained, not a run of "
                              "a method; it has no seeds of training to pair with a run's")
    if entry["kind"] != "run":
        raise ComparisonError(f"{where}: a reported reference row has no runs to compare (it is a published "
                              "number, not a run of this code)")
    evaluation = entry.get("evaluation")
    protocol = tuple((s["split"], int(s["episodes"])) for s in evaluation["splits"]) if evaluation else None
    return RunRecord(
        source=where, method=entry["label"], seed=int(entry["seeds"][0]), env=entry["env"]["name"],
        env_version=entry["env"]["version"], data_fingerprint=entry["env"]["data_fingerprint"],
        preset=entry["preset"], preset_fingerprint=(entry["fingerprints"] or {}).get("preset"),
        model_fingerprint=entry["model"]["fingerprint"], code_version=entry["code_version"], protocol=protocol,
        per_split=entry["metrics"]["per_split"], success=float(entry["metrics"]["success_rate"]),
        score=float(entry["metrics"]["score"]), flops=(entry["ledger"] or {}).get("total", {}).get("flops"),
        outcomes=entry.get("outcomes"))


def load_records(paths: list[str | os.PathLike]) -> list[RunRecord]:
    """A record per path: a run directory (its result.json) or an entry file;
    every unreadable or invalid input is reported at once."""
    from prism_gym.leaderboard.loading import LeaderboardError, load_json_file
    from prism_gym.leaderboard.schema import result_problems
    from prism_gym.leaderboard.validate import load_entry

    records, problems = [], []
    for raw in paths:
        path = Path(raw)
        try:
            if path.is_dir():
                result = load_json_file(path / "result.json")
                found = result_problems(result)
                if found:
                    problems += [f"{path / 'result.json'}: {p}" for p in found]
                    continue
                records.append(record_from_result(result, str(path)))
            elif path.is_file():
                entry, found = load_entry(path)
                if found or entry is None:
                    problems += found
                    continue
                records.append(record_from_entry(entry, str(path)))
            else:
                problems.append(f"{path}: neither a run directory nor an entry file")
        except (LeaderboardError, ComparisonError) as exc:
            problems.append(str(exc))
    if problems:
        raise ComparisonError("cannot read every input", problems)
    return records


# -- what may be compared ---------------------------------------------------------------------------------
def _short(fp: str | None) -> str:
    return "unknown" if fp is None else fp.replace("sha256:", "")[:12]


def comparability(records: list[RunRecord]) -> tuple[list[str], list[str]]:
    """``(problems, notes)``: problems forbid the comparison (each names what
    differs and where); notes say what could not be checked or merely differs."""
    problems, notes = [], []
    if not records:
        return ["no runs to compare"], notes

    def differs(what: str, get, show=str) -> None:
        values = {}
        for r in records:
            values.setdefault(get(r), []).append(r.source)
        if len(values) > 1:
            parts = "; ".join(f"{show(v)}: {', '.join(srcs)}" for v, srcs in values.items())
            problems.append(f"{what} differs: {parts}")

    differs("env", lambda r: r.env)
    differs("env version", lambda r: r.env_version)
    differs("base model fingerprint", lambda r: r.model_fingerprint, _short)
    if all(r.preset_fingerprint is not None for r in records):
        differs("preset fingerprint (config without router, baseline and seed)", lambda r: r.preset_fingerprint,
                _short)
    else:
        unknown = [Path(r.source).name for r in records if r.preset_fingerprint is None]
        notes.append(f"preset fingerprint unknown for {len(unknown)} run(s) ({', '.join(unknown)}: schema version 1); "
                     "compared on the preset name, base model and evaluation protocol instead")
        differs("preset", lambda r: r.preset)
    by_seed = defaultdict(list)
    for r in records:
        by_seed[r.seed].append(r)
    for seed, group in sorted(by_seed.items()):
        fps = {r.data_fingerprint for r in group}
        if len(fps) > 1:
            problems.append(f"env data fingerprint differs at seed {seed}: " + "; ".join(
                f"{_short(r.data_fingerprint)}: {r.source}" for r in group))
    with_tasks = [r for r in records if r.outcomes is not None]
    if with_tasks:
        reference = with_tasks[0].task_lists()
        for r in with_tasks[1:]:
            lists = r.task_lists()
            if set(lists) != set(reference):
                problems.append(f"eval splits differ: {sorted(lists)} in {r.source}, {sorted(reference)} in "
                                f"{with_tasks[0].source}")
                continue
            for split in reference:
                if lists[split] != reference[split]:
                    problems.append(f"eval task list of split {split!r} differs between {with_tasks[0].source} and "
                                    f"{r.source}")
    if len(with_tasks) < len(records):
        differs("evaluation protocol (splits and episodes)", lambda r: r.protocol)
        notes.append("some runs have no per-episode outcomes (schema version 1): their differences are unpaired")
    seen = {}
    for r in records:
        key = (r.method, r.seed)
        if key in seen:
            problems.append(f"method {r.method!r} seed {r.seed} appears twice: {seen[key]} and {r.source}")
        seen[key] = r.source
    codes = sorted({r.code_version for r in records if r.code_version})
    if len(codes) > 1:
        notes.append(f"runs come from {len(codes)} code versions: {', '.join(codes)}")
    return problems, notes


# -- the numbers ------------------------------------------------------------------------------------------------
def summarize_method(runs: list[RunRecord]) -> dict:
    """n seeds, episodes, and success / score / FLOPs with intervals for one method."""
    runs = sorted(runs, key=lambda r: r.seed)
    counts = [r.episodes for r in runs]
    success = stats.clipped(stats.seed_mean([r.success for r in runs], rate_episodes=counts if all(counts) else None))
    episodes = None
    if all(r.outcomes is not None for r in runs):
        episodes = [x for r in runs for x in r.vector("score", list(r.outcomes))]
    score = stats.clipped(stats.seed_mean([r.score for r in runs], episodes=episodes, bounds=(0.0, 100.0)),
                          0.0, 100.0)
    flops = [r.flops for r in runs if r.flops is not None]
    cost = stats.t_interval(flops, what="seeds") if flops else None
    return {"method": runs[0].method, "seeds": [r.seed for r in runs], "episodes": [r.episodes for r in runs],
            "success": success.to_dict(), "score": score.to_dict(), "flops": None if cost is None else cost.to_dict()}


def _paired_matrices(method: list[RunRecord], baseline: list[RunRecord], key: str):
    splits = list(method[0].outcomes)
    a = np.stack([r.vector(key, splits) for r in method])
    b = np.stack([r.vector(key, splits) for r in baseline])
    return a, b


def compare_method(method: list[RunRecord], baseline: list[RunRecord], *, power_d: float | None = None) -> dict:
    """Differences method - baseline in success (0-1) and score, and the cost ratio."""
    m_by_seed = {r.seed: r for r in method}
    b_by_seed = {r.seed: r for r in baseline}
    shared = sorted(set(m_by_seed) & set(b_by_seed))
    pm, pb = [m_by_seed[s] for s in shared], [b_by_seed[s] for s in shared]
    out: dict = {"method": method[0].method, "baseline": baseline[0].method, "shared_seeds": shared}
    paired = bool(shared) and all(r.outcomes is not None for r in pm + pb)
    if paired:
        for key, name, binary in (("won", "success", True), ("score", "score", False)):
            a, b = _paired_matrices(pm, pb, key)
            out[name] = stats.paired_difference(a, b, binary=binary,
                                                bounds=None if binary else (0.0, 100.0)).to_dict()
        out["paired"] = True
    else:
        out["success"] = _unpaired_success(method, baseline).to_dict()
        out["score"] = _unpaired_score(method, baseline)
        out["paired"] = False
    costs = [(m_by_seed[s].flops, b_by_seed[s].flops) for s in shared
             if m_by_seed[s].flops and b_by_seed[s].flops]
    out["cost_ratio"] = stats.cost_ratio([c[0] for c in costs], [c[1] for c in costs]) if costs else None
    if power_d is not None:
        out["power"] = power_analysis(pm, pb, method, baseline, power_d, paired)
    return out


def _unpaired_success(method: list[RunRecord], baseline: list[RunRecord]) -> stats.Comparison:
    if len(method) >= 2 and len(baseline) >= 2:
        return stats.welch([r.success for r in method], [r.success for r in baseline])
    k1 = sum(stats.wins_of(r.success, r.episodes) for r in method)
    n1 = sum(r.episodes for r in method)
    k2 = sum(stats.wins_of(r.success, r.episodes) for r in baseline)
    n2 = sum(r.episodes for r in baseline)
    return stats.Comparison(stats.newcombe(k1, n1, k2, n2), stats.two_proportion_p(k1, n1, k2, n2),
                            "two-proportion z (unpaired)", min(len(method), len(baseline)), 0)


def _unpaired_score(method: list[RunRecord], baseline: list[RunRecord]) -> dict:
    if len(method) >= 2 and len(baseline) >= 2:
        return stats.welch([r.score for r in method], [r.score for r in baseline]).to_dict()
    d = float(np.mean([r.score for r in method]) - np.mean([r.score for r in baseline]))
    return {"difference": stats.Estimate(d, None, None, "no interval without per-episode outcomes", 0).to_dict(),
            "p_value": None, "test": "none", "seeds": min(len(method), len(baseline)), "tasks": 0}


def power_analysis(pm, pb, method, baseline, d: float, paired: bool) -> dict:
    """Seeds x episodes needed to detect a success difference of ``d`` (0-1)."""
    if paired:
        a, b = _paired_matrices(pm, pb, "won")
        comp = stats.variance_components(a - b)
        basis = "observed paired per-episode differences"
    else:
        p1 = float(np.mean([r.success for r in method]))
        p2 = float(np.mean([r.success for r in baseline]))
        comp = stats.VarianceComponents(p1 * (1 - p1) + p2 * (1 - p2), 0.0, False)
        basis = "binomial variances of the observed success rates (unpaired, no outcomes)"
    if comp.within == 0 and comp.between == 0:
        # No variation was observed (e.g. both methods lost every episode): assume the
        # most variable case for a win/loss difference rather than claim one seed suffices.
        comp = stats.VarianceComponents(0.5, comp.between, comp.between_known)
        basis += "; no variation observed, so the worst case for won/lost (0.5 per episode) is assumed"
    if not comp.between_known:
        basis += "; between-seed variance unknown with one seed (taken as 0: a lower bound on seeds needed)"
    return {"difference": d, "within": comp.within, "between": comp.between, "between_known": comp.between_known,
            "basis": basis, "table": stats.power_table(comp, d)}


def compare(records: list[RunRecord], baseline: str, *, power_d: float | None = None) -> dict:
    """The whole comparison: per-method summaries and differences from ``baseline``.
    Raises :class:`ComparisonError` when the runs may not be compared."""
    problems, notes = comparability(records)
    methods: dict[str, list[RunRecord]] = defaultdict(list)
    for r in records:
        methods[r.method].append(r)
    if baseline not in methods:
        problems.append(f"baseline {baseline!r} is not among the methods: {', '.join(sorted(methods))}")
    if problems:
        raise ComparisonError("refusing to compare these runs", problems)
    rows = []
    for name in [baseline] + sorted(m for m in methods if m != baseline):
        row = {"summary": summarize_method(methods[name])}
        if name != baseline:
            row["vs_baseline"] = compare_method(methods[name], methods[baseline], power_d=power_d)
        rows.append(row)
    return {"env": records[0].env, "baseline": baseline, "notes": notes, "methods": rows,
            "confidence": stats.CONFIDENCE}


def default_baseline(methods: list[str]) -> str:
    """The random router when it is among the methods (with or without its
    settings in the label), else the first method."""
    for name in methods:
        if name == "random" or name.startswith("random ("):
            return name
    return methods[0]
