"""The two agents that need no model: the expert (a data source and a sanity
check: it must win every task) and the seeded random agent (a floor, and the
walker that produces the default model's pretraining text)."""
from __future__ import annotations

import random
import re
from typing import Sequence

from prism_gym.agent import ActRequest

# A WebShop-style admissible entry that stands for free text, e.g. "search[<your query>]".
_PLACEHOLDER_RE = re.compile(r"^(?P<verb>\w+)\[\s*<[^>]*>\s*\]$")
_WORD_RE = re.compile(r"[a-z0-9][a-z0-9.\-']*")
# Words that carry no product information; a query built from the goal skips them.
_STOP_WORDS = frozenset(
    "a an and are as at be but by for from i in into is it me my need of on or that the this to with "
    "want looking find buy please price lower than dollars".split())


class ExpertAgent:
    """Plays the env's expert: returns ``info["expert_action"]``.

    The env must be made with ``expert_actions=True``; :attr:`env_kwargs`
    says so, and the rollout engine merges it into the env's arguments.
    """

    name = "expert"
    env_kwargs = {"expert_actions": True}

    def __init__(self, env_name: str | None = None, **options):
        if options:
            raise TypeError(f"agent 'expert' takes no options, got: {', '.join(sorted(options))}")
        self.env_name = env_name

    def act_batch(self, requests: Sequence[ActRequest]) -> list[str]:
        actions = []
        for req in requests:
            if "expert_action" not in req.info:
                raise RuntimeError(
                    f"the env gave no info['expert_action'] for task {req.task.id}; "
                    "make the env with expert_actions=True")
            actions.append(str(req.info["expert_action"]))
        return actions


class RandomAgent:
    """Picks uniformly among the admissible actions with its own seeded RNG.

    A free-text entry such as WebShop's ``search[<your query>]`` is replaced by
    a query of 2-6 words drawn from the goal, so that searching finds products
    related to the task (a search for the literal placeholder would not).
    """

    name = "random"

    def __init__(self, env_name: str | None = None, seed: int = 0, **options):
        if options:
            raise TypeError(f"agent 'random' got unknown options: {', '.join(sorted(options))}")
        self.env_name = env_name
        self.seed = seed
        self.rng = random.Random(seed)

    def reseed(self, seed: int) -> None:
        """Restart the RNG (the rollout engine calls this with its seed)."""
        self.seed = seed
        self.rng = random.Random(seed)

    def act_batch(self, requests: Sequence[ActRequest]) -> list[str]:
        return [self.act(req) for req in requests]

    def act(self, req: ActRequest) -> str:
        if not req.admissible_actions:
            # Nothing admissible listed: the env will call any action invalid.
            return "look"
        choice = self.rng.choice(list(req.admissible_actions))
        match = _PLACEHOLDER_RE.match(choice)
        if match:
            return f"{match.group('verb')}[{query_from_goal(req.task.goal, self.rng)}]"
        return choice


class NoisyExpertWalker:
    """The DAgger-style walker of the default model's pretraining corpus.

    At every state it takes the expert's action with probability
    ``1 - noise`` and a random admissible action (as :class:`RandomAgent`)
    otherwise, and it records the expert's action for every state it visits:
    :attr:`labels` maps ``(task id, step index)`` to that action. The corpus
    answers each visited state with its label, so the text shows what the
    expert does from states off its own path too (DAgger's relabelling,
    Ross et al. 2011), and ``noise=0`` gives plain offline expert episodes.

    Labels are keyed by task, so one rollout must play each task once
    (``group_size=1``, distinct tasks).
    """

    name = "noisy-expert"
    env_kwargs = {"expert_actions": True}

    def __init__(self, env_name: str | None = None, noise: float = 0.5, seed: int = 0):
        if not 0 <= noise <= 1:
            raise ValueError(f"noise must be in [0, 1], got {noise}")
        self.env_name = env_name
        self.noise = float(noise)
        self.labels: dict[tuple[str, int], str] = {}
        self.reseed(seed)

    def reseed(self, seed: int) -> None:
        self.seed = seed
        self.random = RandomAgent(self.env_name, seed=seed)
        # Its own stream for the coin, so that the detours drawn do not shift with the noise level.
        self.coin = random.Random(f"noisy-expert/{seed}")

    def act_batch(self, requests: Sequence[ActRequest]) -> list[str]:
        actions = []
        for req in requests:
            if "expert_action" not in req.info:
                raise RuntimeError(f"the env gave no info['expert_action'] for task {req.task.id}; "
                                   "make the env with expert_actions=True")
            expert = str(req.info["expert_action"])
            self.labels[(req.task.id, len(req.history))] = expert
            detour = self.random.act(req)  # drawn every step: the random stream does not depend on the coin
            actions.append(detour if self.coin.random() < self.noise else expert)
        return actions


# A product's id on a results page: 10 letters and digits with at least one
# digit, which tells it from the page's buttons ("attributes" is 10 letters).
_PRODUCT_ID_RE = re.compile(r"^click\[(?=[a-z0-9]*\d)([a-z0-9]{10})\]$")


class RuleAgent:
    """The WebShop paper's rule baseline (Yao et al. 2022, section 5): search
    the instruction text as it is, click the first result, buy it. No options
    are chosen and nothing is compared; it needs no model.

    On a page where none of its three moves is admissible (a product's
    sub-page, or a results page with no product) it goes back, then takes the
    first admissible action, so that an episode always ends.
    """

    name = "rule"

    def __init__(self, env_name: str | None = None, **options):
        if options:
            raise TypeError(f"agent 'rule' takes no options, got: {', '.join(sorted(options))}")
        if env_name not in (None, "webshop", "prism_gym/WebShop-v0"):
            raise ValueError(f"agent 'rule' is WebShop's rule baseline; it has no rule for env {env_name!r}")
        self.env_name = env_name

    def act_batch(self, requests: Sequence[ActRequest]) -> list[str]:
        return [self.act(req) for req in requests]

    def act(self, req: ActRequest) -> str:
        admissible = list(req.admissible_actions)
        for action in admissible:
            if _PLACEHOLDER_RE.match(action) and action.startswith("search["):
                return f"search[{req.task.goal}]"
        products = [a for a in admissible if _PRODUCT_ID_RE.match(a)]
        if products:
            return products[0]  # the admissible list keeps the page's order: the first result
        if "click[buy now]" in admissible:
            return "click[buy now]"
        for back in ("click[< prev]", "click[back to search]"):
            if back in admissible:
                return back
        return admissible[0] if admissible else "look"


def query_from_goal(goal: str, rng: random.Random, min_words: int = 2, max_words: int = 6) -> str:
    """A short search query: a random run of content words of ``goal``, in order."""
    words = [w.strip(".,'") for w in _WORD_RE.findall(goal.lower())]
    words = [w for w in words if w and w not in _STOP_WORDS]
    if not words:
        return "item"
    n = rng.randint(min(min_words, len(words)), min(max_words, len(words)))
    start = rng.randint(0, len(words) - n)
    return " ".join(words[start:start + n])
