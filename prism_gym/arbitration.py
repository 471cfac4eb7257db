"""The arbiter API: routing that happens during training.

A router (:mod:`prism_gym.routing`) splits the expert data once, before
training, on the frozen base model; the PRISM paper names that as its main
limitation (arXiv 2601.07224, §7: the routing "is static, based on the initial
gradient concentration, and is not refreshed"). An *arbiter* decides at every
RL update instead, as most hybrid methods published since do (HPT, ReLIFT).

At each update the RL stage (:func:`prism_gym.runner.mixed.run_mixed`) plays
``rl.group_size`` episodes of each of the update's tasks with the current
policy, then hands the arbiter an :class:`UpdateView`:

- ``outcomes``: one :class:`TaskOutcome` per task of the update: the task, its
  expert demonstration (``None`` when the expert did not win it) and the
  group's returns and successes;
- ``demonstrations``: every training task's demonstration, by task id (an
  arbiter may train on tasks outside the update, as ReLIFT's buffer does);
- ``probe(trajectories)``: the shared gradient probe
  (:func:`prism_gym.probe.probe_trajectories`) on the *current* policy's
  weights, run only when called (its forward and backward passes are in the
  ledger);
- ``update`` and ``updates``: the update's index (from 0) and how many are planned.

It returns an :class:`Arbitration`: per task of the update a :class:`Weights`
(an SFT weight on the demonstration's next-token loss, an RL weight on the
rollouts' clipped surrogate; either may be 0, both may be positive), and
optionally :class:`SFTItem` s for demonstrations of other tasks. The update's
one optimizer step then minimises

    sum over tasks t of  rl(t) * RL_t  +  sft(t) * SFT_t

where ``RL_t`` is task t's share of the clipped-surrogate loss (its samples'
token losses over all RL-trained samples' tokens, as the plain RL stage
averages) and ``SFT_t`` its demonstration's share of the SFT loss (its answer
tokens' negative log-likelihood over all SFT-trained answer tokens, as an SFT
batch averages). With every weight 1 the two parts are the plain stages'
losses; with one SFT task, ``SFT_t`` is its demonstration's mean next-token
NLL. docs/runner.md ("The mixed loop") has the details and the ledger.

An arbiter that keeps state across updates (a buffer, a cached split) gives it
back from ``state_dict()`` (JSON-serialisable) and takes it in
``load_state_dict()``: the RL stage saves it with its checkpoint, so a resumed
run replays the same decisions. :class:`BaseArbiter` provides empty ones.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Mapping, Protocol, Sequence, runtime_checkable

from prism_gym.records import Task, Trajectory


@dataclass(frozen=True)
class TaskOutcome:
    """One task of the update and the current policy's group on it."""

    task: Task
    demonstration: Trajectory | None  # the expert's won trajectory of the task; None when it has none
    returns: tuple[float, ...]  # one per episode of the group (the env's reward, as the algorithm sees it)
    successes: tuple[bool, ...]  # whether each episode won

    @property
    def solved(self) -> int:
        """How many of the group's episodes won (HPT's count of correct rollouts)."""
        return sum(bool(s) for s in self.successes)

    @property
    def success_rate(self) -> float:
        return self.solved / len(self.successes) if self.successes else 0.0


@dataclass(frozen=True)
class Weights:
    """What trains on one task in this update: ``sft`` times its
    demonstration's SFT loss plus ``rl`` times its rollouts' RL loss."""

    sft: float = 0.0
    rl: float = 0.0

    def __post_init__(self):
        for name in ("sft", "rl"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} weight must be a finite number >= 0, got {value!r}")


SFT_ONLY = Weights(sft=1.0)
RL_ONLY = Weights(rl=1.0)


@dataclass(frozen=True)
class SFTItem:
    """A demonstration trained by SFT in this update although its task is not
    one of the update's (ReLIFT's buffered demonstrations)."""

    demonstration: Trajectory
    weight: float = 1.0


@dataclass
class Arbitration:
    """An arbiter's answer for one update."""

    weights: dict[str, Weights]  # task id -> weights, for every task of the update
    extra_sft: Sequence[SFTItem] = ()
    # Numbers recorded in the update's row of rl/history.json as "arbiter/<name>".
    notes: dict[str, float] = field(default_factory=dict)


@dataclass
class UpdateView:
    """What an arbiter sees at one update (see the module doc)."""

    update: int
    updates: int
    outcomes: tuple[TaskOutcome, ...]
    demonstrations: Mapping[str, Trajectory]
    probe: Callable[..., Any]  # (trajectories, **probe options) -> prism_gym.probe.ProbeResult, current weights
    seed: int = 0

    @property
    def tasks(self) -> list[Task]:
        return [o.task for o in self.outcomes]


@runtime_checkable
class Arbiter(Protocol):
    name: str

    def arbitrate(self, view: UpdateView) -> Arbitration: ...


class BaseArbiter:
    """A base for arbiters: a name, recorded settings, and no state to save."""

    name: ClassVar[str] = ""

    def arbitrate(self, view: UpdateView) -> Arbitration:  # pragma: no cover - the subclass's
        raise NotImplementedError

    def settings(self) -> dict[str, Any]:
        """The options that change this arbiter's decisions (recorded in runs)."""
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        return None


def check_arbitration(arbitration: Arbitration, view: UpdateView, arbiter_name: str = "?") -> Arbitration:
    """Raise ``ValueError`` naming the arbiter when its answer does not fit the
    update: a task of the update without weights, weights for a task not in it,
    an SFT weight on a task that has no demonstration."""
    if not isinstance(arbitration, Arbitration):
        raise ValueError(f"arbiter {arbiter_name!r} returned {arbitration!r}, not an Arbitration")
    ids = [o.task.id for o in view.outcomes]
    missing = [i for i in ids if i not in arbitration.weights]
    extra = [i for i in arbitration.weights if i not in ids]
    if missing or extra:
        raise ValueError(f"arbiter {arbiter_name!r} must give weights for exactly the update's tasks; "
                         f"missing {missing}, not in the update {extra}")
    for o in view.outcomes:
        w = arbitration.weights[o.task.id]
        if not isinstance(w, Weights):
            raise ValueError(f"arbiter {arbiter_name!r}: task {o.task.id!r} got {w!r}, not Weights")
        if w.sft > 0 and o.demonstration is None:
            raise ValueError(f"arbiter {arbiter_name!r} asked for SFT on task {o.task.id!r}, which has no "
                             f"demonstration (the expert did not win it)")
    for item in arbitration.extra_sft:
        if not isinstance(item, SFTItem) or not item.demonstration.turns:
            raise ValueError(f"arbiter {arbiter_name!r}: extra_sft holds {item!r}, not an SFTItem with steps")
        if not math.isfinite(item.weight) or item.weight < 0:
            raise ValueError(f"arbiter {arbiter_name!r}: extra SFT weight must be finite and >= 0")
    return arbitration
