"""Prompt templates: how a step of an episode is shown to an LLM, and how its
action is read back. Used identically for acting, SFT data, the gradient probe
and GRPO, so that what the model is trained on is what it later sees.

Format (template version ``PROMPT_VERSION``), one chat per step, in the style of
verl-agent's prompts:
- system: the env's instructions;
- user: the task, the last ``history`` steps (action and what came back), the
  current observation and the admissible actions, one per line;
- assistant: ``<action>ACTION</action>``.

Malformed output rule (:func:`parse_action`): the text inside the first
``<action>...</action>`` pair; failing that, the first non-empty line; an empty
answer is malformed and yields ``""``, which every prism-gym env treats as an
invalid action (it costs a step and changes nothing).
"""
from __future__ import annotations

import re
from typing import Sequence

from prism_gym.records import Task, Trajectory, Turn

PROMPT_VERSION = "1"
DEFAULT_HISTORY = 2
MAX_ADMISSIBLE_LISTED = 60  # long lists are cut (ALFWorld rarely exceeds 40)

SYSTEM_PROMPTS = {
    "alfworld": ("You are an agent in a household. Reach the goal by typing one command per step, "
                 "chosen from the admissible actions. Answer as <action>command</action>."),
    "webshop": ("You are a web shopping agent. Find and buy the product that fits the instruction by "
                "issuing search[query] or click[button] actions, chosen from the admissible actions. "
                "Answer as <action>action</action>."),
}
GENERIC_SYSTEM = "You are an agent in a text environment. Answer as <action>action</action>."

_ACTION_RE = re.compile(r"<action>(.*?)</action>", re.DOTALL | re.IGNORECASE)


def system_prompt(env: str) -> str:
    return SYSTEM_PROMPTS.get(env, GENERIC_SYSTEM)


def render_user(task: Task, history: Sequence[Turn], observation: str, admissible: Sequence[str],
                history_window: int = DEFAULT_HISTORY) -> str:
    parts = []
    if task.goal:
        parts.append(f"Task: {task.goal}")
    recent = list(history)[-history_window:] if history_window > 0 else []
    if recent:
        first = len(history) - len(recent) + 1
        lines = [f"[step {first + i}] > {turn.action}" for i, turn in enumerate(recent)]
        parts.append("Recent steps:\n" + "\n".join(lines))
    parts.append(f"Observation:\n{observation.strip()}")
    if admissible:
        shown = list(admissible)[:MAX_ADMISSIBLE_LISTED]
        parts.append("Admissible actions:\n" + "\n".join(shown))
    return "\n\n".join(parts)


def step_messages(task: Task, history: Sequence[Turn], observation: str, admissible: Sequence[str],
                  history_window: int = DEFAULT_HISTORY) -> list[dict]:
    """The chat (system + user) for one decision."""
    return [{"role": "system", "content": system_prompt(task.env)},
            {"role": "user", "content": render_user(task, history, observation, admissible, history_window)}]


def format_action(action: str) -> str:
    """The assistant message that states ``action``."""
    return f"<action>{action}</action>"


def parse_action(text: str) -> tuple[str, bool]:
    """``(action, well_formed)`` from a model's answer; see the module doc."""
    match = _ACTION_RE.search(text)
    if match:
        return match.group(1).strip(), True
    for line in text.splitlines():
        line = line.replace("<action>", "").replace("</action>", "").strip()
        if line:
            return line, False
    return "", False


def trajectory_chats(trajectory: Trajectory, history_window: int = DEFAULT_HISTORY) -> list[list[dict]]:
    """One full chat (system, user, assistant) per step of ``trajectory``: the
    SFT samples of that trajectory, and what the probe measures it on."""
    chats = []
    turns = trajectory.turns
    for i, turn in enumerate(turns):
        msgs = step_messages(trajectory.task, turns[:i], turn.observation, turn.admissible_actions, history_window)
        msgs.append({"role": "assistant", "content": format_action(turn.action)})
        chats.append(msgs)
    return chats
