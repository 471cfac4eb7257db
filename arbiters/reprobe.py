"""PRISM re-probed: the concentration split, recomputed on the current policy.

PRISM (arXiv 2601.07224) probes each expert trajectory once, on the frozen
base model, and sends the trajectories whose per-matrix gradient norms are
concentrated (Gini above the median) to RL and the rest to SFT. Its §7 names
the limitation: the routing "is static, based on the initial gradient
concentration, and is not refreshed". This arbiter refreshes it.

Every ``every`` updates (from update 0, on the base model, where the split is
static PRISM's), the demonstrations of the training tasks not yet learned are
probed on the *current* policy (:attr:`prism_gym.arbitration.UpdateView.probe`),
scored by ``metric`` (``gini`` as in the paper; routers/concentration.py) and
split at the median, ties to SFT (:func:`prism_gym.routing.split_by_score`):
concentrated -> RL, diffuse -> SFT. Between refreshes the split is kept.

A task is *learned* while its latest group's success rate is at least
``learned_at``; a learned task, a task without a demonstration and a task the
latest split did not cover train by RL (a learned task's all-won group has no
advantage, so it costs nothing). Training starts from the base model.
"""
from __future__ import annotations

from prism_gym import hookimpl
from prism_gym.arbitration import RL_ONLY, SFT_ONLY, Arbitration, BaseArbiter, UpdateView
from prism_gym.routing import split_by_score
from prism_gym.specs import ArbiterSpec


class ReprobeArbiter(BaseArbiter):
    name = "prism-reprobe"

    def __init__(self, every: int = 2, metric: str = "gini", learned_at: float = 1.0, normalize: bool = False,
                 max_length: int | None = None):
        from prism_gym.routers.concentration import metric as concentration_metric

        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be a positive integer, got {every!r}")
        if not 0.0 < float(learned_at) <= 1.0:
            raise ValueError(f"learned_at must be in (0, 1], got {learned_at!r}")
        self._statistic = concentration_metric(metric)
        self.every, self.metric, self.learned_at = every, metric, float(learned_at)
        self.normalize, self.max_length = bool(normalize), max_length
        self._routes: dict[str, str] = {}  # task id -> "sft" | "rl", from the latest probe
        self._learned: set[str] = set()

    def arbitrate(self, view: UpdateView) -> Arbitration:
        for outcome in view.outcomes:
            if outcome.success_rate >= self.learned_at:
                self._learned.add(outcome.task.id)
            else:
                self._learned.discard(outcome.task.id)
        probed = 0
        if view.update % self.every == 0:
            pending = [(tid, demo) for tid, demo in view.demonstrations.items() if tid not in self._learned]
            self._routes = {}
            if pending:
                result = view.probe([demo for _, demo in pending], normalize=self.normalize,
                                    max_length=self.max_length)
                scores = [float(self._statistic(row)) for row in result.norms]
                self._routes = dict(zip((tid for tid, _ in pending), split_by_score(scores)))
                probed = len(pending)
        weights = {}
        for outcome in view.outcomes:
            tid = outcome.task.id
            sft = (tid not in self._learned and outcome.demonstration is not None
                   and self._routes.get(tid) == "sft")
            weights[tid] = SFT_ONLY if sft else RL_ONLY
        n_sft = sum(w is SFT_ONLY for w in weights.values())
        return Arbitration(weights, notes={"probed": probed, "learned": len(self._learned), "sft_tasks": n_sft,
                                           "rl_tasks": len(weights) - n_sft})

    def state_dict(self) -> dict:
        return {"routes": dict(self._routes), "learned": sorted(self._learned)}

    def load_state_dict(self, state: dict) -> None:
        self._routes = dict(state.get("routes", {}))
        self._learned = set(state.get("learned", []))


@hookimpl
def prism_gym_arbiters():
    return [ArbiterSpec(ReprobeArbiter.name, ReprobeArbiter,
                        "PRISM's median split (gini) re-probed on the current policy every `every` updates, over "
                        "the tasks not yet learned; concentrated -> RL, diffuse -> SFT; from the base model.",
                        options={"every": 2, "metric": "gini", "learned_at": 1.0, "normalize": False,
                                 "max_length": None})]
