"""HPT's gate: per prompt and per update, SFT on the demonstration when the
policy fails it, RL on the rollouts when it does not.

Hybrid Post-Training (Lv et al. 2025, "Towards a Unified View of Large
Language Model Post-Training", arXiv 2509.04419; code TsinghuaC3I/Unify-Post-Training,
``hpt/verl/verl/mix_src/mix_trainer.py``, ``unify_strategy=switch``). At every
step HPT rolls out each prompt, counts the rollouts that are correct, and
compares the count with ``switch_gate``: at or below it the prompt's
rollouts are removed and its demonstration trains with the SFT loss; above it
the rollouts train with the RL loss. Their scripts use ``switch_gate=0`` for
Qwen and 2 for LLaMA. Training starts from the base model: no SFT stage comes
first (the run's probe stage hands every task to the RL stage).

Here a rollout is correct when its episode is won. A task at or below the
gate whose expert did not win it (no demonstration) trains by RL instead.
HPT's ``switch_gate_off`` band and its ``soft`` strategy are not implemented.
"""
from __future__ import annotations

from prism_gym import hookimpl
from prism_gym.arbitration import RL_ONLY, SFT_ONLY, Arbitration, BaseArbiter, UpdateView
from prism_gym.specs import ArbiterSpec


class HPTArbiter(BaseArbiter):
    """SFT on the demonstration when at most ``switch_gate`` of the task's
    rollouts won, RL on the rollouts otherwise."""

    name = "hpt"

    def __init__(self, switch_gate: int = 0):
        if isinstance(switch_gate, bool) or not isinstance(switch_gate, int) or switch_gate < 0:
            raise ValueError(f"switch_gate must be an integer >= 0, got {switch_gate!r}")
        self.switch_gate = switch_gate

    def arbitrate(self, view: UpdateView) -> Arbitration:
        weights = {}
        for outcome in view.outcomes:
            gated = outcome.solved <= self.switch_gate and outcome.demonstration is not None
            weights[outcome.task.id] = SFT_ONLY if gated else RL_ONLY
        sft = sum(w is SFT_ONLY for w in weights.values())
        return Arbitration(weights, notes={"sft_tasks": sft, "rl_tasks": len(weights) - sft})


@hookimpl
def prism_gym_arbiters():
    return [ArbiterSpec(HPTArbiter.name, HPTArbiter,
                        "HPT (arXiv 2509.04419): per task and update, SFT on the demo when at most switch_gate "
                        "rollouts won, else RL on the rollouts; from the base model.",
                        options={"switch_gate": 0})]
