"""Reference agent rows: what an entry for an agent that needs no model (the
env's expert, the seeded random agent, WebShop's rule) must and must not carry.

Such an entry (schema version 3) names its ``agent`` where a run names a
router or a baseline. It was trained on nothing, so every field that records
training is empty: router, baseline, RL algorithm, preset, routing, ledger,
cost ratios. It plays without a model, so it has no model and no track (a
track is defined by its model): the table shows it on every track of its env.

* kind ``agent``: measured here by ``prism-gym leaderboard reference-agents``
  (:mod:`prism_gym.leaderboard.reference_agents`). It records the code
  version, the evaluation protocol it played and every episode, and no
  fingerprints or provenance (there is no checkpoint or run directory).
* kind ``reported``: a publication's figure for such an agent, marked
  "reported, not reproduced here" like the PRISM paper's rows.
"""
from __future__ import annotations

import json

# What only a training run has; a reference agent leaves each of these null.
TRAINING_FIELDS = ("router", "baseline", "rl_algorithm", "preset", "routing", "ledger")
# What an agent measured here must record to be repeatable and comparable task by task.
MEASURED_FIELDS = ("code_version", "evaluation", "outcomes", "env.id", "metrics.success_rate", "metrics.score")


def is_reference_agent(entry: dict) -> bool:
    return entry.get("agent") is not None


def needs_agent_checks(entry: dict) -> bool:
    """Whether the entry claims to be a reference agent in any way: by kind, by
    its agent block, or by having no model or no track (which only reference
    agents may omit)."""
    return entry["kind"] == "agent" or is_reference_agent(entry) or entry["model"] is None or entry["track"] is None


def agent_entry_problems(entry: dict) -> list[str]:
    """Everything an entry of a reference agent gets wrong, one line each
    (the schema's field checks have passed)."""
    if not is_reference_agent(entry):
        problems = []
        if entry["kind"] == "agent":
            problems.append("agent: a reference agent entry (kind 'agent') names its agent: "
                            "{\"name\": ..., \"settings\": {...}}")
        for key in ("model", "track"):
            if entry[key] is None:
                problems.append(f"{key}: only a reference agent (an entry with an 'agent' block) has no {key}")
        return problems
    problems = []
    if entry["kind"] == "run":
        problems.append("agent: a run entry names the router or baseline it trained with, not an agent")
    for key in TRAINING_FIELDS:
        if entry[key] is not None:
            problems.append(f"{key}: a reference agent was not trained, so it has no {key} (must be null)")
    for key, value in entry["relative_cost"].items():
        if value is not None:
            problems.append(f"relative_cost.{key}: a reference agent has no training cost to compare (must be null)")
    if entry["model"] is not None:
        problems.append("model: a reference agent plays without a model (must be null)")
    if entry["track"] is not None:
        problems.append("track: a reference agent has no model, so it is on every track (must be null)")
    if entry["kind"] == "agent":
        problems += _measured_problems(entry)
    return problems


def _measured_problems(entry: dict) -> list[str]:
    problems = []
    for key in ("fingerprints", "provenance", "reported"):
        if entry[key] is not None:
            problems.append(f"{key}: a reference agent measured here has no {key} (must be null)")
    for path in MEASURED_FIELDS:
        value = entry
        for part in path.split("."):
            value = value[part]
        if value is None:
            problems.append(f"{path}: a reference agent measured here needs a value here")
    # A run's data fingerprint hashes the expert data it trained on; an agent trained on none.
    if entry["env"]["data_fingerprint"] is not None:
        problems.append("env.data_fingerprint: hashes a run's expert data; a reference agent has none (must be null)")
    if len(entry["seeds"]) != 1:
        problems.append(f"seeds: a reference agent measured here has exactly one seed, got {len(entry['seeds'])}")
    if problems:
        return problems
    plans = entry["evaluation"]["splits"]
    planned = {plan["split"]: plan["episodes"] for plan in plans}
    measured = {name: bucket["episodes"] for name, bucket in entry["metrics"]["per_split"].items()}
    if planned != measured:
        problems.append(f"evaluation.splits: the protocol plays {planned} episodes, but metrics.per_split holds "
                        f"{measured}")
    if any(plan["seed"] != entry["seeds"][0] for plan in plans):
        problems.append(f"seeds: a reference agent's seed is the seed its splits were played with, but seeds is "
                        f"{entry['seeds']} and the splits' seeds are {[plan['seed'] for plan in plans]}")
    return problems


def agent_identity(entry: dict) -> str | None:
    """What makes two measured agent entries one measurement twice: the same
    agent with the same settings on the same env version, played with the same
    protocol. None for every other entry."""
    if entry.get("kind") != "agent" or not isinstance(entry.get("agent"), dict):
        return None
    env = entry.get("env") if isinstance(entry.get("env"), dict) else {}
    return json.dumps([env.get("name"), env.get("version"), entry["agent"], entry.get("evaluation")],
                      sort_keys=True)
