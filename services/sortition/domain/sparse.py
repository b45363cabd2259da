"""Panels as sparse type-count rows (issue 17, item 2: national pools).

A panel holds at most k types, but a pool of 100,000 volunteers over 10 categories has about
29,000 types, and the face walk finds about one panel per type: as dense vectors of T counts
(8 bytes each) that would be 6.7 GB.  ``SparsePanels`` keeps them as CSR rows (the types a panel
holds and how many of each; 8 bytes per entry, at most k entries per panel).

It stands in for the (P, T) array of counts where the engine used one: ``len``, iteration and
``panels[i]`` give one dense row at a time (transient), ``w @ panels`` is the weighted sum of the
rows (numpy hands the product to ``__rmatmul__``), ``np.asarray(panels)`` is the dense matrix
(tests only).  ``rows()`` / ``sparse_rows(panels)`` give ``(types, counts)`` pairs, for dense
arrays too.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np


class SparsePanels:
    __array_ufunc__ = None  # ``w @ panels`` -> __rmatmul__ instead of a dense conversion

    def __init__(self, indptr: np.ndarray, idx: np.ndarray, cnt: np.ndarray, n_types: int):
        self.indptr = np.asarray(indptr, dtype=np.int64)
        self.idx = np.asarray(idx, dtype=np.int32)
        self.cnt = np.asarray(cnt, dtype=np.int32)
        self.n_types = int(n_types)

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[np.ndarray, np.ndarray]], n_types: int) -> SparsePanels:
        rows = list(rows)
        lens = [len(i) for i, _ in rows]
        indptr = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
        idx = np.concatenate([np.asarray(i) for i, _ in rows]) if rows else np.zeros(0)
        cnt = np.concatenate([np.asarray(c) for _, c in rows]) if rows else np.zeros(0)
        return cls(indptr, idx, cnt, n_types)

    @classmethod
    def from_dense(cls, panels, n_types: int | None = None) -> SparsePanels:
        if isinstance(panels, SparsePanels):
            return panels
        X = np.asarray(panels, dtype=np.int64)
        T = X.shape[1] if X.ndim == 2 else int(n_types or 0)
        return cls.from_rows((sparse_row(x) for x in X.reshape(-1, T)), T)

    # ---- the array-like view
    @property
    def shape(self) -> tuple[int, int]:
        return (len(self), self.n_types)

    def __len__(self) -> int:
        return len(self.indptr) - 1

    def row(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        a, b = self.indptr[i], self.indptr[i + 1]
        return self.idx[a:b], self.cnt[a:b]

    def rows(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for i in range(len(self)):
            yield self.row(i)

    def dense(self, i: int) -> np.ndarray:
        x = np.zeros(self.n_types, dtype=np.int64)
        t, c = self.row(i)
        x[t] = c
        return x

    def __getitem__(self, i):
        if isinstance(i, (int, np.integer)):
            return self.dense(int(i) if i >= 0 else len(self) + int(i))
        sel = np.arange(len(self))[i]
        return SparsePanels.from_rows((self.row(j) for j in sel), self.n_types)

    def __iter__(self) -> Iterator[np.ndarray]:
        for i in range(len(self)):
            yield self.dense(i)

    def __rmatmul__(self, w) -> np.ndarray:
        w = np.asarray(w, dtype=np.float64)
        if w.shape != (len(self),):
            raise ValueError(f"weights of shape {w.shape} for {len(self)} panels")
        per = np.repeat(w, np.diff(self.indptr)) * self.cnt
        return np.bincount(self.idx, weights=per, minlength=self.n_types)

    def __array__(self, dtype=None, copy=None):
        X = np.zeros((len(self), self.n_types), dtype=np.int64)
        X[np.repeat(np.arange(len(self)), np.diff(self.indptr)), self.idx] = self.cnt
        return X if dtype is None else X.astype(dtype)

    def nbytes(self) -> int:
        return int(self.indptr.nbytes + self.idx.nbytes + self.cnt.nbytes)


def sparse_row(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(types, counts) of a dense type-count panel."""
    t = np.nonzero(x)[0]
    return t.astype(np.int32), np.asarray(x)[t].astype(np.int32)


def sparse_rows(panels) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(types, counts) per panel, for a dense (P, T) array or a SparsePanels."""
    if isinstance(panels, SparsePanels):
        yield from panels.rows()
    else:
        for x in panels:
            yield sparse_row(x)


def row_key(t: np.ndarray, c: np.ndarray) -> bytes:
    """A hashable key of a sparse row (types ascending)."""
    return np.asarray(t, dtype=np.int32).tobytes() + b"|" + np.asarray(c, dtype=np.int32).tobytes()
