"""A served prism-gym env as a TRL ``environment_factory`` class.

TRL's ``GRPOTrainer(environment_factory=...)`` builds one instance per rollout,
calls ``reset(**row)`` with the dataset row (here: ``split`` and ``instance``
name the task), offers every other public method to the model as a tool
(here one, ``act``), and scores the rollout with ``get_reward()``. Each
instance holds one OpenEnv session on a ``prism-gym serve`` server, so the
rollouts of a batch play isolated episodes.

    from functools import partial
    trainer = GRPOTrainer(model, args=config, train_dataset=rows,
                          environment_factory=partial(ServedEnv, "http://127.0.0.1:8000"))
"""
from __future__ import annotations

from prism_gym.agents.prompts import render_user
from prism_gym.records import Task, Turn


class ServedEnv:
    """One rollout's episode on the server at ``base_url``."""

    def __init__(self, base_url: str):
        from prism_gym.serve.client import PrismGymEnvClient

        self._client = PrismGymEnvClient(base_url=base_url).sync()
        self._client.connect()
        self._task: Task | None = None
        self._turns: list[Turn] = []
        self._observation = ""
        self._return = 0.0
        self._done = False

    def reset(self, split: str | None = None, instance: str | None = None, **row) -> str:
        """Start the row's task; the text returned is appended to the prompt."""
        result = self._client.reset(split=split, instance=instance)
        self._task = Task.from_dict(result.observation.task)
        self._turns, self._return, self._done = [], 0.0, False
        return self._show(result.observation)

    def act(self, action: str) -> str:
        """Take one action in the household or shop.

        Args:
            action: One of the admissible actions, spelt as listed, e.g. "go to cabinet 1".

        Returns:
            What the environment shows next, with the actions admissible then.
        """
        if self._done:
            return "The episode is over; no more actions are taken."
        result = self._client.step(action)
        self._turns.append(Turn(observation=self._observation, action=action, reward=float(result.reward or 0.0)))
        self._return += float(result.reward or 0.0)
        self._done = result.done
        return self._show(result.observation)

    def get_reward(self) -> float:
        """The episode's return so far (ALFWorld: 1 when won)."""
        return self._return

    def _show(self, observation) -> str:
        self._observation = observation.text
        # window 0: the conversation already holds the earlier steps
        return render_user(self._task, self._turns, observation.text, observation.admissible_actions,
                           history_window=0)

    def __del__(self):
        try:
            self._client.close()
        except Exception:
            pass  # the interpreter may be shutting down; the server drops the session anyway
