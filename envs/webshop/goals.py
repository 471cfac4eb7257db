"""Goal synthesis rules shared by the original data and the generator:
price caps, instruction suffixes, the canonical order and the splits."""
from __future__ import annotations

import itertools
import random
from collections import Counter

PRICE_RANGE = [10.0 * i for i in range(1, 100)]  # 10, 20, ..., 990
NO_PRICE_CAP = 1000000.0
GOAL_SHUFFLE_SEED = 233

# Canonical splits over goal indices (after the seed-233 shuffle).
SPLITS = {"test": (0, 500), "dev": (500, 1500), "train": (1500, None)}
PRETRAIN_SPLIT = "pretrain"  # a separate goal pool, disjoint from the splits above
ALL_SPLITS = ("train", "dev", "test", PRETRAIN_SPLIT)


def price_cap(price: float, rng: random.Random) -> tuple[float, str]:
    """(price_upper, instruction suffix): the 2nd to 4th threshold above ``price``."""
    above = [p for p in PRICE_RANGE if p > price][:4]
    if len(above) >= 2:
        upper = max(rng.sample(above, 2))
        return upper, f", and price lower than {upper:.2f} dollars"
    return NO_PRICE_CAP, ""


def synthetic_option_text(goal_options: dict) -> str:
    """`` with color: blue, and size: large`` (empty without options)."""
    text = ", and ".join(f"{k}: {v}" for k, v in goal_options.items())
    return " with " + text if text else ""


def option_combinations(options: dict[str, list[str]]) -> list[dict[str, str]]:
    """One dict per combination of option values, option names sorted."""
    names = sorted(options)
    return [dict(zip(names, combo)) for combo in itertools.product(*(options[n] for n in names))]


def goal_weight(goal: dict, counts: Counter) -> float:
    """Synthetic goals: mean over attributes of 1 / (synthetic goals containing it);
    human goals: 1. ``counts`` counts attributes over the synthetic goals."""
    if isinstance(goal["goal_options"], dict) and goal["attributes"]:
        return sum(1.0 / counts[a] for a in goal["attributes"]) / len(goal["attributes"])
    return 1


def split_range(split: str, n_goals: int) -> range:
    """Goal indices of ``split`` (test 0-499, dev 500-1499, train 1500+)."""
    if split not in SPLITS:
        raise ValueError(f"unknown WebShop split {split!r}; known: {', '.join(ALL_SPLITS)}")
    start, end = SPLITS[split]
    end = n_goals if end is None else min(end, n_goals)
    return range(min(start, n_goals), end)
