"""The agent API. An agent maps (task, history, observation, admissible
actions) to an action string, for a whole batch of environments at once, so
that an LLM agent can generate for all of them in one batched call."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, Sequence, runtime_checkable

from prism_gym.records import Task, Turn


@dataclass
class ActRequest:
    task: Task
    history: Sequence[Turn]  # earlier turns of this episode, oldest first
    observation: str
    admissible_actions: Sequence[str]
    info: dict[str, Any] = field(default_factory=dict)  # the env's info (may hold "expert_action")


@runtime_checkable
class Agent(Protocol):
    name: str

    def act_batch(self, requests: Sequence[ActRequest]) -> list[str]: ...
