"""BM25 search over the catalogue, stored in bm25s's index format.

One document per product, as in the original's index: the lowercased
concatenation of Title, Description, the first bullet point and the option
text ``color: a, b, and size: x, y``. Analysis is :mod:`.analysis`; scoring is
Lucene's BM25 (k1 = 0.9, b = 0.4, idf = ln(1 + (N - df + 0.5) / (df + 0.5)),
tf part ``tf / (tf + k1 * (1 - b + b * dl / avgdl))``), which is bm25s's
``method="lucene"``. The top 50 hits with a positive score are returned,
ties broken by catalogue order as Lucene does by doc id. Lucene stores
document lengths lossily, so scores (not the method) can differ slightly from
the original's Pyserini index.

The index is built with numpy (linear memory, no per-token Python objects)
and saved with bm25s in its file format; :class:`SearchIndex` memory-maps
those files, so every process shares their pages.
"""
from __future__ import annotations

import json
import threading
from collections import Counter
from pathlib import Path
from typing import Iterable

import numpy as np

from prism_gym.envs.webshop.analysis import analyze

K1 = 0.9
B = 0.4
TOP_K = 50


def product_document(product: dict) -> str:
    """The indexed text of a product (the original's ``contents`` field)."""
    option_texts = [f"{name}: {', '.join(values)}" for name, values in product.get("options", {}).items()]
    bullets = product.get("BulletPoints") or [""]
    return " ".join([product["Title"], product["Description"], bullets[0], ", and ".join(option_texts)]).lower()


def build_index(documents: Iterable[str], directory: Path) -> dict:
    """Index ``documents`` (in catalogue order) into ``directory`` (bm25s format)."""
    import bm25s

    vocab: dict[str, int] = {}
    doc_ids: list[np.ndarray] = []
    term_ids: list[np.ndarray] = []
    tfs: list[np.ndarray] = []
    lengths: list[int] = []
    for doc_id, text in enumerate(documents):
        terms = analyze(text)
        lengths.append(len(terms))
        counts = Counter(terms)
        ids = np.fromiter((vocab.setdefault(t, len(vocab)) for t in counts), dtype=np.int32, count=len(counts))
        term_ids.append(ids)
        tfs.append(np.fromiter(counts.values(), dtype=np.float32, count=len(counts)))
        doc_ids.append(np.full(len(counts), doc_id, dtype=np.int32))
    n_docs = len(lengths)
    vocab.setdefault("", len(vocab))  # bm25s convention: an empty token exists
    n_vocab = len(vocab)
    doc = np.concatenate(doc_ids) if doc_ids else np.zeros(0, np.int32)
    term = np.concatenate(term_ids) if term_ids else np.zeros(0, np.int32)
    tf = np.concatenate(tfs) if tfs else np.zeros(0, np.float32)
    del doc_ids, term_ids, tfs
    doc_len = np.asarray(lengths, dtype=np.float32)
    avg_len = float(doc_len.mean()) if n_docs else 1.0
    df = np.bincount(term, minlength=n_vocab).astype(np.float64)
    idf = np.log(1.0 + (n_docs - df + 0.5) / (df + 0.5))
    norm = K1 * ((1.0 - B) + B * doc_len / max(avg_len, 1e-9))
    data = (idf[term] * (tf / (tf + norm[doc]))).astype(np.float32)
    order = np.lexsort((doc, term))  # column-major (CSC): by term, then by doc
    indptr = np.zeros(n_vocab + 1, dtype=np.int64)
    np.cumsum(np.bincount(term, minlength=n_vocab), out=indptr[1:])

    retriever = bm25s.BM25(k1=K1, b=B, method="lucene")
    retriever.scores = {"data": data[order], "indices": doc[order].astype(np.int32), "indptr": indptr,
                        "num_docs": n_docs}
    retriever.vocab_dict = vocab
    retriever.nonoccurrence_array = None  # only BM25L / BM25+ use it
    directory.mkdir(parents=True, exist_ok=True)
    retriever.save(str(directory), show_progress=False)
    return {"num_docs": n_docs, "vocab_size": n_vocab, "postings": int(len(data)), "avg_doc_len": avg_len}


class SearchIndex:
    """A loaded (memory-mapped) index: ``search(query) -> list of catalogue rows``."""

    def __init__(self, directory: Path):
        # The files are bm25s's (``bm25s.BM25.load(directory, mmap=True)`` reads them too); they are
        # opened here with numpy directly so that env processes need not import bm25s and scipy.
        self.directory = Path(directory)
        with open(self.directory / "params.index.json", encoding="utf-8") as fh:
            params = json.load(fh)
        with open(self.directory / "vocab.index.json", encoding="utf-8") as fh:
            self.vocab: dict[str, int] = json.load(fh)
        self.data = np.load(self.directory / "data.csc.index.npy", mmap_mode="r").view(np.ndarray)
        self.indices = np.load(self.directory / "indices.csc.index.npy", mmap_mode="r").view(np.ndarray)
        self.indptr = np.load(self.directory / "indptr.csc.index.npy", mmap_mode="r").tolist()
        self.num_docs = int(params["num_docs"])
        self.params = params
        self._local = threading.local()

    def _buffer(self) -> np.ndarray:
        """A zeroed per-thread score array (reused; zeroed again after each query)."""
        buffer = getattr(self._local, "scores", None)
        if buffer is None:
            buffer = self._local.scores = np.zeros(self.num_docs, dtype=np.float32)
        return buffer

    def scores(self, query: str) -> tuple[np.ndarray, np.ndarray]:
        """(candidate rows ascending, their scores): every document sharing a term with the query."""
        term_ids = [self.vocab[t] for t in analyze(query) if t in self.vocab]
        if not term_ids:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        scores = self._buffer()
        for t in term_ids:  # duplicates count twice, as in Pyserini's bag-of-words query
            start, end = self.indptr[t], self.indptr[t + 1]
            np.add.at(scores, self.indices[start:end], self.data[start:end])
        rows = np.flatnonzero(scores)  # BM25 term scores are positive, so these are the matches
        values = scores[rows]
        scores[rows] = 0.0
        return rows, values

    def search(self, query: str, k: int = TOP_K) -> list[int]:
        """Catalogue rows of the top ``k`` hits, best first (ties: lower row first)."""
        rows, values = self.scores(query)
        keep = values > 0
        rows, values = rows[keep], values[keep]
        if len(rows) > k:
            # Everything scoring at least the k-th best value, then an exact sort.
            kth = np.partition(values, len(values) - k)[len(values) - k]
            keep = values >= kth
            rows, values = rows[keep], values[keep]
        order = np.lexsort((rows, -values))[:k]
        return [int(r) for r in rows[order]]
