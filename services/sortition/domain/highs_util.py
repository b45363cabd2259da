"""Thin helpers around highspy (HiGHS): quiet construction, the pricing IP over types."""

from __future__ import annotations

import os
import sys
import threading

import highspy
import numpy as np

from .model import Instance

_banner_lock = threading.Lock()
_banner_done = False
INF = highspy.kHighsInf


def new_highs() -> highspy.Highs:
    """A silent, single-threaded, seeded HiGHS instance (the version banner is swallowed once)."""
    global _banner_done
    with _banner_lock:
        if not _banner_done:
            try:
                sys.stdout.flush()
                saved = os.dup(1)
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, 1)
                try:
                    h = highspy.Highs()
                finally:
                    os.dup2(saved, 1)
                    os.close(saved)
                    os.close(devnull)
            except OSError:  # pragma: no cover - no real fd 1
                h = highspy.Highs()
            _banner_done = True
        else:
            h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    # deterministic: one thread, a fixed seed, and no wall-clock limit anywhere in the engine (what
    # a solver returns goes into the published lottery, which a replay must recompute identically
    # on a slower or loaded machine; limits are node counts, see facewalk.BOX_NODES)
    h.setOptionValue("threads", 1)
    h.setOptionValue("random_seed", 0)
    return h


def _csr(rows: list[list[int]], ncols: int, coefs: list[list[float]] | None = None):
    starts, idx, vals = [], [], []
    for r, cols in enumerate(rows):
        starts.append(len(idx))
        idx.extend(cols)
        vals.extend(coefs[r] if coefs is not None else [1.0] * len(cols))
    return (np.array(starts, dtype=np.int32), np.array(idx, dtype=np.int32),
            np.array(vals, dtype=np.float64))


class PanelOracle:
    """Exact pricing IP: a quota-feasible panel (as type counts) maximising ``w . x``.

    Variables ``x_t`` integer in ``[lb_t, c_t]`` (``lb`` can force types in); rows: panel size,
    every quota, at most one per shared household.
    """

    def __init__(self, inst: Instance, *, lower: np.ndarray | None = None):
        self.inst = inst
        T = inst.n_types
        self.T = T
        h = new_highs()
        h.setOptionValue("mip_rel_gap", 0.0)
        h.setOptionValue("mip_abs_gap", 1e-10)
        h.setOptionValue("mip_feasibility_tolerance", 1e-9)
        h.setOptionValue("primal_feasibility_tolerance", 1e-9)
        h.setOptionValue("mip_improving_solution_save", True)
        h.changeObjectiveSense(highspy.ObjSense.kMaximize)
        lb = np.zeros(T) if lower is None else np.asarray(lower, dtype=np.float64)
        ub = inst.type_counts.astype(np.float64)
        h.addVars(T, lb, ub)
        h.changeColsIntegrality(T, np.arange(T, dtype=np.int32),
                                np.full(T, highspy.HighsVarType.kInteger, dtype=np.uint8))
        rows = [list(range(T))]
        lo = [float(inst.k)]
        hi = [float(inst.k)]
        A = inst.quota_matrix
        for j in range(A.shape[0]):
            rows.append(list(np.nonzero(A[j])[0]))
            lo.append(float(inst.quota_lo[j]))
            hi.append(float(inst.quota_hi[j]))
        for hh in inst.households:
            rows.append(list(hh))
            lo.append(-INF)
            hi.append(1.0)
        s, i, v = _csr(rows, T)
        h.addRows(len(rows), np.array(lo), np.array(hi), len(i), s, i, v)
        self.h = h
        self.calls = 0
        self.seconds = 0.0

    def set_lower(self, lower: np.ndarray) -> None:
        T = self.T
        self.h.changeColsBounds(T, np.arange(T, dtype=np.int32), np.asarray(lower, dtype=np.float64),
                                self.inst.type_counts.astype(np.float64))

    def saved(self) -> list[np.ndarray]:
        """The improving panels HiGHS found during the last solve (extra columns for free)."""
        try:
            return [np.rint(np.array(s.col_value)).astype(np.int64) for s in self.h.getSavedMipSolutions()]
        except Exception:  # pragma: no cover - older highspy
            return []

    def solve(self, w: np.ndarray) -> tuple[float, np.ndarray | None, float]:
        """Return (best value, x, proven upper bound); x is None when infeasible."""
        import time

        t0 = time.perf_counter()
        T = self.T
        h = self.h
        h.changeColsCost(T, np.arange(T, dtype=np.int32), np.asarray(w, dtype=np.float64))
        h.run()
        self.calls += 1
        st = h.getModelStatus()
        self.seconds += time.perf_counter() - t0
        if st == highspy.HighsModelStatus.kInfeasible:
            return -INF, None, -INF
        if st != highspy.HighsModelStatus.kOptimal:
            raise RuntimeError(f"pricing IP ended with status {h.modelStatusToString(st)}")
        x = np.rint(np.array(h.getSolution().col_value)).astype(np.int64)
        info = h.getInfo()
        val = float(np.dot(w, x))
        bound = max(float(info.mip_dual_bound), val)
        return val, x, bound
