"""What travels between an OpenEnv client and a served prism-gym env.

The observation carries everything an agent acts on (the env's text, the
admissible actions, the task) so that a remote trainer needs no prism-gym
import; ``reward`` and ``done`` are OpenEnv's own fields (``done`` is
terminated or truncated, ``truncated`` tells the two apart).
"""
from __future__ import annotations

from typing import Any, Optional

from openenv.core.env_server.types import Action, Observation, State
from pydantic import Field

# No ALFWorld or WebShop action comes near this; a longer one is refused before
# it reaches the engine, so a 1 MB string cannot make a search or parser slow
# for everyone on the server. The env checks it, not a pydantic max_length:
# pydantic's error would echo the whole input back to the client.
MAX_ACTION_CHARS = 4096


class TextAction(Action):
    """One text action, as the env's admissible list spells it."""

    action: str = Field(..., description=f"the action text, e.g. 'go to cabinet 1' (at most {MAX_ACTION_CHARS} "
                                         "characters)")


class TextObservation(Observation):
    """What the env showed after a reset or a step."""

    text: str = Field("", description="the env's observation text")
    admissible_actions: list[str] = Field(default_factory=list, description="the actions the env accepts now")
    task: dict[str, str] = Field(default_factory=dict,
                                 description="the task: env, split, instance, task_type, goal and id")
    won: bool = False
    score: float = Field(0.0, description="the env's score, 0-100")
    step: int = Field(0, description="steps taken in this episode")
    truncated: bool = Field(False, description="ended by the step limit, not by the task")
    is_action_valid: bool = True


class EpisodeState(State):
    """The session's episode: OpenEnv's ``episode_id`` and ``step_count`` plus
    the task and how it stands."""

    env: str = ""
    task: Optional[dict[str, str]] = None
    won: bool = False
    done: bool = False
    total_reward: float = 0.0


def task_dict(task: Any) -> dict[str, str]:
    """A prism-gym Task as the plain strings the wire carries."""
    return {"env": task.env, "split": task.split, "instance": task.instance,
            "task_type": task.task_type, "goal": task.goal, "id": task.id}
