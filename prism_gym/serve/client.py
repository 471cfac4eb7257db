"""OpenEnv's ``EnvClient`` for a served prism-gym env: typed actions,
observations and state over the server's WebSocket session.

    from prism_gym.serve.client import PrismGymEnvClient, TextAction

    with PrismGymEnvClient(base_url="http://127.0.0.1:8000").sync() as env:
        result = env.reset(split="valid_seen", instance="0")
        result = env.step(TextAction(action=result.observation.admissible_actions[0]))

OpenEnv's ``GenericEnvClient`` works too, with plain dicts (``{"action": ...}``).
"""
from __future__ import annotations

from typing import Any

from openenv.core.client_types import StepResult
from openenv.core.env_client import EnvClient

from prism_gym.serve.models import EpisodeState, TextAction, TextObservation

__all__ = ["PrismGymEnvClient", "TextAction", "TextObservation", "EpisodeState"]


class PrismGymEnvClient(EnvClient[TextAction, TextObservation, EpisodeState]):
    """One session (one env, one episode at a time) on a ``prism-gym serve`` server."""

    def _step_payload(self, action: TextAction | str) -> dict[str, Any]:
        # A bare string is the common case for a text env; accept it as the action.
        if isinstance(action, str):
            action = TextAction(action=action)
        return action.model_dump(exclude={"metadata"})

    def _parse_result(self, payload: dict[str, Any]) -> StepResult[TextObservation]:
        observation = TextObservation(**payload.get("observation", {}), reward=payload.get("reward"),
                                      done=bool(payload.get("done", False)))
        return StepResult(observation=observation, reward=payload.get("reward"), done=observation.done)

    def _parse_state(self, payload: dict[str, Any]) -> EpisodeState:
        return EpisodeState(**payload)
