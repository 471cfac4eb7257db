"""verl's reward function for the prism-gym interaction: a sample's reward is
its episode's return, the sum of the turn scores the interaction reported
(:mod:`prism_gym.verl_interaction`). It imports nothing from verl.

verl's reward loop (verl 0.7, the default without a reward model) hands a
multi-turn sample's ``turn_scores`` to the reward function in ``extra_info``;
point verl at this file::

    reward.custom_reward_function.path=$(python -c "import prism_gym.verl_reward as m; print(m.__file__)")
    reward.custom_reward_function.name=compute_score
"""
from __future__ import annotations

from typing import Any, Optional


def compute_score(data_source: str, solution_str: str, ground_truth: str,
                  extra_info: Optional[dict[str, Any]] = None, **kwargs) -> float:
    """The episode's return; ``solution_str`` is not re-read (the env judged each turn)."""
    scores = (extra_info or {}).get("turn_scores")
    if scores is None:
        raise ValueError(f"no turn_scores for {ground_truth!r}: run verl's multi-turn rollout with the "
                         "prism-gym interaction (actor_rollout_ref.rollout.multi_turn.interaction_config_path) "
                         "and its reward loop, which passes them in extra_info")
    return float(sum(float(s) for s in scores))
