"""A free-text Gymnasium space shared by every prism-gym env.

Gymnasium's ``Text`` space only contains strings over a fixed charset, and its
shared-memory support (what ``AsyncVectorEnv`` uses by default) does not work
for text: the vector env reads its shared buffer once, at construction, and
relies on that read being a live numpy view, but a ``Text`` read is a tuple of
strings, so every later observation comes back as the first one.

:class:`AnyText` contains every string up to ``max_length`` characters, and in
shared memory each env has a slot of a 4-byte length plus UTF-8 bytes. Reading
the buffer gives :class:`SharedTexts`, a live view that decodes the slots on
access; ``AsyncVectorEnv`` deep-copies observations before returning them
(``copy=True``, its default), which turns the view into a plain tuple of str.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium import spaces


class AnyText(spaces.Text):
    """A Text space that contains every string up to ``max_length`` characters
    (page texts and free-form actions can hold any Unicode character)."""

    def contains(self, x: Any) -> bool:
        return isinstance(x, str) and self.min_length <= len(x) <= self.max_length


def _slot(space: AnyText) -> int:
    return 4 + 4 * space.max_length  # a length, then at most 4 UTF-8 bytes per character


class SharedTexts(Sequence):
    """The texts of ``n`` envs in a shared buffer, decoded when read."""

    def __init__(self, rows: np.ndarray):
        self._rows = rows  # (n, slot) uint8 view of the shared buffer

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return tuple(self[i] for i in range(*index.indices(len(self))))
        row = self._rows[index]
        length = int.from_bytes(row[:4].tobytes(), "little")
        return row[4:4 + length].tobytes().decode("utf-8")

    def __eq__(self, other) -> bool:
        return isinstance(other, Sequence) and tuple(self) == tuple(other)

    def __deepcopy__(self, memo) -> tuple[str, ...]:
        return tuple(self)

    def __repr__(self) -> str:
        return f"SharedTexts({tuple(self)!r})"


def _register_shared_memory() -> None:
    from gymnasium.vector.utils import shared_memory as shm

    @shm.create_shared_memory.register(AnyText)
    def _create(space, n=1, ctx=None):
        import multiprocessing as mp

        return (ctx or mp).Array("B", n * _slot(space), lock=True)

    @shm.read_from_shared_memory.register(AnyText)
    def _read(space, shared_memory, n=1):
        return SharedTexts(np.frombuffer(shared_memory.get_obj(), dtype=np.uint8).reshape(n, _slot(space)))

    @shm.write_to_shared_memory.register(AnyText)
    def _write(space, index, value, shared_memory):
        encoded = value.encode("utf-8")
        if len(encoded) > _slot(space) - 4:
            raise ValueError(f"observation of {len(value)} characters exceeds the space's max_length")
        data = np.frombuffer(shared_memory.get_obj(), dtype=np.uint8)
        start = index * _slot(space)
        data[start:start + 4] = np.frombuffer(len(encoded).to_bytes(4, "little"), dtype=np.uint8)
        data[start + 4:start + 4 + len(encoded)] = np.frombuffer(encoded, dtype=np.uint8)


_register_shared_memory()
