"""Leaderboard rows: entries grouped by env and track, seeds of one method,
preset and code version aggregated into one row, with the row's success
interval, its difference from random and whether it is tied with the best
row (prism_gym.leaderboard.significance).

Reference agents (agents that need no model: prism_gym.leaderboard.agent_rows)
have no track, so their rows are on every track of their env. They are listed
after the ranked rows of methods, unranked: they are yardsticks, not entrants."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prism_gym.leaderboard.agent_rows import is_reference_agent
from prism_gym.leaderboard.schema import AGENT_NOTE, REPORTED_NOTE, TRACKS

# The Model cell of a row whose agent plays without one.
NO_MODEL = "none"


@dataclass
class Row:
    """One line of a table: a method on one env and track, over its seeds."""

    label: str
    kind: str  # run | reported | agent
    model: str
    preset: str | None
    entries: list[tuple[Path, dict]] = field(default_factory=list)
    verification: dict[str, str] = field(default_factory=dict)  # entry file name -> outcome
    # set by significance.annotate once the table's rows are known
    estimate: Any = None  # prism_gym.stats.Estimate of the success rate, or None
    delta: dict | None = None  # success difference from the random row (stats.Comparison.to_dict())
    # "best", "tied" (interval overlaps the best row's), "" or None; a reference agent
    # that is not tied: "above" or "below" (the best method)
    tied: str | None = None
    # FLOPs of the board's rl-only and sft-then-rl runs by _reference_key: the cost ratio of
    # an entry submitted before its reference ran
    reference_flops: dict = field(default_factory=dict)

    def _values(self, get) -> list[float]:
        values = [get(e) for _, e in self.entries]
        return [v for v in values if v is not None]

    def mean(self, get) -> float | None:
        values = self._values(get)
        return sum(values) / len(values) if values else None

    def std(self, get) -> float | None:
        values = self._values(get)
        if len(values) < 2:
            return None
        m = sum(values) / len(values)
        return math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1))

    @property
    def seeds(self) -> list[int]:
        return sorted(s for _, e in self.entries for s in e["seeds"])

    @property
    def episodes(self) -> list[int]:
        """The distinct numbers of evaluation episodes per run (all splits)."""
        counts = {sum(b["episodes"] for b in e["metrics"]["per_split"].values()) for _, e in self.entries}
        return sorted(c for c in counts if c)

    def success(self) -> float | None:
        return self.mean(lambda e: e["metrics"]["success_rate"])

    def success_std(self) -> float | None:
        return self.std(lambda e: e["metrics"]["success_rate"])

    def score(self) -> float | None:
        return self.mean(lambda e: e["metrics"]["score"])

    def split_success(self, split: str) -> float | None:
        return self.mean(lambda e: (e["metrics"]["per_split"].get(split) or {}).get("success_rate"))

    def flops(self) -> float | None:
        return self.mean(lambda e: e["ledger"]["total"]["flops"] if e["ledger"] else None)

    def wall_s(self) -> float | None:
        def wall(e):
            if e["ledger"]:
                return e["ledger"]["total"]["wall_s"]
            return (e["reported"] or {}).get("wall_s")
        return self.mean(wall)

    def relative_cost(self, key: str) -> float | None:
        def cost(e):
            stored = e["relative_cost"][key]
            if stored is not None or e["kind"] != "run" or not e["ledger"]:
                return stored
            reference = self.reference_flops.get(_reference_key(e, REFERENCE_BASELINES[key]))
            return e["ledger"]["total"]["flops"] / reference if reference else None
        return self.mean(cost)

    @property
    def reference_agent(self) -> bool:
        """A row of an agent that needs no model (measured here or published)."""
        return bool(self.entries) and is_reference_agent(self.entries[0][1])

    @property
    def status(self) -> str:
        if self.kind == "reported":
            return REPORTED_NOTE
        if self.kind == "agent":
            return AGENT_NOTE
        outcomes = [self.verification.get(p.name) for p, _ in self.entries]
        if any(o == "not reproduced" or o == "fingerprint mismatch" for o in outcomes):
            return "verification failed"
        if outcomes and all(o == "reproduced" for o in outcomes):
            return "verified"
        return "not verified"

    @property
    def details(self) -> list[str]:
        return [e["reported"]["details"] for _, e in self.entries if e.get("reported")]


def _row_label(entry: dict) -> str:
    """The entry's label, and how its agent decoded when that was not freely,
    so that the same method decoded two ways reads as two methods."""
    decoding = (entry.get("evaluation") or {}).get("decoding", "free")
    return entry["label"] + (f" · {decoding} decoding" if decoding != "free" else "")


def _group_key(entry: dict) -> str:
    """Entries that differ only in seed (same method, model, preset, code,
    env data) form one row; reference rows never merge."""
    if entry["kind"] in ("reported", "agent"):
        return f"{entry['kind']}:" + entry["name"]
    return json.dumps([_row_label(entry), entry["router"], entry["baseline"], entry["rl_algorithm"], entry["preset"],
                       (entry.get("fingerprints") or {}).get("preset"), entry["model"], entry["env"]["version"],
                       entry["code_version"]], sort_keys=True)


@dataclass
class Table:
    env: str
    track: str
    rows: list[Row]

    @property
    def splits(self) -> list[str]:
        names = {s for row in self.rows for _, e in row.entries for s in e["metrics"]["per_split"]}
        return sorted(names)


def build_tables(entries: list[tuple[Path, dict]], verifications: dict[str, str] | None = None) -> list[Table]:
    """One table per (env, track) present, rows sorted by success (best first),
    rows without a success rate last, ties by label."""
    verifications = verifications or {}
    groups: dict[tuple[str, str], dict[str, Row]] = {}
    reference_flops = _reference_flops(entries)
    for path, entry in sorted(entries, key=lambda pe: pe[0].name):
        # A reference agent has no track: it is a row of every track of its env.
        for track in (entry["track"],) if entry["track"] is not None else TRACKS:
            rows = groups.setdefault((entry["env"]["name"], track), {})
            key = _group_key(entry)
            if key not in rows:
                model = entry["model"]["name"] if entry["model"] is not None else NO_MODEL
                rows[key] = Row(_row_label(entry), entry["kind"], model, entry["preset"],
                                reference_flops=reference_flops)
            rows[key].entries.append((path, entry))
            if path.name in verifications:
                rows[key].verification[path.name] = verifications[path.name]
    from prism_gym.leaderboard.significance import annotate

    tables = []
    for (env, track), rows in sorted(groups.items(), key=lambda kv: (kv[0][0], TRACKS.index(kv[0][1]))):
        # Methods first, ranked; the reference agents after them, unranked.
        ordered = sorted(rows.values(), key=lambda r: (r.reference_agent, r.success() is None,
                                                        -(r.success() or 0.0), -(r.score() or 0.0), r.model,
                                                        r.label))
        annotate(ordered)
        tables.append(Table(env, track, ordered))
    return tables


REFERENCE_BASELINES = {"vs_rl_only": "rl-only", "vs_sft_then_rl": "sft-then-rl"}


def algorithm_tag_of(entry: dict) -> str:
    """The RL algorithm as the entry's label names it: the `` + gigpo`` part
    (options included, ``gigpo-o1a2b3c``), "" for plain GRPO and for sft-only.
    Entries do not store their config, so the label is where options show."""
    return entry["label"].partition(" + ")[2]


def _reference_key(entry: dict, baseline: str | None) -> tuple:
    """What a run and its cost reference share: env, track, preset, seed, base
    model and RL algorithm."""
    return (entry["env"]["name"], entry["track"], (entry.get("fingerprints") or {}).get("preset"),
            tuple(entry["seeds"]), entry["model"]["fingerprint"], algorithm_tag_of(entry), baseline)


def _reference_flops(entries: list[tuple[Path, dict]]) -> dict:
    """The FLOPs of every rl-only and sft-then-rl run on the board, by
    :func:`_reference_key`. A run's cost ratios are recorded when it ends, so a
    run that finished before its reference has none; the table divides by these."""
    return {_reference_key(e, e["baseline"]): e["ledger"]["total"]["flops"] for _, e in entries
            if e["kind"] == "run" and e["baseline"] in REFERENCE_BASELINES.values() and e["ledger"]}


def pareto_front(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The points no other point beats on both axes (less compute, more success),
    sorted by compute."""
    front = []
    best = -math.inf
    for x, y in sorted(points, key=lambda p: (p[0], -p[1])):
        if y > best:
            front.append((x, y))
            best = y
    return front


def fmt_percent(value: float | None, std: float | None = None) -> str:
    if value is None:
        return "–"
    text = f"{100 * value:.2f}"
    return text + (f" ± {100 * std:.2f}" if std is not None else "")


def fmt_interval(est, *, signed: bool = False) -> str:
    """A rate (0-1) as percent with its interval: ``37.50 [12.10, 62.90]``."""
    if est is None:
        return "–"
    sign = "+" if signed else ""
    text = f"{100 * est['value'] if isinstance(est, dict) else 100 * est.value:{sign}.2f}"
    low, high = (est["low"], est["high"]) if isinstance(est, dict) else (est.low, est.high)
    return text if low is None else f"{text} [{100 * low:.2f}, {100 * high:.2f}]"


def fmt_number(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def fmt_flops(value: float | None) -> str:
    return "–" if value is None else f"{value:.3g}"


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def row_cells(table: Table, row: Row) -> dict[str, Any]:
    """The displayed text of each column of one row."""
    cells = {"Method": row.label, "Model": row.model, "n seeds": str(len(row.seeds)) if row.seeds else "–",
             "Episodes per run": ", ".join(map(str, row.episodes)) or "–",
             "Success % [95% CI]": fmt_interval(row.estimate),
             "Δ vs random, points [95% CI]": fmt_interval(row.delta and row.delta["difference"], signed=True),
             "Tied with best": {"best": "best", "tied": "tied", "": "no", "above": "above best",
                                "below": "below best"}.get(row.tied, "–")}
    for split in table.splits:
        cells[f"{split} %"] = fmt_percent(row.split_success(split))
    cells["Score"] = fmt_number(row.score())
    cells["FLOPs"] = fmt_flops(row.flops())
    cells["Wall clock"] = fmt_duration(row.wall_s())
    cells["Cost vs RL-only"] = fmt_number(row.relative_cost("vs_rl_only"))
    cells["Cost vs SFT-then-RL"] = fmt_number(row.relative_cost("vs_sft_then_rl"))
    cells["Status"] = row.status
    return cells
