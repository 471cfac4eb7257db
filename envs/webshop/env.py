"""``prism_gym/WebShop-v0``: the Gymnasium env over the native WebShop engine.

Observations are the original's ``text`` pages; actions are strings
(``search[...]`` / ``click[...]``). An invalid action is a no-op, as in the
original: same observation, reward 0, ``info["is_action_valid"] = False``.
The episode terminates on ``click[buy now]`` and is truncated after
``max_steps`` steps (default 15).

Every env made with the same catalogue options in a process shares one
:class:`~prism_gym.envs.webshop.site.Site` (catalogue, goals, index);
processes share its memory-mapped files.

``reset(seed=None, options=None)``: ``options`` may name a task with
``{"split": s, "instance": i}`` or ``{"task": Task}`` (instance = the goal
index: canonical for test/dev/train, the pool index for ``pretrain``) or
``{"goal_idx": i}`` (upstream style, in the env's split); without one, a
seeded reset picks a goal of the split deterministically.
"""
from __future__ import annotations


import gymnasium as gym

from prism_gym.envs.text_space import AnyText
from prism_gym.envs.webshop.engine import Session
from prism_gym.envs.webshop.expert import Expert, noisy_action
from prism_gym.envs.webshop.goals import ALL_SPLITS
from prism_gym.envs.webshop.site import DEFAULT_N_PRODUCTS, get_site
from prism_gym.records import Task

ENV_NAME = "webshop"
ENV_ID = "prism_gym/WebShop-v0"
MAX_TEXT = 100_000  # characters; pages are far shorter
REWARD_MODES = ("dense", "sparse_success", "scaled")
SEARCH_PLACEHOLDER = "search[<your query>]"
RESET_OPTIONS = frozenset({"task", "split", "instance", "goal_idx"})




def admissible_actions(session: Session) -> list[str]:
    """The uniform contract's list: the search placeholder plus one click per clickable."""
    actions = [SEARCH_PLACEHOLDER] if session.page == "search" else []
    actions += [f"click[{text}]" for text in session.clickables if text != "search"]
    return actions


def task_for(goal: dict, split: str, index: int) -> Task:
    return Task(env=ENV_NAME, split=split, instance=str(index), task_type=goal["category"],
                goal=goal["instruction_text"])


class WebShopEnv(gym.Env):
    """The WebShop shopping site as a text env (see the module docstring)."""

    metadata = {"render_modes": ["ansi", "human"], "render_fps": 4}

    def __init__(self, split: str = "train", max_steps: int = 15, expert_actions: bool = False,
                 reward_mode: str = "dense", show_attrs: bool = False, catalogue: str = "generated",
                 n_products: int = DEFAULT_N_PRODUCTS, catalogue_seed: int = 0, data_dir: str | None = None,
                 goal_source: str = "human", num_products: int | None = None, cache_dir: str | None = None,
                 expert_noise: float = 0.0, render_mode: str | None = None):
        if split not in ALL_SPLITS:
            raise ValueError(f"unknown WebShop split {split!r}; known: {', '.join(ALL_SPLITS)}")
        if reward_mode not in REWARD_MODES:
            raise ValueError(f"unknown reward_mode {reward_mode!r}; use one of {', '.join(REWARD_MODES)}")
        if int(max_steps) < 1:
            raise ValueError(f"max_steps must be at least 1, not {max_steps}")
        if not 0.0 <= float(expert_noise) <= 1.0:
            raise ValueError(f"expert_noise must be a probability in [0, 1], not {expert_noise}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"unknown render_mode {render_mode!r}")
        self.site = get_site(catalogue=catalogue, n_products=n_products, seed=catalogue_seed, data_dir=data_dir,
                             goal_source=goal_source, num_products=num_products, cache_dir=cache_dir)
        self.split = split
        self.max_steps = int(max_steps)
        self.reward_mode = reward_mode
        self.show_attrs = bool(show_attrs)
        self.render_mode = render_mode
        self.expert = Expert() if expert_actions else None
        self.expert_noise = float(expert_noise)
        self.observation_space = AnyText(max_length=MAX_TEXT)
        self.action_space = AnyText(max_length=MAX_TEXT)
        self.session: Session | None = None
        self.task: Task | None = None
        self.goal_idx: int | None = None
        self.steps = 0
        self._terminated = False

    # -- gymnasium API -------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        split, index = self._pick_task(options or {})
        goal = self.site.goal(split, index)
        self.session = Session(self.site, goal, show_attrs=self.show_attrs)
        self.task = task_for(goal, split, index)
        self.goal_idx = index
        self.steps = 0
        self._terminated = False
        return self.session.observation, self._info(valid=True)

    def step(self, action: str):
        if self.session is None:
            raise RuntimeError("call reset() before step()")
        if self._terminated:
            # The original does not block steps after a purchase; the episode is over here.
            return self.session.observation, 0.0, True, False, self._info(valid=False)
        if not isinstance(action, str):
            raise TypeError(f"a WebShop action is a string, not {type(action).__name__}")
        valid = self.session.step(action)
        self.steps += 1
        terminated = self.session.done
        reward = self._reward() if terminated else 0.0
        truncated = not terminated and self.steps >= self.max_steps
        self._terminated = terminated
        return self.session.observation, reward, terminated, truncated, self._info(valid=valid)

    def render(self):
        if self.session is None:
            return None
        if self.render_mode == "human":
            print(self.session.observation)
            return None
        return self.session.observation

    def close(self):
        self.session = None  # per-session state is dropped; the shared site stays

    # -- helpers -------------------------------------------------------------------------
    def _pick_task(self, options: dict) -> tuple[str, int]:
        unknown = set(options) - RESET_OPTIONS
        if unknown:
            raise ValueError(f"unknown reset options {sorted(unknown)}; known: {', '.join(sorted(RESET_OPTIONS))}")
        if "task" in options:
            task = options["task"]
            if not isinstance(task, Task):
                raise TypeError(f"options['task'] must be a prism_gym.records.Task, not {type(task).__name__}")
            if task.env not in (ENV_NAME, ENV_ID):
                raise ValueError(f"task {task.id} belongs to env {task.env!r}, not {ENV_NAME!r}")
            return task.split, _parse_instance(task.instance)
        split = options.get("split", self.split)
        if split not in ALL_SPLITS:
            raise ValueError(f"unknown WebShop split {split!r}; known: {', '.join(ALL_SPLITS)}")
        if "instance" in options:
            return split, _parse_instance(options["instance"])
        if "goal_idx" in options:
            return split, _parse_instance(options["goal_idx"])
        indices = self.site.split_indices(split)
        if not len(indices):
            raise ValueError(f"split {split!r} has no goals in this catalogue")
        return split, int(indices[int(self.np_random.integers(len(indices)))])

    def _reward(self) -> float:
        r = float(self.session.reward)
        if self.reward_mode == "sparse_success":
            return 10.0 if r == 1.0 else 0.0
        if self.reward_mode == "scaled":
            return 10.0 * r
        return r

    def _info(self, valid: bool) -> dict:
        session = self.session
        r = session.reward
        info = {
            "admissible_actions": admissible_actions(session),
            "available_actions": session.available_actions(),
            "won": r == 1.0,
            "task": self.task,
            "score": 0.0 if r is None else 100.0 * r,
            "task_score": 0.0 if r is None else float(r),
            "is_action_valid": bool(valid),
            "instruction": session.instruction,
            "goal_idx": self.goal_idx,
            "reward_components": dict(session.reward_info),
            "asin_purchased": session.product["asin"] if session.done else None,
            "steps": self.steps,
        }
        if self.expert is not None:
            info["expert_action"] = noisy_action(self.expert, session, self.expert_noise, self.np_random)
        return info


def _parse_instance(value) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        raise ValueError(f"a WebShop instance is a goal index (an integer), not {value!r}") from None
