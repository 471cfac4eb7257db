"""On-disk tables of products and goals, memory-mapped and shared.

A table is a JSON-lines file plus an ``int64`` offsets array (``.idx.npy``):
row ``i`` is ``json.loads(data[offsets[i]:offsets[i + 1]])``. Both files are
memory-mapped read-only, so every env in every process reads the same pages
from the OS page cache; each process keeps only a small LRU of decoded rows.

A catalogue directory holds ``products`` (processed products in the
original's internal layout plus ``price``, the drawn hidden price),
``goals`` (goals in canonical order), optionally ``pretrain_goals``, the
search index in ``index/`` and ``meta.json``. Directories are built once,
under a file lock, into a temporary directory that is renamed into place, so
concurrent processes never see half a catalogue.
"""
from __future__ import annotations

import fcntl
import json
import mmap
import os
import shutil
from collections import OrderedDict
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from prism_gym.fileio import read_json, write_json

META_FILE = "meta.json"


class TableWriter:
    """Append JSON rows; :meth:`close` writes the offsets array."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._fh = open(self.path, "wb")
        self._offsets = [0]

    def append(self, row: dict) -> int:
        data = json.dumps(row, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"
        self._fh.write(data)
        self._offsets.append(self._offsets[-1] + len(data))
        return len(self._offsets) - 2

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def close(self) -> None:
        self._fh.close()
        np.save(str(self.path) + ".idx.npy", np.asarray(self._offsets, dtype=np.int64))


class Table:
    """Read-only, memory-mapped rows with a small per-process LRU of decoded rows."""

    def __init__(self, path: str | os.PathLike, cache_size: int = 4096):
        self.path = Path(path)
        self.offsets = np.load(str(self.path) + ".idx.npy", mmap_mode="r")
        self._n = len(self.offsets) - 1
        with open(self.path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            self._data = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        self._cache: OrderedDict[int, dict] = OrderedDict()
        self._cache_size = cache_size

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i: int) -> dict:
        row = self._cache.get(i)
        if row is not None:
            self._cache.move_to_end(i)
            return row
        if not 0 <= i < self._n:
            raise IndexError(f"row {i} is out of range for {self.path.name} ({self._n} rows)")
        start, end = int(self.offsets[i]), int(self.offsets[i + 1])
        row = json.loads(self._data[start:end])
        self._cache[i] = row
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return row

    def __iter__(self) -> Iterator[dict]:
        for i in range(self._n):
            start, end = int(self.offsets[i]), int(self.offsets[i + 1])
            yield json.loads(self._data[start:end])


def build_once(directory: Path, build: Callable[[Path], dict]) -> dict:
    """Build ``directory`` with ``build(tmp_dir) -> meta`` unless it exists.

    A file lock beside the directory makes concurrent callers (the workers of
    an async vector env) wait for one build instead of racing."""
    meta_path = directory / META_FILE
    if meta_path.exists():
        return read_json(meta_path)
    directory.parent.mkdir(parents=True, exist_ok=True)
    with open(str(directory) + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if meta_path.exists():
                return read_json(meta_path)
            # Holding the lock, any temporary directory left here is from a builder that died.
            for stale in directory.parent.glob(f".{directory.name}.tmp-*"):
                shutil.rmtree(stale, ignore_errors=True)
            tmp = directory.parent / f".{directory.name}.tmp-{os.getpid()}"
            tmp.mkdir(parents=True)
            try:
                meta = build(tmp)
                write_json(tmp / META_FILE, meta)
                if directory.exists():  # a stale, incomplete directory (no meta.json)
                    shutil.rmtree(directory)
                os.replace(tmp, directory)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            return meta
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def product_price_tag(pricing: list[float]) -> str:
    """The price shown on pages: ``$x``, ``$x to $y`` or ``$100.0``."""
    if not pricing:
        return "$100.0"
    if len(pricing) == 1:
        return f"${pricing[0]}"
    return f"${pricing[0]} to ${pricing[1]}"
