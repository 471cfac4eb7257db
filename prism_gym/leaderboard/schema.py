"""The two versioned formats the leaderboard reads.

* ``result.json`` (:data:`RESULT_SCHEMA_VERSION`): written by the runner into
  each run directory; ``leaderboard submit`` reads it. Extra fields are
  allowed (the runner may add some) and are not copied into the entry.
* A leaderboard entry (:data:`ENTRY_SCHEMA_VERSION`): one JSON file under
  ``leaderboard/entries/``. Strict: unknown fields are problems.

Version 2 of both adds the per-episode ``outcomes`` of every evaluated split
(task ids in order, won, score), which paired comparisons need, and
``fingerprints.preset`` (the config without method and seed). A version 2
entry also records its ``intervals``, which ``validate`` recomputes from the
outcomes. Version 1 files stay readable: they validate against the version 1
rules, and comparisons involving them fall back to unpaired statistics.

Entry version 3 adds the reference agents: agents that need no model (the
env's expert, the seeded random agent, WebShop's rule), measured here by
``leaderboard reference-agents`` (kind ``agent``) or published (kind
``reported``). Such an entry names its ``agent`` instead of a router or a
baseline, and has no model and no track: nothing in it depends on a model, so
the table shows it on every track of its env. ``submit`` still writes run
entries at version 2 (version 3 adds nothing a run records).

Both are checked by :func:`result_problems` / :func:`entry_problems`, which
return one readable line per problem (an empty list means valid). See
docs/leaderboard.md for the field-by-field description.
"""
from __future__ import annotations

from typing import Any

from prism_gym.leaderboard.fields import Bool, Field, List, Map, Num, Obj, Scalar, Str
from prism_gym.leaderboard.loading import NAME, NAME_HINT
from prism_gym.agents.constrained import DECODINGS, SLOT_TEXTS

RESULT_SCHEMA_VERSION = 2
ENTRY_SCHEMA_VERSION = 2  # what `submit` writes for a run
AGENT_ENTRY_SCHEMA_VERSION = 3  # the first version with reference agents
RESULT_READABLE_VERSIONS = (1, 2)
ENTRY_READABLE_VERSIONS = (1, 2, 3)
READABLE_VERSIONS = RESULT_READABLE_VERSIONS  # the name older code imports

TRACKS = ("tiny", "full")
PRESETS = ("tiny", "paper", "custom")
BASELINES = ("sft-only", "rl-only", "sft-then-rl")
# Reference rows may also name the untrained base model.
ENTRY_BASELINES = BASELINES + ("base-model",)
KINDS = ("run", "reported", "agent")
KINDS_BEFORE_AGENTS = ("run", "reported")  # versions 1 and 2
REPORTED_NOTE = "reported, not reproduced here"
AGENT_NOTE = "reference agent, no training"
LEDGER_KEYS = ("wall_s", "tokens_forwarded", "tokens_trained", "tokens_generated", "flops", "env_steps")

FINGERPRINT = r"sha256:[0-9a-f]{64}"
FINGERPRINT_HINT = "expected 'sha256:' and 64 lowercase hex digits"
# A base model is fingerprinted by its weights, or named by its hub id when the
# weights were not on disk to hash.
MODEL_FINGERPRINT = FINGERPRINT + r"|hub:[A-Za-z0-9][A-Za-z0-9._/-]{0,150}"
MODEL_FINGERPRINT_HINT = "expected 'sha256:<64 hex digits>' or 'hub:<model id>'"
TIMESTAMP = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})"
TIMESTAMP_HINT = "expected an ISO 8601 time with a zone, e.g. 2026-11-26T17:00:00+00:00"
MAX_EPISODES = 10_000_000
# Per-episode outcomes are kept up to this many episodes per split (an entry
# file stays under its size limit).
MAX_OUTCOMES = 2048


def _rate(nullable: bool = False) -> Num:
    return Num(0, 1, nullable=nullable)


def _score(nullable: bool = False) -> Num:
    return Num(0, 100, nullable=nullable)


def _bucket(extra: bool) -> Obj:
    """Success, score and episode count of one split or one task type."""
    return Obj({"success_rate": _rate(), "score": _score(), "episodes": Num(1, MAX_EPISODES, integer=True)},
               extra=extra)


def _metrics(nullable_headline: bool) -> Obj:
    # result.json may carry more metrics than an entry keeps (extra keys allowed
    # there); an entry holds exactly these.
    extra = not nullable_headline
    return Obj({"success_rate": _rate(nullable_headline), "score": _score(nullable_headline),
                "per_split": Map(_bucket(extra), max_items=20), "per_task_type": Map(_bucket(extra))},
               optional={"episodes": Num(1, MAX_EPISODES, integer=True)}, extra=not nullable_headline)


def _ledger_row() -> Obj:
    return Obj({key: Num(0) for key in LEDGER_KEYS})


def _ledger(nullable: bool) -> Obj:
    return Obj({"stages": Map(_ledger_row(), key_pattern=NAME, max_items=20), "total": _ledger_row()},
               nullable=nullable)


def _router(nullable: bool) -> Obj:
    return Obj({"name": Str(NAME, hint=NAME_HINT), "settings": Map(Scalar(), key_pattern=NAME, max_items=50)},
               nullable=nullable)


def _evaluation(extra: bool, nullable: bool = False) -> Obj:
    """How the run was evaluated, so ``verify`` can repeat it exactly: the
    splits in order with the seed and episode count of each, the env's step
    limit, the agent's generation budget and its sampling temperature (absent
    or 0: greedy decoding, as entries made before sampled evaluation were),
    and its decoding (absent: free decoding, as entries made before
    admissible decoding were)."""
    split = Obj({"split": Str(NAME, hint=NAME_HINT), "seed": Num(0, integer=True),
                 "episodes": Num(1, MAX_EPISODES, integer=True)}, extra=extra)
    return Obj({"splits": List(split, min_items=1, max_items=20), "max_steps": Num(1, integer=True, nullable=True),
                "max_new_tokens": Num(1, integer=True, nullable=True)},
               optional={"temperature": Num(0, 10), "decoding": Str(choices=DECODINGS),
                         "slot_text": Str(choices=SLOT_TEXTS)}, extra=extra, nullable=nullable)


def _fingerprint(nullable: bool = False) -> Str:
    return Str(FINGERPRINT, hint=FINGERPRINT_HINT, nullable=nullable)


def _outcomes(nullable: bool) -> Map:
    """Per split, every episode in task order: task id, won (0/1), score."""
    split = Obj({"task_ids": List(Str(max_len=200), min_items=1, max_items=MAX_OUTCOMES),
                 "won": List(Num(0, 1, integer=True), min_items=1, max_items=MAX_OUTCOMES),
                 "score": List(_score(), min_items=1, max_items=MAX_OUTCOMES)})
    return Map(split, key_pattern=NAME, max_items=20, nullable=nullable)


def _interval() -> Obj:
    return Obj({"value": Num(), "low": Num(nullable=True), "high": Num(nullable=True), "method": Str(max_len=100),
                "n": Num(0, integer=True)}, nullable=True)


RESULT_SPEC = Obj({
    "schema_version": Num(integer=True),
    "run_id": Str(NAME, hint=NAME_HINT),
    "created": Str(TIMESTAMP, hint=TIMESTAMP_HINT, max_len=40),
    "code_version": Str(max_len=100),
    "preset": Str(choices=PRESETS),
    "track": Str(choices=TRACKS),
    "router": _router(nullable=True),
    "baseline": Str(choices=BASELINES, nullable=True),
    "model": Obj({"name": Str(max_len=200), "parameters": Num(1, integer=True),
                  "fingerprint": Str(MODEL_FINGERPRINT, hint=MODEL_FINGERPRINT_HINT)}, extra=True),
    "env": Obj({"name": Str(NAME, hint=NAME_HINT), "id": Str(max_len=100), "version": Str(max_len=50),
                "data_fingerprint": _fingerprint()}, extra=True),
    "seed": Num(0, integer=True),
    "routing": Obj({"trajectories": Num(0, integer=True), "sft": Num(0, integer=True), "rl": Num(0, integer=True)},
                   extra=True, nullable=True),
    "metrics": _metrics(nullable_headline=False),
    "ledger": _ledger(nullable=False),
    "relative_cost": Obj({"vs_rl_only": Num(positive=True, nullable=True),
                          "vs_sft_then_rl": Num(positive=True, nullable=True)}, extra=True),
    "fingerprints": Obj({"config": _fingerprint(), "data_split": _fingerprint(),
                         "checkpoint": _fingerprint(nullable=True)}, extra=True),
    "checkpoint": Str(max_len=300, nullable=True),
}, optional={"evaluation": _evaluation(extra=True), "config": Obj(extra=True), "outcomes": _outcomes(nullable=True)},
    extra=True)


ENTRY_SPEC_V1 = Obj({
    "schema_version": Num(integer=True),
    "kind": Str(choices=KINDS_BEFORE_AGENTS),
    "name": Str(NAME, hint=NAME_HINT),
    "label": Str(max_len=100),
    "created": Str(TIMESTAMP, hint=TIMESTAMP_HINT, max_len=40),
    "submitted": Str(TIMESTAMP, hint=TIMESTAMP_HINT, max_len=40),
    "code_version": Str(max_len=100, nullable=True),
    "preset": Str(choices=PRESETS, nullable=True),
    "track": Str(choices=TRACKS),
    "router": _router(nullable=True),
    "baseline": Str(choices=ENTRY_BASELINES, nullable=True),
    "rl_algorithm": Str(NAME, hint=NAME_HINT, nullable=True),  # any algorithm plugin's name; null: no RL stage
    "model": Obj({"name": Str(max_len=200), "parameters": Num(1, integer=True, nullable=True),
                  "fingerprint": Str(MODEL_FINGERPRINT, hint=MODEL_FINGERPRINT_HINT, nullable=True)}),
    "env": Obj({"name": Str(NAME, hint=NAME_HINT), "id": Str(max_len=100, nullable=True),
                "version": Str(max_len=50), "data_fingerprint": _fingerprint(nullable=True)}),
    "seeds": List(Num(0, integer=True), min_items=0, max_items=100),
    "routing": Obj({"trajectories": Num(0, integer=True), "sft": Num(0, integer=True), "rl": Num(0, integer=True)},
                   nullable=True),
    "metrics": _metrics(nullable_headline=True),
    "ledger": _ledger(nullable=True),
    "relative_cost": Obj({"vs_rl_only": Num(positive=True, nullable=True),
                          "vs_sft_then_rl": Num(positive=True, nullable=True)}),
    "fingerprints": Obj({"config": _fingerprint(), "data_split": _fingerprint(),
                         "checkpoint": _fingerprint(nullable=True), "run": _fingerprint()}, nullable=True),
    "provenance": Obj({"run_dir": Str(max_len=300), "checkpoint": Str(max_len=300, nullable=True),
                       "checkpoint_checked": Bool(), "result_sha256": _fingerprint()}, nullable=True),
    "reported": Obj({"note": Str(choices=(REPORTED_NOTE,)), "source": Str(max_len=300),
                     "details": Str(max_len=500), "hardware": Str(max_len=100, nullable=True),
                     "wall_s": Num(positive=True, nullable=True),
                     "stage_wall_s": Map(Num(0), key_pattern=NAME, max_items=20)}, nullable=True),
    "evaluation": _evaluation(extra=False, nullable=True),
    "entry_fingerprint": _fingerprint(),
})

ENTRY_SPEC = Obj(dict(
    ENTRY_SPEC_V1.fields,
    fingerprints=Obj({"config": _fingerprint(), "preset": _fingerprint(), "data_split": _fingerprint(),
                      "checkpoint": _fingerprint(nullable=True), "run": _fingerprint()}, nullable=True),
    outcomes=_outcomes(nullable=True),
    intervals=Obj({"success_rate": _interval(), "score": _interval()}),
))
ENTRY_SPEC_V3 = Obj(dict(
    ENTRY_SPEC.fields,
    kind=Str(choices=KINDS),
    # null for a reference agent: it has no model, and so belongs to no one track
    track=Str(choices=TRACKS, nullable=True),
    model=Obj(ENTRY_SPEC.fields["model"].fields, nullable=True),
    agent=Obj({"name": Str(NAME, hint=NAME_HINT), "settings": Map(Scalar(), key_pattern=NAME, max_items=50)},
              nullable=True),
))
ENTRY_SPECS = {1: ENTRY_SPEC_V1, 2: ENTRY_SPEC, 3: ENTRY_SPEC_V3}


def _version_problem(data: dict, what: str, readable: tuple[int, ...]) -> str | None:
    version = data.get("schema_version")
    if "schema_version" not in data:
        return "schema_version: missing field"
    if isinstance(version, bool) or not isinstance(version, int):
        return f"schema_version: must be a whole number, got {version!r}"
    if version not in readable:
        names = ", ".join(map(str, readable[:-1])) + f" and {readable[-1]}"
        return f"schema_version: unknown {what} schema version {version} (this prism-gym reads versions {names})"
    return None


def _routing_problems(routing: Any) -> list[str]:
    if not isinstance(routing, dict):
        return []
    total = routing.get("trajectories")
    out = []
    for key in ("sft", "rl"):
        value = routing.get(key)
        if isinstance(total, int) and isinstance(value, int) and value > total:
            out.append(f"routing.{key}: {value} trajectories is more than the {total} routed")
    return out


def result_problems(result: dict) -> list[str]:
    """Everything wrong with a ``result.json`` object, one line each."""
    version = _version_problem(result, "result.json", RESULT_READABLE_VERSIONS)
    if version:
        return [version]  # nothing else can be judged against an unknown version
    problems: list[str] = []
    RESULT_SPEC.check(result, "", problems)
    problems += _routing_problems(result.get("routing"))
    if not problems and result.get("outcomes") is not None:
        problems += outcome_problems(result["outcomes"], result["metrics"]["per_split"])
    if not problems:
        if result.get("router") is None and result.get("baseline") is None:
            problems.append("router: a run names a router, a baseline, or both")
        problems += _track_problems(result)
    return problems


def entry_problems(entry: dict) -> list[str]:
    """Everything wrong with one entry on its own, one line each (checks that
    need the file name or the other entries are in :mod:`.validate`)."""
    from prism_gym.leaderboard.agent_rows import agent_entry_problems, needs_agent_checks
    from prism_gym.leaderboard.fingerprint import entry_fingerprint, run_fingerprint

    version = _version_problem(entry, "entry", ENTRY_READABLE_VERSIONS)
    if version:
        return [version]
    problems: list[str] = []
    ENTRY_SPECS[entry["schema_version"]].check(entry, "", problems)
    problems += _routing_problems(entry.get("routing"))
    if problems:
        return problems
    if needs_agent_checks(entry):
        problems += agent_entry_problems(entry)
        if problems:
            return problems  # the checks below read a model and a track
    if entry["schema_version"] >= 2:
        problems += _interval_problems(entry)
    if entry["kind"] == "run":
        problems += _run_entry_problems(entry)
        if not problems:
            expected = run_fingerprint(entry["fingerprints"], entry["seeds"][0])
            if entry["fingerprints"]["run"] != expected:
                problems.append(f"fingerprints.run: fingerprint mismatch: {entry['fingerprints']['run']} does not "
                                f"match the config, data split, checkpoint and seed ({expected})")
    elif entry["kind"] == "reported":
        problems += _reported_entry_problems(entry)
    # kind "agent": what it must and must not carry was checked above
    if entry.get("agent") is None and entry["router"] is None and entry["baseline"] is None:
        problems.append("router: an entry names a router, a baseline, or both")
    actual = entry_fingerprint(entry)
    if entry["entry_fingerprint"] != actual:
        problems.append(f"entry_fingerprint: fingerprint mismatch: the entry's content hashes to {actual}, "
                        f"not {entry['entry_fingerprint']} (was it edited after submission?)")
    return problems


def outcome_problems(outcomes: dict, per_split: dict) -> list[str]:
    """Per-episode outcomes must be the episodes the split's summary counts."""
    problems = []
    for split, rec in outcomes.items():
        where = f"outcomes.{split}"
        if split not in per_split:
            problems.append(f"{where}: no such split in metrics.per_split")
            continue
        n = len(rec["task_ids"])
        if len(rec["won"]) != n or len(rec["score"]) != n:
            problems.append(f"{where}: task_ids, won and score must have one item per episode "
                            f"(got {n}, {len(rec['won'])}, {len(rec['score'])})")
            continue
        bucket = per_split[split]
        if n != bucket["episodes"]:
            problems.append(f"{where}: {n} episodes recorded, but metrics.per_split.{split}.episodes is "
                            f"{bucket['episodes']}")
        if len(set(rec["task_ids"])) != n:
            problems.append(f"{where}.task_ids: a task appears twice")
        if abs(sum(rec["won"]) / n - bucket["success_rate"]) > 1e-9:
            problems.append(f"{where}.won: {sum(rec['won'])} wins of {n} do not give the recorded success rate "
                            f"{bucket['success_rate']}")
        if abs(sum(rec["score"]) / n - bucket["score"]) > 1e-6:
            problems.append(f"{where}.score: the episodes' mean {sum(rec['score']) / n} is not the recorded score "
                            f"{bucket['score']}")
    missing = sorted(set(per_split) - set(outcomes))
    if missing:
        problems.append(f"outcomes: no episodes for split(s) {', '.join(missing)}")
    return problems


def _interval_problems(entry: dict) -> list[str]:
    """The recorded intervals must be the ones the entry's own values give."""
    from prism_gym.leaderboard.intervals import entry_intervals
    from prism_gym.stats import StatsError

    problems = []
    if entry["outcomes"] is not None:
        problems += outcome_problems(entry["outcomes"], entry["metrics"]["per_split"])
        if problems:
            return problems
    try:
        expected = entry_intervals(entry)
    except StatsError as exc:
        return [f"intervals: cannot be recomputed: {exc}"]
    for key, want in expected.items():
        got = entry["intervals"].get(key)
        if not _same_interval(got, want):
            problems.append(f"intervals.{key}: recorded {_show(got)} does not match the entry's per-seed values, "
                            f"which give {_show(want)}")
    return problems


def _same_interval(got: dict | None, want: dict | None) -> bool:
    if got is None or want is None:
        return got is None and want is None
    if got["method"] != want["method"] or got["n"] != want["n"]:
        return False
    for key in ("value", "low", "high"):
        a, b = got[key], want[key]
        if (a is None) != (b is None) or (a is not None and abs(a - b) > 1e-9 * max(1.0, abs(b))):
            return False
    return True


def _show(interval: dict | None) -> str:
    if interval is None:
        return "no interval"
    if interval["low"] is None:
        return f"{interval['value']:.6g} ({interval['method']}, n={interval['n']})"
    return (f"{interval['value']:.6g} [{interval['low']:.6g}, {interval['high']:.6g}] "
            f"({interval['method']}, n={interval['n']})")


def _run_entry_problems(entry: dict) -> list[str]:
    problems = []
    for path in ("code_version", "preset", "ledger", "fingerprints", "provenance", "routing", "evaluation",
                 "model.parameters", "model.fingerprint", "env.id", "env.data_fingerprint",
                 "metrics.success_rate", "metrics.score"):
        value: Any = entry
        for part in path.split("."):
            value = value[part]
        if value is None:
            problems.append(f"{path}: a run entry needs a value here")
    if entry["reported"] is not None:
        problems.append("reported: only reference entries (kind 'reported') carry a 'reported' block")
    if len(entry["seeds"]) != 1:
        problems.append(f"seeds: a run entry has exactly one seed, got {len(entry['seeds'])}")
    if entry["schema_version"] >= 2 and entry["outcomes"] is None:
        problems.append("outcomes: a version 2 run entry records its per-episode outcomes")
    return problems + _track_problems(entry)


def _track_problems(doc: dict) -> list[str]:
    """The tiny track is for the embedded default model only (a result or an entry)."""
    if doc["track"] == "tiny" and doc["model"]["name"] != "default":
        return [f"track: the tiny track is for the embedded default model, but model.name is "
                f"{doc['model']['name']!r}"]
    return []


def _reported_entry_problems(entry: dict) -> list[str]:
    problems = []
    if entry["reported"] is None:
        problems.append(f"reported: a reference entry needs a 'reported' block with note {REPORTED_NOTE!r}")
    for key in ("fingerprints", "provenance", "evaluation") + (("outcomes",) if entry["schema_version"] >= 2 else ()):
        if entry[key] is not None:
            problems.append(f"{key}: a reference entry reports numbers from a publication and has no {key}")
    # A published reference agent (agent block, no track) is on every track: checked in .agent_rows.
    if entry.get("agent") is None and entry["track"] != "full":
        problems.append("track: reference entries from publications belong to the full track")
    return problems


__all__ = ["RESULT_SCHEMA_VERSION", "ENTRY_SCHEMA_VERSION", "AGENT_ENTRY_SCHEMA_VERSION", "TRACKS", "PRESETS",
           "BASELINES", "ENTRY_BASELINES", "KINDS", "REPORTED_NOTE", "AGENT_NOTE", "LEDGER_KEYS", "RESULT_SPEC",
           "ENTRY_SPEC", "ENTRY_SPEC_V1", "ENTRY_SPEC_V3", "READABLE_VERSIONS", "RESULT_READABLE_VERSIONS",
           "ENTRY_READABLE_VERSIONS", "result_problems", "entry_problems", "outcome_problems", "Field"]
