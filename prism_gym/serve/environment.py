"""Any prism-gym Gymnasium env as an OpenEnv ``Environment``.

OpenEnv's server builds one of these per WebSocket session (the factory is
called once per connection), so each client plays its own env and nothing but
read-only data (ALFWorld's game sources, WebShop's catalogue and index) is
shared between sessions.
"""
from __future__ import annotations

import uuid
from typing import Any, Optional

from openenv.core.env_server.interfaces import Environment
from openenv.core.env_server.types import EnvironmentMetadata

from prism_gym.serve.models import MAX_ACTION_CHARS, EpisodeState, TextAction, TextObservation, task_dict

RESET_OPTIONS = ("split", "instance")


class SessionError(RuntimeError):
    """A request that this session's episode cannot take (the message says why
    and what to send instead); the episode is left as it was."""


class PrismGymEnvironment(Environment[TextAction, TextObservation, EpisodeState]):
    """One prism-gym env (``env_name``: ``alfworld``, ``webshop`` or a plugin's
    env), one episode at a time.

    ``reset(seed=None, episode_id=None, split=None, instance=None)`` starts an
    episode: ``split`` and ``instance`` name a task (as a prism-gym Task does),
    otherwise the env draws the next task of its split from ``seed``.
    """

    SUPPORTS_CONCURRENT_SESSIONS = True
    # The engines are pure Python: under the GIL more threads add no throughput,
    # and one thread for every session means the data the envs share is never
    # read from two threads at once.
    REQUIRES_SINGLE_THREAD_EXECUTOR = True

    def __init__(self, env_name: str, env_kwargs: Optional[dict[str, Any]] = None):
        super().__init__()
        import prism_gym.envs
        from prism_gym.plugins import get_registry

        self.spec = get_registry().env(env_name)
        self.env = prism_gym.envs.make(env_name, **(env_kwargs or {}))
        self._state = EpisodeState(env=self.spec.name)
        self._started = False

    def reset(self, seed: Optional[int] = None, episode_id: Optional[str] = None, **kwargs: Any) -> TextObservation:
        unknown = sorted(set(kwargs) - set(RESET_OPTIONS))
        if unknown:
            # OpenEnv passes a reset message's data through as keyword arguments;
            # a misspelt option must not silently start some other task.
            raise ValueError(f"unknown reset option(s) {unknown}; known: seed, episode_id, {', '.join(RESET_OPTIONS)}")
        options = {key: str(kwargs[key]) for key in RESET_OPTIONS if kwargs.get(key) is not None}
        if "instance" in options and "split" not in options:
            options["split"] = self.env.unwrapped.split
        obs, info = self.env.reset(seed=seed, options=options or None)
        self._started = True
        self._state = EpisodeState(episode_id=episode_id or uuid.uuid4().hex, step_count=0, env=self.spec.name,
                                   task=task_dict(info["task"]))
        return self._observation(obs, info, reward=None, terminated=False, truncated=False)

    def step(self, action: TextAction, timeout_s: Optional[float] = None, **kwargs: Any) -> TextObservation:
        if not self._started:
            raise SessionError("this session has no episode yet: send a reset first")
        if self._state.done:
            raise SessionError("this session's episode is over: send a reset to start the next one")
        if len(action.action) > MAX_ACTION_CHARS:
            raise SessionError(f"an action of {len(action.action)} characters is refused: at most {MAX_ACTION_CHARS} "
                               "(the episode is unchanged)")
        obs, reward, terminated, truncated, info = self.env.step(action.action)
        state = self._state
        state.step_count += 1
        state.total_reward += float(reward)
        state.won = bool(info.get("won", False))
        state.done = bool(terminated or truncated)
        return self._observation(obs, info, reward=float(reward), terminated=terminated, truncated=truncated)

    @property
    def state(self) -> EpisodeState:
        return self._state

    def get_metadata(self) -> EnvironmentMetadata:
        from prism_gym import __version__

        return EnvironmentMetadata(name=self.spec.id, description=self.spec.summary or self.spec.id,
                                   version=__version__, documentation_url="docs/integrations.md")

    def close(self) -> None:
        self.env.close()

    def _observation(self, obs: str, info: dict, *, reward: Optional[float], terminated: bool,
                     truncated: bool) -> TextObservation:
        return TextObservation(
            text=obs, admissible_actions=list(info.get("admissible_actions", ())), task=self._state.task or {},
            won=bool(info.get("won", False)), score=float(info.get("score", 0.0)), step=self._state.step_count,
            truncated=bool(truncated), is_action_valid=bool(info.get("is_action_valid", True)),
            reward=reward, done=bool(terminated or truncated))
