"""One shared site per process: catalogue, goals and search index.

:func:`get_site` returns the same :class:`Site` for the same catalogue
options in a process (every env and the task lister share it); the tables
and the index are memory-mapped, so other processes share their pages too.
The first use of a catalogue builds it into the cache directory
(``$PRISM_GYM_CACHE`` or ``~/.cache/prism-gym``, under ``webshop/``).
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import threading
from collections import Counter
from pathlib import Path

from prism_gym.envs.webshop import generator
from prism_gym.envs.webshop.catalogue import Table, TableWriter, build_once
from prism_gym.fileio import cache_root
from prism_gym.envs.webshop.goals import GOAL_SHUFFLE_SEED, PRETRAIN_SPLIT, goal_weight, split_range
from prism_gym.envs.webshop.search import SearchIndex, build_index, product_document

DEFAULT_N_PRODUCTS = 4000
CATALOGUES = ("generated", "original")

_SITES: dict[Path, "Site"] = {}
_LOCK = threading.Lock()


class Site:
    """An immutable catalogue directory opened read-only."""

    def __init__(self, directory: Path, meta: dict):
        self.directory = Path(directory)
        self.meta = meta
        self.products = Table(self.directory / "products.jsonl")
        self.goals = Table(self.directory / "goals.jsonl", cache_size=1024)
        pretrain = self.directory / "pretrain_goals.jsonl"
        self.pretrain_goals = Table(pretrain, cache_size=256) if pretrain.exists() else None
        self._index: SearchIndex | None = None
        self._index_lock = threading.Lock()

    @property
    def index(self) -> SearchIndex:
        """The search index, loaded (memory-mapped) on first use."""
        if self._index is None:
            with self._index_lock:
                if self._index is None:
                    self._index = SearchIndex(self.directory / "index")
        return self._index

    def search(self, query: str) -> list[int]:
        return self.index.search(query)

    def goal_table(self, split: str) -> Table:
        if split == PRETRAIN_SPLIT:
            if self.pretrain_goals is None:
                raise ValueError(f"this catalogue ({self.meta.get('kind')}) has no {PRETRAIN_SPLIT!r} goals")
            return self.pretrain_goals
        return self.goals

    def split_indices(self, split: str) -> range:
        """Goal indices of ``split``: canonical indices, or pool indices for ``pretrain``."""
        if split == PRETRAIN_SPLIT:
            return range(len(self.goal_table(split)))
        return split_range(split, len(self.goals))

    def goal(self, split: str, index: int) -> dict:
        indices = self.split_indices(split)
        if index not in indices:
            raise ValueError(f"goal index {index} is not in split {split!r} "
                             f"(indices {indices.start}-{indices.stop - 1})" if len(indices) else
                             f"split {split!r} is empty in this catalogue ({len(self.goals)} goals)")
        return self.goal_table(split)[index]


def _build_generated(n_products: int, seed: int):
    def build(tmp: Path) -> dict:
        products = TableWriter(tmp / "products.jsonl")
        unordered = TableWriter(tmp / "goals.unordered.jsonl")
        pretrain = TableWriter(tmp / "pretrain_goals.jsonl")
        for i, product in enumerate(generator.iter_products(n_products, seed)):
            goal = product.pop("goal")
            goal["product_row"] = i
            goal["weight"] = 1
            products.append(product)
            (pretrain if generator.is_pretrain_product(i) else unordered).append(goal)
        for writer in (products, unordered, pretrain):
            writer.close()
        write_shuffled_goals(tmp)
        stats = build_index((product_document(p) for p in Table(tmp / "products.jsonl", cache_size=1)), tmp / "index")
        return {"kind": "generated", "generator_version": generator.GENERATOR_VERSION, "n_products": n_products,
                "seed": seed, "n_goals": len(Table(tmp / "goals.jsonl")), "n_pretrain_goals": len(pretrain),
                "index": stats}
    return build


def write_shuffled_goals(tmp: Path) -> None:
    """goals.unordered -> goals in the original's seed-233 order, with weights.

    Streams: one pass counts attributes, a second writes rows in shuffled order."""
    unordered = Table(tmp / "goals.unordered.jsonl", cache_size=1)
    counts: Counter = Counter()
    for goal in unordered:
        if isinstance(goal["goal_options"], dict):
            counts.update(goal["attributes"])
    order = list(range(len(unordered)))
    random.Random(GOAL_SHUFFLE_SEED).shuffle(order)  # same permutation as shuffling the goal list
    writer = TableWriter(tmp / "goals.jsonl")
    for i in order:
        goal = unordered[i]
        goal["weight"] = goal_weight(goal, counts)
        writer.append(goal)
    writer.close()
    del unordered
    os.unlink(tmp / "goals.unordered.jsonl")
    os.unlink(str(tmp / "goals.unordered.jsonl") + ".idx.npy")


def catalogue_dir(catalogue: str = "generated", n_products: int = DEFAULT_N_PRODUCTS, seed: int = 0,
                  data_dir: str | os.PathLike | None = None, goal_source: str = "human",
                  num_products: int | None = None, cache_dir: str | os.PathLike | None = None) -> Path:
    from prism_gym.envs.webshop.original import GOAL_SOURCES

    if goal_source not in GOAL_SOURCES:  # checked for both catalogues: a typo is never silently ignored
        raise ValueError(f"goal_source must be one of {', '.join(GOAL_SOURCES)}, not {goal_source!r}")
    root = Path(cache_dir) if cache_dir else cache_root()
    if catalogue == "generated":
        if int(n_products) < 1:
            raise ValueError(f"n_products must be at least 1, not {n_products}")
        return root / "webshop" / f"generated-v{generator.GENERATOR_VERSION}-n{int(n_products)}-s{int(seed)}"
    if catalogue == "original":
        from prism_gym.envs.webshop.original import data_fingerprint

        key = json.dumps([data_fingerprint(data_dir), goal_source, num_products, seed])
        return root / "webshop" / f"original-{hashlib.sha1(key.encode()).hexdigest()[:16]}"
    raise ValueError(f"unknown catalogue {catalogue!r}; use one of {', '.join(CATALOGUES)}")


def get_site(catalogue: str = "generated", n_products: int = DEFAULT_N_PRODUCTS, seed: int = 0,
             data_dir: str | os.PathLike | None = None, goal_source: str = "human",
             num_products: int | None = None, cache_dir: str | os.PathLike | None = None) -> Site:
    """The process-wide :class:`Site` for these options, built on first use.

    ``catalogue="generated"``: ``n_products`` synthetic products from ``seed``.
    ``catalogue="original"``: the original files in ``data_dir`` (see
    :mod:`prism_gym.envs.webshop.original`), ``goal_source`` ``human`` or
    ``synthetic``, ``num_products`` slices the product list, ``seed`` seeds
    the price draws."""
    directory = catalogue_dir(catalogue, n_products, seed, data_dir, goal_source, num_products, cache_dir)
    with _LOCK:
        site = _SITES.get(directory)
        if site is not None:
            return site
    if catalogue == "generated":
        meta = build_once(directory, _build_generated(int(n_products), int(seed)))
    else:
        from prism_gym.envs.webshop.original import build_original

        meta = build_once(directory, build_original(data_dir, goal_source, num_products, int(seed)))
    with _LOCK:
        return _SITES.setdefault(directory, Site(directory, meta))


def site_kwargs(kwargs: dict) -> dict:
    """The catalogue options among an env's keyword arguments (``catalogue_seed`` is the
    catalogue's ``seed``; an env's own ``seed`` is for resets)."""
    keys = ("catalogue", "n_products", "data_dir", "goal_source", "num_products", "cache_dir")
    out = {k: kwargs[k] for k in keys if kwargs.get(k) is not None}
    if kwargs.get("catalogue_seed") is not None:
        out["seed"] = kwargs["catalogue_seed"]
    return out
