"""The evaluation protocol: which episodes an evaluation plays and how the
agent answers in them.

The runner resolves it once, before its evaluation stage plays (the answer
budget read off the expert's answers included), and records it as the
``evaluation`` block of result.json and of the leaderboard entry. The
evaluation stage, ``leaderboard verify`` and ``prism-gym eval --protocol FILE``
all play a protocol through :func:`prism_gym.evaluation.evaluate_protocol`,
so a replay repeats what the run did instead of re-deriving its settings
(and falling back to some default where a setting was derived).

The dict form (:meth:`EvaluationProtocol.to_dict`) is the ``evaluation``
block the leaderboard's schema describes; records written before the budget
was recorded hold ``"max_new_tokens": null`` there, which reads back as an
unknown budget (:attr:`EvaluationProtocol.max_new_tokens` is None), never as
the agent's own default.
"""
from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path


class ProtocolError(ValueError):
    """A protocol that cannot be played as recorded; the message says why."""


@dataclass(frozen=True)
class SplitPlan:
    """One evaluated split: its first ``episodes`` tasks in the task list drawn
    with ``seed`` (which also seeds the env resets and the agent's sampling)."""

    split: str
    seed: int
    episodes: int


@dataclass(frozen=True)
class EvaluationProtocol:
    """Everything that decides an evaluation's episodes and answers.

    ``max_new_tokens`` is the resolved answer budget; None only in records
    made before runs recorded it. ``temperature`` 0 is greedy decoding.
    ``decoding`` / ``slot_text`` are the agent's decoding constraint
    (docs/agents.md)."""

    splits: tuple[SplitPlan, ...]
    max_new_tokens: int | None
    max_steps: int | None = None
    temperature: float = 0.0
    decoding: str = "free"
    slot_text: str = "free"

    def __post_init__(self):
        if not self.splits:
            raise ProtocolError("an evaluation protocol names at least one split")
        for plan in self.splits:
            if plan.episodes < 1:
                raise ProtocolError(f"split {plan.split!r}: episodes must be >= 1, got {plan.episodes}")
        for name in ("max_new_tokens", "max_steps"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ProtocolError(f"{name} must be a positive whole number (or null), got {value!r}")
        if self.temperature < 0:
            raise ProtocolError(f"temperature must be >= 0 (0: greedy), got {self.temperature}")

    # -- the recorded form ----------------------------------------------------------
    def to_dict(self) -> dict:
        """The ``evaluation`` block of result.json."""
        return {"splits": [dataclasses.asdict(plan) for plan in self.splits], "max_steps": self.max_steps,
                "max_new_tokens": self.max_new_tokens, "temperature": self.temperature,
                "decoding": self.decoding, "slot_text": self.slot_text}

    @classmethod
    def from_dict(cls, block: dict) -> "EvaluationProtocol":
        """Read an ``evaluation`` block. Fields that older records leave out
        take the values those runs used: greedy (no temperature) and free
        decoding; a null budget stays unknown."""
        try:
            splits = tuple(SplitPlan(split=str(s["split"]), seed=int(s["seed"]), episodes=int(s["episodes"]))
                           for s in block["splits"])
            return cls(splits=splits, max_new_tokens=block.get("max_new_tokens"), max_steps=block.get("max_steps"),
                       temperature=float(block.get("temperature") or 0.0),
                       decoding=str(block.get("decoding") or "free"), slot_text=str(block.get("slot_text") or "free"))
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, ProtocolError):
                raise
            raise ProtocolError(f"not an evaluation protocol ({type(exc).__name__}: {exc})") from None

    # -- playing it -------------------------------------------------------------------
    @property
    def budget_known(self) -> bool:
        return self.max_new_tokens is not None

    def with_budget(self, max_new_tokens: int) -> "EvaluationProtocol":
        """The same protocol with its answer budget filled in."""
        return dataclasses.replace(self, max_new_tokens=max_new_tokens)

    def llm_options(self) -> dict:
        """The LLM agent's keyword arguments for this protocol: greedy at
        temperature 0, else sampling at the temperature; the budget and the
        decoding constraint. Refuses a protocol whose budget is unknown rather
        than letting the agent pick its own."""
        if self.max_new_tokens is None:
            raise ProtocolError("the protocol records no answer budget (max_new_tokens is null: it was written "
                                "before runs recorded the budget they resolved); give the budget explicitly")
        sample = self.temperature > 0
        return {"do_sample": sample, "temperature": self.temperature if sample else 1.0,
                "max_new_tokens": self.max_new_tokens, "decoding": self.decoding, "slot_text": self.slot_text}


def load_protocol(path: str | os.PathLike) -> EvaluationProtocol:
    """The protocol in a JSON file: a protocol itself (what :meth:`to_dict`
    writes), or a result.json or leaderboard entry, whose ``evaluation``
    block is read."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ProtocolError(f"{path}: cannot read a JSON protocol ({exc})") from None
    if not isinstance(data, dict):
        raise ProtocolError(f"{path}: expected a JSON object")
    if "splits" not in data and "evaluation" in data:
        if data["evaluation"] is None:
            raise ProtocolError(f"{path}: records no evaluation protocol (a reported reference entry?)")
        data = data["evaluation"]
    try:
        return EvaluationProtocol.from_dict(data)
    except ProtocolError as exc:
        raise ProtocolError(f"{path}: {exc}") from None
