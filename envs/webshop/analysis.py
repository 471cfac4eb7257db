"""Search analysis: the equivalent of the Lucene English analyser that the
original's Pyserini index uses.

Lucene: StandardTokenizer -> English possessive filter -> lowercase ->
English stop words -> Porter stemmer. Here: tokens are runs of letters and
digits (with inner ``.`` or ``'``, as in ``12.5`` or ``don't``), a trailing
``'s`` is removed, text is lowercased, Lucene's 33 English stop words are
dropped, and the remaining words are stemmed with the original Porter
algorithm (PyStemmer's ``porter``). Unicode word segmentation differs from
Lucene's UAX#29 tokenizer on rare inputs (emoji, scripts without spaces).
"""
from __future__ import annotations

import functools
import re

# Lucene's EnglishAnalyzer.ENGLISH_STOP_WORDS_SET.
STOP_WORDS = frozenset("""
a an and are as at be but by for if in into is it no not of on or such that the their then there these they
this to was will with
""".split())

_TOKEN = re.compile(r"[^\W_]+(?:[.'’][^\W_]+)*", re.UNICODE)


@functools.lru_cache(maxsize=1)
def _stemmer():
    import Stemmer  # PyStemmer, a small C extension

    return Stemmer.Stemmer("porter")


def words(text: str) -> list[str]:
    """Lowercased tokens without possessives and stop words (before stemming)."""
    out = []
    for tok in _TOKEN.findall(text.lower()):
        if tok.endswith(("'s", "’s")):
            tok = tok[:-2]
        if tok and tok not in STOP_WORDS:
            out.append(tok)
    return out


def analyze(text: str) -> list[str]:
    """The indexed terms of ``text``, in order (duplicates kept)."""
    return _stemmer().stemWords(words(text))
