"""``token_set_ratio`` with the semantics of ``thefuzz.fuzz.token_set_ratio``.

The original reward calls thefuzz (a wrapper around rapidfuzz) with its
defaults: ``force_ascii=True`` and ``full_process=True``, and thefuzz rounds
the score to an integer. Neither library is a dependency here; this module
reproduces that behaviour exactly:

1. non-strings are converted with ``str`` (the reward passes ``(name, value)``
   tuples for synthetic goals, so ``('color', 'blue')`` becomes the text
   ``color blue`` after processing);
2. characters 128-255 are deleted (thefuzz's ``ascii_only``);
3. every non-alphanumeric character becomes a space, the text is lowercased
   and stripped (rapidfuzz's ``default_process``);
4. rapidfuzz's token-set ratio (Indel similarity of the sorted token sets);
5. ``int(round(score))``.
"""
from __future__ import annotations

import re
from typing import Any

_LATIN1_HIGH = {i: None for i in range(128, 256)}
_NON_ALNUM = re.compile(r"[\W_]", re.UNICODE)


def full_process(text: Any) -> str:
    """thefuzz's ``full_process(s, force_ascii=True)``."""
    text = str(text).translate(_LATIN1_HIGH)
    return _NON_ALNUM.sub(" ", text).lower().strip()


def lcs_length(a: str, b: str) -> int:
    """Length of the longest common subsequence (bit-parallel, Hyyrö 2004)."""
    if not a or not b:
        return 0
    if len(a) > len(b):
        a, b = b, a
    masks: dict[str, int] = {}
    for i, ch in enumerate(a):
        masks[ch] = masks.get(ch, 0) | (1 << i)
    full = (1 << len(a)) - 1
    v = full
    for ch in b:
        u = v & masks.get(ch, 0)
        v = ((v + u) | (v - u)) & full
    return len(a) - bin(v).count("1")


def _normalized(distance: int, lensum: int) -> float:
    return 100.0 if lensum == 0 else 100.0 * (1.0 - distance / lensum)


def indel_distance(a: str, b: str) -> int:
    return len(a) + len(b) - 2 * lcs_length(a, b)


def ratio(a: str, b: str) -> float:
    """rapidfuzz's ``fuzz.ratio`` (normalised Indel similarity, 0-100), unprocessed."""
    return _normalized(indel_distance(a, b), len(a) + len(b))


def token_set_ratio_raw(s1: str, s2: str) -> float:
    """rapidfuzz's ``fuzz.token_set_ratio`` on already processed strings (float)."""
    if not s1 or not s2:
        return 0.0
    tokens_a, tokens_b = set(s1.split()), set(s2.split())
    if not tokens_a or not tokens_b:
        return 0.0
    intersect = tokens_a & tokens_b
    diff_ab, diff_ba = tokens_a - tokens_b, tokens_b - tokens_a
    # One token set contains the other: a perfect score (the lenient case).
    if intersect and (not diff_ab or not diff_ba):
        return 100.0
    diff_ab_joined = " ".join(sorted(diff_ab))
    diff_ba_joined = " ".join(sorted(diff_ba))
    sect_len = len(" ".join(sorted(intersect)))
    sep = 1 if sect_len else 0
    sect_ab_len = sect_len + sep + len(diff_ab_joined)
    sect_ba_len = sect_len + sep + len(diff_ba_joined)
    # "sect ab" vs "sect ba" differ only in their tails.
    result = _normalized(indel_distance(diff_ab_joined, diff_ba_joined), sect_ab_len + sect_ba_len)
    if not sect_len:
        return result
    sect_ab_ratio = _normalized(sep + len(diff_ab_joined), sect_len + sect_ab_len)
    sect_ba_ratio = _normalized(sep + len(diff_ba_joined), sect_len + sect_ba_len)
    return max(result, sect_ab_ratio, sect_ba_ratio)


def token_set_ratio(s1: Any, s2: Any) -> int:
    """``thefuzz.fuzz.token_set_ratio(s1, s2)``: an integer 0-100."""
    if s1 is None or s2 is None:
        return 0
    return int(round(token_set_ratio_raw(full_process(s1), full_process(s2))))
