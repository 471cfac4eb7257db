"""Intervals on the leaderboard: each row's success with its 95% interval,
its difference from the random row of the same table, and whether it is
statistically tied with the best row (docs/statistics.md).

* A row of several seeds: t interval over the seeds' success rates, cut to
  [0, 100]; when the seeds' rates are all equal, Wilson over their pooled
  episodes. A row of one run: Wilson interval over its episodes (episode
  noise only).
* Δ vs random: for rows of runs, the paired difference over shared seeds and
  tasks when both rows carry per-episode outcomes, else the unpaired one
  (prism_gym.comparison); for reported rows, Newcombe's interval from the
  published rates and episode counts. Run rows are compared only with a
  random row of the same preset (fingerprint, or name for older entries) and
  base model; reported rows only with the random row of the same model.
* Tied: the row's interval overlaps the interval of the row with the highest
  mean success.

Reference agents (prism_gym.leaderboard.agent_rows: the expert, the random
agent, WebShop's rule) are yardsticks, not methods. Their success interval is
shown like any row's, and whether it overlaps the best method's; but they
are never the best row (the expert would be, and every method would then
read "no"), and they have no Δ vs random: that column is what a way of
splitting the data adds over the random router with the same training, and
an agent without training has nothing to compare there. Where a reference
agent's interval does not overlap the best method's, it reads "above best"
or "below best" instead of "no". The random agent is
not the random router: only a row that routes with the ``random`` router is
the reference of Δ vs random.
"""
from __future__ import annotations

from prism_gym import stats
from prism_gym.leaderboard.intervals import episodes_of, safe_success_estimate
from prism_gym.leaderboard.table import algorithm_tag_of


def success_estimate(row) -> stats.Estimate | None:
    entries = [e for _, e in row.entries if e["metrics"]["success_rate"] is not None]
    if not entries:
        return None
    if len(entries) == 1:
        return safe_success_estimate(entries[0])
    rates, counts = [e["metrics"]["success_rate"] for e in entries], [episodes_of(e) for e in entries]
    try:  # seeds that agree fall back to Wilson over their pooled episodes
        return stats.clipped(stats.seed_mean(rates, rate_episodes=counts if all(counts) else None))
    except stats.StatsError:  # rates that are not whole wins (a rounded publication)
        return stats.clipped(stats.t_interval(rates, what="seeds"))


def _is_random(row) -> bool:
    """A row of the random router. Never the random agent: it names no router (it routes nothing)."""
    entry = row.entries[0][1]
    return entry["baseline"] is None and (entry["router"] or {}).get("name") == "random"


def _setup(row) -> tuple:
    """What two rows must share for their difference to mean anything."""
    entry = row.entries[0][1]
    preset = (entry.get("fingerprints") or {}).get("preset") or entry["preset"]
    return row.kind, entry["model"]["name"], entry["model"]["fingerprint"], preset, entry["env"]["version"]


def reference_row(row, rows):
    """The random row ``row`` is compared with: same setup, preferring the
    same RL algorithm (a GiGPO row against random trained by GiGPO; sft-only,
    which has none, against plain GRPO's), then the same code version, then
    the most seeds."""
    if row.reference_agent:
        return None  # not trained: nothing to set against random routing
    candidates = [r for r in rows if _is_random(r) and _setup(r) == _setup(row)]
    if not candidates:
        return None
    first = row.entries[0][1]
    code, algorithm = first["code_version"], algorithm_tag_of(first)
    return max(candidates, key=lambda r: (algorithm_tag_of(r.entries[0][1]) == algorithm,
                                          r.entries[0][1]["code_version"] == code, len(r.entries)))


def delta_vs_random(row, rows) -> dict | None:
    """``Comparison.to_dict()`` of row - random row in success (0-1), or None
    (always for a reference agent, which has no random row: :func:`reference_row`)."""
    ref = reference_row(row, rows)
    if ref is None or ref is row:
        return None
    try:
        if row.kind == "reported":
            a, b = row.entries[0][1], ref.entries[0][1]
            wa, wb = safe_success_estimate(a), safe_success_estimate(b)
            if wa is None or wb is None:
                return None
            ka, kb = round(wa.value * wa.n), round(wb.value * wb.n)
            return stats.Comparison(stats.newcombe(ka, wa.n, kb, wb.n), stats.two_proportion_p(ka, wa.n, kb, wb.n),
                                    "two-proportion z (unpaired)", 1, 0).to_dict()
        from prism_gym.comparison import comparability, compare_method, record_from_entry

        method = [record_from_entry(e, p.name) for p, e in row.entries]
        baseline = [record_from_entry(e, p.name) for p, e in ref.entries]
        if comparability(method + baseline)[0]:
            return None  # measured differently (task lists, data): no difference is shown
        return compare_method(method, baseline)["success"]
    except stats.StatsError:
        return None


def annotate(rows) -> None:
    """Set ``estimate``, ``delta`` and ``tied`` on every row of one table."""
    for row in rows:
        row.estimate = success_estimate(row)
        row.delta = delta_vs_random(row, rows)
    ranked = [r for r in rows if r.estimate is not None and not r.reference_agent]
    best = max(ranked, key=lambda r: r.estimate.value, default=None)
    for row in rows:
        if row.estimate is None or best is None:
            row.tied = None
        elif row is best:
            row.tied = "best"
        elif row.estimate.overlaps(best.estimate):
            row.tied = "tied"
        elif row.reference_agent:  # a yardstick: say on which side of the best method it lies
            row.tied = "above" if row.estimate.value > best.estimate.value else "below"
        else:
            row.tied = ""
