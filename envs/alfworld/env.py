"""``prism_gym/ALFWorld-v0``: the native ALFWorld engine as a Gymnasium env.

Observations and actions are free text. The reward is the original's, 1 on the
step that wins (``reward_mode="win"``). ``reward_mode="goal_conditions"`` is a
denser training reward: each step is paid the change in the ALFRED
goal-condition fraction (:meth:`Engine.goal_conditions`), so an episode's
return is its final fraction (1 when won), and a heated-but-not-placed egg
earns a third. It is potential-based shaping on the env's own metric; the
paper's RL (verl-agent) trains on the win reward. ``info`` follows the uniform prism-gym
contract (``admissible_actions``, ``won``, ``task``, ``score``,
``is_action_valid``, and ``expert_action`` on request) plus the original's
``admissible_commands`` and ALFWorld extras (``goal_condition_success``,
``task_type``, ``gamefile``).

``gymnasium.make_vec`` works in ``sync`` and ``async`` mode; observations cross
process boundaries as UTF-8 (see :mod:`prism_gym.envs.text_space`).
"""
from __future__ import annotations

import random
import re

import gymnasium

from prism_gym.envs.alfworld.engine import WELCOME, Engine
from prism_gym.envs.alfworld.sources import make_source
from prism_gym.envs.alfworld.tables import DEFAULT_DIALECT, normalize_dialect
from prism_gym.envs.text_space import AnyText
from prism_gym.records import Task

MAX_TEXT = 1 << 16
REWARD_MODES = ("win", "goal_conditions")
DEFAULT_CYCLE_SEED = 1234  # the original's default game-order seed
_LOC_PREFIX = re.compile(r"^You arrive at loc \d+\. ")


class ALFWorldEnv(gymnasium.Env):
    """One ALFWorld game per episode.

    Args:
        split: ``train`` (default), ``valid_seen``, ``valid_unseen`` or ``pretrain``
            (generated games), or a split of ``data_dir``; with ``game_files`` the
            split's name (default ``custom``).
        task_types: names or original ids (1-6) to keep; all by default.
        dialect: text version, ``"2.1.2"`` (also ``"2.1.3"``, the default) or ``"2.1.1"``.
        data_dir: an ALFWorld data directory (``json_2.1.1/<split>/...``) to play the
            official games instead of generated ones.
        game_files: ``game.tw-pddl`` paths to play in exactly this order, one per reset.
        max_steps: step limit (``truncated`` when reached without a win).
        expert_actions: add the handcoded expert's next action as ``info["expert_action"]``.
        num_games: size of a generated split (default: the original's split size).
        game_seed: seed of the generated games (game ``i`` is a function of it).
        drop_welcome_header: drop the ``-= Welcome ... =-`` line from the first observation.
        include_help: keep ``help`` in the admissible list (default: as the dialect has it).
        strip_loc_prefix: drop a leading ``You arrive at loc N. `` (2.1.1), as ReAct and AgentGym do.
        domain_randomization: number the entities at random on every reset (the
            original's train-time option; lists keep their order), drawn from the
            reset seed, so a seeded reset still gives the same text.
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(self, split: str | None = None, task_types=None, dialect: str = DEFAULT_DIALECT, data_dir=None,
                 game_files=None, max_steps: int = 50, expert_actions: bool = False, num_games: int | None = None,
                 game_seed: int = 0, drop_welcome_header: bool = False, include_help: bool | None = None,
                 strip_loc_prefix: bool = False, domain_randomization: bool = False,
                 reward_mode: str = "win", render_mode: str | None = None):
        if max_steps < 1:
            raise ValueError(f"max_steps must be >= 1, not {max_steps}")
        if reward_mode not in REWARD_MODES:
            raise ValueError(f"unknown reward_mode {reward_mode!r}; use one of {', '.join(REWARD_MODES)}")
        self.reward_mode = reward_mode
        if render_mode not in (None, "ansi"):
            raise ValueError(f"render_mode must be None or 'ansi', not {render_mode!r}")
        self.dialect = normalize_dialect(dialect)
        self.max_steps = int(max_steps)
        self.expert_actions = bool(expert_actions)
        self.drop_welcome_header = bool(drop_welcome_header)
        self.include_help = include_help
        self.strip_loc_prefix = bool(strip_loc_prefix)
        self.domain_randomization = bool(domain_randomization)
        self.render_mode = render_mode
        self._source_kwargs = dict(task_types=task_types, seed=game_seed, num_games=num_games, data_dir=data_dir,
                                   game_files=game_files, dialect=self.dialect)
        self._sources = {}
        # game_files form their own split ("custom" unless named); otherwise "train"
        self.split = split or ("custom" if game_files is not None else "train")
        self._source(self.split)  # fail early on a bad split or option
        self.observation_space = AnyText(max_length=MAX_TEXT)
        self.action_space = AnyText(max_length=MAX_TEXT)
        self._order: list[str] = []
        self._cursor = 0
        self._order_seed = None
        self.engine: Engine | None = None
        self.expert = None
        self._last_obs = ""

    # -- game selection -----------------------------------------------------------
    def _source(self, split: str):
        if split not in self._sources:
            self._sources[split] = make_source(split, **self._source_kwargs)
        return self._sources[split]

    def _next_instance(self, seed: int | None) -> str:
        """The next game of a seeded shuffled cycle over the split."""
        source = self._source(self.split)
        if seed is not None or self._order_seed is None or len(self._order) != len(source.instances):
            self._order_seed = DEFAULT_CYCLE_SEED if seed is None else int(seed)
            self._order = list(source.instances)
            if not self._source_kwargs.get("game_files"):
                random.Random(self._order_seed).shuffle(self._order)
            self._cursor = 0
        instance = self._order[self._cursor % len(self._order)]
        self._cursor += 1
        return instance

    # -- gymnasium API -------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        options = dict(options or {})
        unknown = set(options) - {"split", "instance", "task"}
        if unknown:
            raise ValueError(f"unknown reset options {sorted(unknown)}; known: split, instance, task")
        task = options.get("task")
        if task is not None:
            if not isinstance(task, Task):
                raise TypeError(f"options['task'] must be a prism_gym.records.Task, not {type(task).__name__}")
            if task.env not in ("alfworld", "prism_gym/ALFWorld-v0"):
                raise ValueError(f"task {task.id} belongs to env {task.env!r}, not 'alfworld'")
            options.setdefault("split", task.split)
            options.setdefault("instance", task.instance)
        split = options.get("split") or self.split
        if split != self.split:
            self._source(split)
            self.split = split
            self._order_seed = None
        source = self._source(self.split)
        if options.get("instance") is not None:
            instance = str(options["instance"])
        else:
            instance = self._next_instance(seed)
        self.task = source.task(instance)
        game = source.game(instance)
        name_seed = int(self.np_random.integers(2**31)) if self.domain_randomization else None
        self.engine = Engine(game, name_seed=name_seed)
        self.steps = 0
        self.expert = None
        if self.expert_actions:
            from prism_gym.envs.alfworld.expert import HandcodedExpert

            self.expert = HandcodedExpert(self.engine)
        obs = self.engine.intro
        if self.drop_welcome_header:
            obs = obs.removeprefix(WELCOME + "\n\n")
        self._last_obs = obs
        return obs, self._info(True)

    def step(self, action):
        if self.engine is None:
            raise RuntimeError("call reset() before step()")
        if not isinstance(action, str):
            raise TypeError(f"an ALFWorld action is a string, not {type(action).__name__}")
        was_won = self.engine.won
        # the goal-condition share is computed for info anyway; the win reward needs no second pass
        was_fraction = self.engine.goal_condition_success() if self.reward_mode == "goal_conditions" else 0.0
        valid = self.engine.is_admissible(action)
        obs, won = self.engine.step(action)
        if self.strip_loc_prefix:
            obs = _LOC_PREFIX.sub("", obs)
        self.steps += 1
        if self.expert is not None:
            self.expert.observe()
        if self.reward_mode == "goal_conditions":
            reward = self.engine.goal_condition_success() - was_fraction
        else:
            reward = 1.0 if won and not was_won else 0.0
        terminated = won
        truncated = (not won) and self.steps >= self.max_steps
        self._last_obs = obs
        return obs, reward, terminated, truncated, self._info(valid)

    def _info(self, valid: bool) -> dict:
        e = self.engine
        admissible = list(e.admissible)
        if self.include_help is False and "help" in admissible:
            admissible.remove("help")
        info = {
            "admissible_actions": admissible,
            "admissible_commands": list(admissible),
            "won": e.won,
            "task": self.task,
            "task_type": self.task.task_type,
            "goal": self.task.goal,
            "score": 100.0 if e.won else 0.0,
            "is_action_valid": valid,
            "goal_condition_success": e.goal_condition_success(),
            "gamefile": e.game.game_id or self.task.instance,
            "steps": self.steps,
        }
        if self.expert is not None:
            info["expert_action"] = self.expert.next_action()
        return info

    def render(self):
        if self.render_mode == "ansi":
            return self._last_obs
        return None
