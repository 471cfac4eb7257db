"""ReLIFT: RL, interleaved with SFT on the demonstrations of the tasks the
policy fails.

ReLIFT ("Learning What Reinforcement Learning Can't: Interleaved Online
Fine-Tuning for Hardest Questions", arXiv 2506.07527; code read in the
juststayhungry/ReLIFT copy of the authors' repository,
``relift/verl/verl/relift/trainer.py``) trains mostly
by RL. Prompts whose rollouts all fail ("solve none") go, with their
demonstrations, into a buffer; once the buffer holds ``sft_data_size``
demonstrations an SFT step trains on them and they leave the buffer.

Here every task of an update trains by RL on its rollouts. A task none of
whose rollouts won, and that has a demonstration, joins the buffer (once).
When the buffer holds ``buffer_size`` demonstrations, the oldest
``buffer_size`` are trained by SFT (weight ``sft_weight``) and leave it;
``interval`` (optional) also empties it every that many updates, so that a
short run trains on what it has found. One difference from ReLIFT: the SFT
step is not a separate optimizer step with its own learning rate, it is a
term of the update's one step (:mod:`prism_gym.runner.mixed`).
"""
from __future__ import annotations

from prism_gym import hookimpl
from prism_gym.arbitration import RL_ONLY, Arbitration, BaseArbiter, SFTItem, UpdateView
from prism_gym.specs import ArbiterSpec


class ReLIFTArbiter(BaseArbiter):
    name = "relift"

    def __init__(self, buffer_size: int = 4, interval: int | None = None, sft_weight: float = 1.0):
        if isinstance(buffer_size, bool) or not isinstance(buffer_size, int) or buffer_size < 1:
            raise ValueError(f"buffer_size must be a positive integer, got {buffer_size!r}")
        if interval is not None and (isinstance(interval, bool) or not isinstance(interval, int) or interval < 1):
            raise ValueError(f"interval must be a positive integer or none, got {interval!r}")
        if not isinstance(sft_weight, (int, float)) or sft_weight < 0:
            raise ValueError(f"sft_weight must be >= 0, got {sft_weight!r}")
        self.buffer_size, self.interval, self.sft_weight = buffer_size, interval, float(sft_weight)
        self._buffer: list[str] = []  # task ids, oldest first

    def arbitrate(self, view: UpdateView) -> Arbitration:
        added = 0
        for outcome in view.outcomes:
            tid = outcome.task.id
            if outcome.solved == 0 and outcome.demonstration is not None and tid not in self._buffer:
                self._buffer.append(tid)
                added += 1
        due = self.interval is not None and (view.update + 1) % self.interval == 0
        take: list[str] = []
        if len(self._buffer) >= self.buffer_size or (due and self._buffer):
            take, self._buffer = self._buffer[:self.buffer_size], self._buffer[self.buffer_size:]
        extra = [SFTItem(view.demonstrations[tid], self.sft_weight) for tid in take]
        return Arbitration({o.task.id: RL_ONLY for o in view.outcomes}, extra_sft=extra,
                           notes={"buffered": added, "buffer": len(self._buffer), "sft_demos": len(extra)})

    def state_dict(self) -> dict:
        return {"buffer": list(self._buffer)}

    def load_state_dict(self, state: dict) -> None:
        self._buffer = list(state.get("buffer", []))


@hookimpl
def prism_gym_arbiters():
    return [ArbiterSpec(ReLIFTArbiter.name, ReLIFTArbiter,
                        "ReLIFT (arXiv 2506.07527): RL on every task; demos of tasks with no won rollout are "
                        "buffered and trained by SFT once buffer_size are in (or every interval updates).",
                        options={"buffer_size": 4, "interval": None, "sft_weight": 1.0})]
