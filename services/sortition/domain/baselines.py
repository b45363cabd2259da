"""LEGACY (the Sortition Foundation's earlier greedy draw) and NASH (max geometric mean)."""

from __future__ import annotations

import time

import numpy as np

from .highs_util import PanelOracle
from .leximin import Progress, TypeDistribution, _initial_panels
from .local_search import SwapSearch
from .model import Instance


class LegacyFailure(RuntimeError):
    pass


def legacy_panel(inst: Instance, rng: np.random.Generator, max_tries: int = 100) -> np.ndarray:
    """One LEGACY draw as a type-count vector.

    Repeat k times: over every quota value still open (people remaining and max > 0) take the
    one with the largest ratio (min - selected) / remaining (first in quota order on ties),
    pick a uniformly random remaining volunteer with that value; when a value reaches its max,
    everyone else with it leaves the pool (and so does the rest of the household).  A dead end
    restarts the draw (up to ``max_tries``), as the original does.
    """
    A = inst.quota_matrix
    lo, hi = inst.quota_lo, inst.quota_hi
    hh_of = {}
    for j, ts in enumerate(inst.households):
        for t in ts:
            hh_of[t] = ts
    for _ in range(max_tries):
        remaining = inst.type_counts.astype(np.int64).copy()
        x = np.zeros(inst.n_types, dtype=np.int64)
        sel = np.zeros(A.shape[0])
        ok = True
        for _step in range(inst.k):
            rem_q = A @ remaining
            need = lo - sel
            if np.any((need > 0) & (rem_q < need)):
                ok = False
                break
            open_ = (rem_q > 0) & (hi > 0)
            if not open_.any():
                ok = False
                break
            ratio = np.where(open_, need / np.maximum(rem_q, 1), -np.inf)
            qbest = int(np.argmax(ratio))
            cand = remaining * A[qbest]
            total = cand.sum()
            r = rng.integers(total)
            t = int(np.searchsorted(np.cumsum(cand), r, side="right"))
            x[t] += 1
            remaining[t] -= 1
            sel += A[:, t]
            if t in hh_of:
                for t2 in hh_of[t]:
                    remaining[t2] = 0
            full = sel >= hi
            if full.any():
                drop = (A[full].sum(axis=0) > 0)
                remaining[drop] = 0
        if ok and inst.check_type_panel(x):
            return x
    raise LegacyFailure(f"LEGACY found no valid panel in {max_tries} tries")


def legacy_types(inst: Instance, *, samples: int = 1000, seed: int = 0,
                 progress: Progress | None = None) -> TypeDistribution:
    """Empirical LEGACY distribution from ``samples`` independent draws (seeded)."""
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    counts: dict[bytes, int] = {}
    vecs: dict[bytes, np.ndarray] = {}
    for s in range(samples):
        x = legacy_panel(inst, rng)
        key = x.tobytes()
        counts[key] = counts.get(key, 0) + 1
        vecs[key] = x
        if progress and s % 100 == 0:
            progress(f"LEGACY draw {s}/{samples}", s / samples)
    keys = list(counts)
    dist = TypeDistribution(np.array([vecs[k] for k in keys]), np.array([counts[k] / samples for k in keys]))
    dist.stats = {"samples": samples, "seed": seed, "seconds": time.perf_counter() - t0}
    return dist


def nash_types(inst: Instance, *, tol: float = 1e-3, max_rounds: int = 300,
               progress: Progress | None = None) -> TypeDistribution:
    """Maximise sum_i log p_i (the geometric mean) by column generation.

    Master: the EM/multiplicative update ``q_P <- q_P * (sum_t x_{P,t} / pi_t) / n'`` over the
    current panels (monotone, converges to the optimum over them).  Pricing: the panel maximising
    ``sum_t x_t / pi_t`` (the gradient); at the optimum it is at most n' (KKT), so we stop when
    the best panel is within ``tol`` of n'.  Volunteers who can never be selected are left out
    (their probability is 0 under every algorithm).
    """
    t0 = time.perf_counter()
    oracle = PanelOracle(inst)
    search = SwapSearch(inst)
    panels, unsel = _initial_panels(inst, oracle, progress)
    sel = ~unsel
    c = inst.type_counts.astype(np.float64)
    n_eff = float(c[sel].sum())
    X = np.array(panels, dtype=np.float64)
    q = np.full(len(X), 1.0 / len(X))
    keys = {x.astype(np.int64).tobytes() for x in X}
    rounds = 0
    gap = np.inf
    def em(q: np.ndarray, X: np.ndarray, iters: int = 300) -> np.ndarray:
        for it in range(iters):
            pi = (q @ X) / c
            g = np.where(sel, 1.0 / np.maximum(pi, 1e-300), 0.0)
            r = (X @ g) / n_eff
            q = q * r
            q /= q.sum()
            if it % 50 == 0 and r.max() <= 1 + tol / 4:
                break
        return q

    for rounds in range(1, max_rounds + 1):
        q = em(q, X)
        pi = (q @ X) / c
        w = np.where(sel, 1.0 / np.maximum(pi, 1e-300), 0.0)
        vals = X @ w
        start = X[int(np.argmax(vals))].astype(np.int64)
        x = search.improve(start, w)
        val = float(w @ x)
        if val <= n_eff * (1 + tol) or x.tobytes() in keys:
            val, x, bound = oracle.solve(w)
            gap = bound / n_eff - 1
            if bound <= n_eff * (1 + tol):
                break
            if x.tobytes() in keys:
                continue  # the master is not converged yet
        keys.add(x.tobytes())
        X = np.vstack([X, x.astype(np.float64)])
        q = np.append(q * (1 - 0.05), 0.05)
        if progress:
            progress(f"NASH round {rounds}: {len(X)} panels", min(0.99, rounds / max_rounds))
    keep = q > 1e-12
    dist = TypeDistribution(X[keep].astype(np.int64), q[keep] / q[keep].sum())
    dist.stats = {"rounds": rounds, "panels_generated": len(X), "kkt_gap": float(gap),
                  "seconds": time.perf_counter() - t0}
    return dist
