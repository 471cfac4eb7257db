"""A prism-gym env as a verl interaction: one env episode per sample.

verl's multi-turn rollout (``ToolAgentLoop``; tested with verl 0.7.1, the last
release with ``verl.interactions``: verl 0.8 removed it) calls, per sample:

1. ``start_interaction(request_id, **interaction_kwargs)``, with the row's
   ``extra_info.interaction_kwargs`` (``prism-gym route --export-dir`` writes
   ``name``, ``env``, ``split`` and ``instance``): the env is reset to that task,
   whose first observation is the row's prompt;
2. after every assistant turn, ``generate_response(request_id, messages,
   **interaction_kwargs)``: the action is read from the last assistant message
   by prism-gym's answer contract (``<action>...</action>``,
   :func:`prism_gym.agents.prompts.parse_action`) and played; the env's reply
   becomes the next user turn, its reward the turn score, and the episode's end
   ends the sample.

A bad or malformed action is the env's business, as in every prism-gym
rollout: it costs a step and the env's own reply ("Nothing happens.") goes
back to the model; nothing is raised. verl 0.7 never calls
``calculate_score`` or ``finalize_interaction``, so an episode's env is closed
as soon as it ends, and at most ``max_episodes`` episodes are kept (the oldest
go first) for the samples verl cuts off before their end.

The config (``verl_interaction.yaml`` of an export) names the env and its
constructor options::

    interaction:
      - name: prism_gym_alfworld
        class_name: prism_gym.verl_interaction.PrismGymInteraction
        config: {env: alfworld, env_kwargs: {}, max_episodes: 4096}
"""
from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Optional
from uuid import uuid4

from verl.interactions.base import BaseInteraction

from prism_gym.agents.prompts import parse_action, render_user
from prism_gym.records import Task, Turn

logger = logging.getLogger(__name__)
DEFAULT_MAX_EPISODES = 4096


@dataclass
class _Episode:
    env: Any
    task: Task
    observation: str
    admissible: list[str]
    turns: list[Turn] = field(default_factory=list)
    total_reward: float = 0.0
    won: bool = False
    done: bool = False


class PrismGymInteraction(BaseInteraction):
    """Plays the sample's task in the env named by ``config["env"]``."""

    def __init__(self, config: dict[str, Any]):
        super().__init__(config)
        if not config.get("env"):
            raise ValueError("the interaction config needs `env` (alfworld, webshop or a plugin's env)")
        self.env_name = str(config["env"])
        self.env_kwargs = dict(config.get("env_kwargs") or {})
        self.max_episodes = int(config.get("max_episodes", DEFAULT_MAX_EPISODES))
        self._episodes: OrderedDict[str, _Episode] = OrderedDict()

    async def start_interaction(self, instance_id: Optional[str] = None, split: Optional[str] = None,
                                instance: Optional[str] = None, **kwargs) -> str:
        import prism_gym.envs

        if kwargs.get("env") not in (None, self.env_name):
            # a row routed to the wrong entry of the config: a setup error, not the policy's
            raise ValueError(f"interaction {self.name!r} plays {self.env_name!r}, but the sample's task is in "
                             f"{kwargs['env']!r}: its interaction_kwargs name the wrong interaction")
        if instance_id is None:
            instance_id = uuid4().hex
        env = prism_gym.envs.make(self.env_name, **self.env_kwargs)
        options = {key: str(value) for key, value in (("split", split), ("instance", instance)) if value is not None}
        obs, info = env.reset(options=options or None)
        self._forget(instance_id)
        self._episodes[instance_id] = _Episode(env=env, task=info["task"], observation=obs,
                                               admissible=list(info.get("admissible_actions", ())))
        while len(self._episodes) > self.max_episodes:
            self._forget(next(iter(self._episodes)))
        return instance_id

    async def generate_response(self, instance_id: str, messages: list[dict[str, Any]], **kwargs
                                ) -> tuple[bool, str, float, dict[str, Any]]:
        episode = self._episodes.get(instance_id)
        if episode is None:
            # Dropped for room (max_episodes) or never started: end the sample rather than the rollout.
            logger.warning("prism-gym interaction: no episode %s; ending the sample", instance_id)
            return True, "This episode is no longer available.", 0.0, {"error": "unknown episode"}
        if episode.done:
            return True, "The episode is over.", 0.0, self._metrics(episode, valid=False, well_formed=False)
        action, well_formed = parse_action(_last_assistant_text(messages))
        obs, reward, terminated, truncated, info = episode.env.step(action)
        episode.turns.append(Turn(observation=episode.observation, action=action, reward=float(reward),
                                  admissible_actions=tuple(episode.admissible)))
        episode.observation, episode.admissible = obs, list(info.get("admissible_actions", ()))
        episode.total_reward += float(reward)
        episode.won = bool(info.get("won", False))
        episode.done = bool(terminated or truncated)
        metrics = self._metrics(episode, valid=bool(info.get("is_action_valid", True)), well_formed=well_formed)
        if episode.done:
            episode.env.close()
            outcome = "the task is done" if episode.won else (
                "the step limit is reached" if truncated else f"score {float(info.get('score', 0.0)):.0f} of 100")
            return True, f"{obs.strip()}\n\nThe episode is over: {outcome}.", float(reward), metrics
        # window 0: the conversation already holds the earlier steps
        reply = render_user(episode.task, episode.turns, obs, episode.admissible, history_window=0)
        return False, reply, float(reward), metrics

    async def calculate_score(self, instance_id: Optional[str] = None, **kwargs) -> float:
        """The episode's return so far: the sum of the env's rewards (ALFWorld: 1 when won)."""
        episode = self._episodes.get(instance_id) if instance_id is not None else None
        return episode.total_reward if episode is not None else 0.0

    async def finalize_interaction(self, instance_id: Optional[str] = None, **kwargs) -> None:
        if instance_id is not None:
            self._forget(instance_id)

    def _forget(self, instance_id: str) -> None:
        episode = self._episodes.pop(instance_id, None)
        if episode is not None and not episode.done:
            episode.env.close()

    @staticmethod
    def _metrics(episode: _Episode, *, valid: bool, well_formed: bool) -> dict[str, Any]:
        return {"won": episode.won, "steps": len(episode.turns), "is_action_valid": valid,
                "well_formed": well_formed, "task_id": episode.task.id}


def _last_assistant_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "assistant":
            content = message.get("content")
            return content if isinstance(content, str) else ""
    return ""
