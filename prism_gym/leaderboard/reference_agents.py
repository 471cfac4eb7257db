"""The reference agents' rows: agents that need no model, measured here on the
tasks the tiny track's runs are evaluated on, and the WebShop paper's figure
for its rule baseline (:mod:`prism_gym.leaderboard.agent_rows` says what such
an entry holds).

``prism-gym leaderboard reference-agents`` writes them. A measured row plays
the agent through :func:`prism_gym.evaluation.evaluate` with the tiny
preset's evaluation protocol: the env's evaluation splits, the first 128 tasks
of each drawn with the runner's evaluation seed, the preset's evaluation step
limit (ALFWorld 40, WebShop 15). Every number in the row comes from those
episodes; none is typed in. The agents decode nothing, so the LLM's answer
settings (budget, temperature, decoding) do not apply and are not recorded.

Entries are never overwritten: a measurement already on the board (same
agent, env version and protocol) is left alone when the new one agrees with
it, and reported when it does not, for a person to look at.
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from prism_gym.leaderboard.agent_rows import agent_identity
from prism_gym.leaderboard.fingerprint import entry_fingerprint
from prism_gym.leaderboard.intervals import entry_intervals
from prism_gym.leaderboard.loading import LeaderboardError, entry_files, load_json_file
from prism_gym.leaderboard.schema import AGENT_ENTRY_SCHEMA_VERSION, REPORTED_NOTE, entry_problems

# Which model-free agents are reference rows on each env. The rule is WebShop's
# baseline only; the expert and the seeded random agent exist for every env.
REFERENCE_AGENTS = {"alfworld": ("expert", "random"), "webshop": ("rule", "expert", "random")}
LABELS = {"expert": "expert agent", "random": "random agent", "rule": "rule agent"}
# The preset whose evaluation the rows repeat: the tiny track's runs are evaluated so.
PRESET = "tiny"

# The WebShop paper's rule baseline (Yao et al. 2022, section 5 and Table 2):
# search the instruction text, click the first result, buy. Its test set is
# 500 instructions, so 9.6% success is 48 of them.
WEBSHOP_PAPER = "WebShop, Yao et al. 2022, arXiv 2207.01206 (NeurIPS 2022), Table 2"
WEBSHOP_PAPER_RECORDED = "2026-12-08T00:00:00+00:00"  # when the figure was transcribed
WEBSHOP_PAPER_TEST_EPISODES = 500
WEBSHOP_PAPER_RULE = {"wins": 48, "score": 45.6}


def published_rule_entry() -> dict:
    """The WebShop paper's rule baseline as a reported reference agent row."""
    rate = WEBSHOP_PAPER_RULE["wins"] / WEBSHOP_PAPER_TEST_EPISODES
    test = {"success_rate": rate, "score": WEBSHOP_PAPER_RULE["score"], "episodes": WEBSHOP_PAPER_TEST_EPISODES}
    entry = {
        "schema_version": AGENT_ENTRY_SCHEMA_VERSION,
        "kind": "reported",
        "name": "webshop-paper-rule",
        "label": "rule agent (WebShop paper)",
        "created": WEBSHOP_PAPER_RECORDED,
        "submitted": WEBSHOP_PAPER_RECORDED,
        "code_version": None,
        "preset": None,
        "track": None,
        "router": None,
        "baseline": None,
        "rl_algorithm": None,
        "agent": {"name": "rule", "settings": {}},
        "model": None,
        "env": {"name": "webshop", "id": None, "version": "original (as run in the paper)", "data_fingerprint": None},
        "seeds": [],
        "routing": None,
        "metrics": {"success_rate": rate, "score": test["score"], "per_split": {"test": test}, "per_task_type": {}},
        "ledger": None,
        "relative_cost": {"vs_rl_only": None, "vs_sft_then_rl": None},
        "fingerprints": None,
        "provenance": None,
        "evaluation": None,
        "outcomes": None,
        "reported": {"note": REPORTED_NOTE, "source": WEBSHOP_PAPER,
                     "details": "rule baseline (search the instruction text, click the first result, buy): score "
                                "45.6, success 9.6% on the 500 test instructions of the original catalogue",
                     "hardware": None, "wall_s": None, "stage_wall_s": {}},
    }
    entry["intervals"] = entry_intervals(entry)
    entry["entry_fingerprint"] = entry_fingerprint(entry)
    return entry


def reference_protocol(env: str, episodes: int | None = None) -> dict:
    """The ``evaluation`` block the tiny preset's runs of ``env`` are evaluated
    with: its splits (the env's evaluation splits unless the preset names
    others), ``episodes`` per split (default: the preset's), the runner's
    evaluation seed and the preset's step limit."""
    from prism_gym.plugins import get_registry
    from prism_gym.runner.presets import make_config
    from prism_gym.runner.run import EVAL_TASK_SEED

    spec = get_registry().env(env)
    config = make_config(PRESET, spec.name, "random").eval  # the router does not change the evaluation
    splits = list(config.splits) or list(spec.eval_splits)
    if not splits:
        raise LeaderboardError(f"env {spec.name!r} names no evaluation splits")
    count = episodes or config.episodes
    return {"splits": [{"split": split, "seed": EVAL_TASK_SEED, "episodes": count} for split in splits],
            "max_steps": config.max_steps, "max_new_tokens": None}


def measure_agent(env: str, agent: str, *, episodes: int | None = None, created: str | None = None,
                  progress: bool = False) -> dict:
    """The reference row of ``agent`` on ``env``: play it with
    :func:`reference_protocol` and record what happened."""
    from prism_gym.evaluation import evaluate
    from prism_gym.plugins import get_registry
    from prism_gym.runner.result import code_version
    from prism_gym.runner.run import env_version, combine_metrics

    registry = get_registry()
    spec = registry.env(env)
    protocol = reference_protocol(spec.name, episodes)
    player = registry.agent(agent).build(env_name=spec.name)
    results = {}
    for plan in protocol["splits"]:
        results[plan["split"]] = evaluate(spec.name, player, split=plan["split"], episodes=plan["episodes"],
                                          seed=plan["seed"], max_steps=protocol["max_steps"], progress=progress)
        plan["episodes"] = results[plan["split"]]["episodes"]  # a short split is played whole: record what ran
    # Pooled over splits as a run's result is, then cut to the buckets an entry keeps.
    pooled = combine_metrics(results)
    metrics = {"success_rate": pooled["success_rate"], "score": pooled["score"],
               "per_split": {name: _bucket(b) for name, b in pooled["per_split"].items()},
               "per_task_type": {name: _bucket(b) for name, b in pooled["per_task_type"].items()}}
    created = created or datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    entry = {
        "schema_version": AGENT_ENTRY_SCHEMA_VERSION,
        "kind": "agent",
        "name": f"agent-{spec.name}-{agent}",
        "label": LABELS.get(agent, f"{agent} agent"),
        "created": created,
        "submitted": created,
        "code_version": code_version(),
        "preset": None,
        "track": None,
        "router": None,
        "baseline": None,
        "rl_algorithm": None,
        "agent": {"name": agent, "settings": {}},
        "model": None,
        # The runner's env version, so that these rows and the runs name one env alike.
        "env": {"name": spec.name, "id": spec.id, "version": env_version(spec), "data_fingerprint": None},
        "seeds": sorted({plan["seed"] for plan in protocol["splits"]}),
        "routing": None,
        "metrics": metrics,
        "ledger": None,
        "relative_cost": {"vs_rl_only": None, "vs_sft_then_rl": None},
        "fingerprints": None,
        "provenance": None,
        "evaluation": protocol,
        "outcomes": {split: dict(result["outcomes"]) for split, result in results.items()},
        "reported": None,
    }
    entry["intervals"] = entry_intervals(entry)
    entry["entry_fingerprint"] = entry_fingerprint(entry)
    problems = entry_problems(entry)
    if problems:  # never write a row the validator would refuse
        raise LeaderboardError(f"the {agent} agent's row on {spec.name} is invalid:\n" + "\n".join(problems))
    return entry


def _bucket(bucket: dict) -> dict:
    return {"success_rate": float(bucket["success_rate"]), "score": float(bucket["score"]),
            "episodes": int(bucket["episodes"])}


# What a re-measurement must reproduce to count as the same row: the code
# version and the time of measuring may differ.
MEASURED_KEYS = ("env", "metrics", "outcomes", "intervals")


def _filename(entry: dict) -> str:
    return f"{entry['created'][:10]}_{entry['name']}.json"


def write_reference_agent_entries(entries_dir: str | Path, *, envs: tuple[str, ...] | None = None,
                                  episodes: int | None = None, created: str | None = None,
                                  progress: bool = False) -> list[tuple[Path, str]]:
    """Measure every reference agent of ``envs`` (default: all of
    :data:`REFERENCE_AGENTS`), add the WebShop paper's rule row, and write the
    rows that are missing. Returns ``(path, "written" | "unchanged")`` per row.

    Everything is measured before anything is written, so a row that no
    longer agrees with its entry on the board stops the command with nothing
    changed."""
    from prism_gym.leaderboard.submit import entry_text, write_new_file

    entries_dir = Path(entries_dir)
    envs = tuple(envs or REFERENCE_AGENTS)
    unknown = [env for env in envs if env not in REFERENCE_AGENTS]
    if unknown:
        raise LeaderboardError(f"no reference agents for env(s) {', '.join(unknown)}; "
                               f"known: {', '.join(REFERENCE_AGENTS)}")
    on_board = []
    for path in entry_files(entries_dir):
        try:
            on_board.append((path, load_json_file(path)))
        except LeaderboardError:
            continue  # unreadable files are for `validate` to report
    rows = [published_rule_entry()] if "webshop" in envs else []
    rows += [measure_agent(env, agent, episodes=episodes, created=created, progress=progress)
             for env in envs for agent in REFERENCE_AGENTS[env]]
    plan, conflicts = [], []
    for entry in rows:
        twin = _twin(entry, on_board)
        if twin is None:
            plan.append((entries_dir / _filename(entry), entry))
            continue
        path, recorded = twin
        if all(recorded.get(key) == entry.get(key) for key in MEASURED_KEYS + ("reported",)):
            plan.append((path, None))
        else:
            conflicts.append(f"{path}: {entry['label']} on {entry['env']['name']} now gives success "
                             f"{entry['metrics']['success_rate']:.4f}, score {entry['metrics']['score']:.2f}; the "
                             f"entry records {recorded['metrics']['success_rate']:.4f}, "
                             f"{recorded['metrics']['score']:.2f}")
    if conflicts:
        raise LeaderboardError("reference agent rows no longer agree with the board (entries are never "
                               "overwritten; remove a file to record the new measurement):\n" + "\n".join(conflicts))
    done = []
    for path, entry in plan:
        if entry is not None:
            write_new_file(path, entry_text(entry))
        done.append((path, "unchanged" if entry is None else "written"))
    return done


def _twin(entry: dict, on_board: list[tuple[Path, dict]]) -> tuple[Path, dict] | None:
    """The entry on the board that records the same row: the same measurement
    (:func:`agent_identity`), or for the published row the same name."""
    identity = agent_identity(entry)
    for path, other in on_board:
        if identity is not None and agent_identity(other) == identity:
            return path, other
        if entry["kind"] == "reported" and other.get("kind") == "reported" and other.get("name") == entry["name"]:
            return path, other
    return None
