"""GOLDILOCKS (Baharav & Flanigan, "Fair, Manipulation-Robust, and Transparent Sortition", 2024):
no volunteer's chance too low and none too high.

LEXIMIN gives volunteers whose group is rare in the pool compared with its quota a very high
chance (in most real pools some are selected with certainty), which rewards misreporting one's
features.  The
GOLDILOCKS objective of the paper, with ``a = k / n`` the equal share,

    minimise   max_i p_i / a  +  gamma * max_i a / p_i

balances the largest chance against the smallest.  Here it is computed in two steps:

1. *The cap.*  ``f(u)`` = the largest minimum among distributions whose every probability is at
   most ``u`` is concave and nondecreasing in ``u`` (an LP value as a function of a right-hand
   side), so ``g(u) = u / a + gamma a / f(u)`` is convex (1 / a positive concave function is
   convex) and a golden-section search over ``u`` in ``[u_lo, u_hi]`` finds its minimum.  ``f`` is
   evaluated on the relaxed panel polytope Q (one compact LP per ``u``, warm-started), like the
   relaxed leximin (relaxation.py); ``u_lo`` is the smallest largest probability Q allows and
   ``u_hi`` LEXIMIN's largest probability (above it ``f`` is the maximin value).  Organisers can
   instead fix the cap themselves (e.g. no one above 3 k / n): ``cap``.
2. *The distribution.*  The leximin distribution among those with every probability at most the
   cap (``leximin_types(cap=...)``: the relaxed leximin with the cap as column bounds, decomposed
   by the face walk; else the stage-wise column generation with cap rows).  Its minimum is
   ``f(cap)`` and the probabilities above the minimum are as equal as the cap and quotas allow.
   Its certificate proves leximin optimality among capped distributions (``certify`` reads the
   cap).

Volunteers whom no panel can include (probability 0 under every algorithm) are left out of the
minimum, as in every other report of the engine.  ``stats["goldilocks"]`` reports LEXIMIN's
minimum and maximum next to the result's and the price of the cap in the minimum.
"""

from __future__ import annotations

import math
import time

import highspy
import numpy as np

from .highs_util import INF, new_highs
from .leximin import Progress, TypeDistribution, leximin_types
from .model import Instance, SortitionInputError
from .relaxation import LP_TOL, add_polytope_rows, relaxed_leximin

GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0
SEARCH_TOL = 1e-7  # width of the final bracket of the cap (probability)


def _lp(inst: Instance) -> highspy.Highs:
    h = new_highs()
    h.setOptionValue("primal_feasibility_tolerance", LP_TOL)
    h.setOptionValue("dual_feasibility_tolerance", LP_TOL)
    T = inst.n_types
    h.addVars(T, np.zeros(T), inst.type_counts.astype(np.float64))
    h.addVar(-INF, INF)  # z (the level) or u (the cap)
    add_polytope_rows(h, inst)
    return h


def _bound_rows(h: highspy.Highs, inst: Instance, support: np.ndarray, lower: bool) -> None:
    """Rows ``x_t - c_t v >= 0`` (``lower``) or ``<= 0`` for the types of ``support``."""
    T = inst.n_types
    c = inst.type_counts.astype(np.float64)
    n = len(support)
    idx = np.empty(2 * n, dtype=np.int32)
    idx[0::2] = support
    idx[1::2] = T
    val = np.empty(2 * n)
    val[0::2] = 1.0
    val[1::2] = -c[support]
    lo, hi = (np.zeros(n), np.full(n, INF)) if lower else (np.full(n, -INF), np.zeros(n))
    h.addRows(n, lo, hi, 2 * n, np.arange(0, 2 * n, 2, dtype=np.int32), idx, val)


def smallest_cap(inst: Instance) -> float:
    """The smallest largest probability over the relaxed panel polytope Q (a lower bound for real
    panels): ``min u`` s.t. ``x_t <= c_t u``, ``x in Q``."""
    h = _lp(inst)
    h.changeColCost(inst.n_types, 1.0)
    _bound_rows(h, inst, np.arange(inst.n_types, dtype=np.int32), lower=False)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        raise SortitionInputError("no panel meets the quotas")
    return float(h.getSolution().col_value[inst.n_types])


def check_cap(inst: Instance, cap: float, u_lo: float | None = None) -> float:
    """``cap`` itself when the quotas allow it (``>= smallest_cap``), else a SortitionInputError
    that gives the bound."""
    u_lo = smallest_cap(inst) if u_lo is None else u_lo
    if cap < u_lo - 1e-9:
        share = inst.k / inst.n
        raise SortitionInputError(
            f"no distribution keeps every chance at or below {cap:.5f} ({cap / share:.2f} x k/n): the quotas "
            f"force someone to at least {u_lo:.5f} ({u_lo / share:.2f} x k/n); raise the cap to at least that")
    return max(cap, u_lo)


class CappedMaximin:
    """``f(u)``: the largest minimum probability (over ``support``) on Q with every probability at
    most ``u``; one LP, warm-started from ``u`` to ``u``."""

    def __init__(self, inst: Instance, support: np.ndarray):
        self.c = inst.type_counts.astype(np.float64)
        self.T = inst.n_types
        h = self.h = _lp(inst)
        h.changeObjectiveSense(highspy.ObjSense.kMaximize)
        h.changeColCost(self.T, 1.0)
        _bound_rows(h, inst, support, lower=True)
        self.solves = 0

    def __call__(self, u: float) -> float:
        T = self.T
        self.h.changeColsBounds(T, np.arange(T, dtype=np.int32), np.zeros(T), np.minimum(self.c, u * self.c))
        self.h.run()
        self.solves += 1
        if self.h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return 0.0
        return max(0.0, float(self.h.getSolution().col_value[T]))


def goldilocks_value(u: float, f_u: float, share: float, gamma: float) -> float:
    """The GOLDILOCKS objective ``u / a + gamma a / f(u)`` (infinite when the minimum is 0)."""
    return u / share + (gamma * share / f_u if f_u > 0 else math.inf)


def best_cap(f: CappedMaximin, lo: float, hi: float, share: float, gamma: float) -> tuple[float, list]:
    """Golden-section search of the convex ``g(u) = u / a + gamma a / f(u)`` on ``[lo, hi]``;
    returns the best cap and the points evaluated ``[(u, f(u))]``."""
    trace: list[tuple[float, float]] = []

    def g(u: float) -> float:
        fu = f(u)
        trace.append((u, fu))
        return goldilocks_value(u, fu, share, gamma)

    a, b = lo, hi
    x1, x2 = b - GOLDEN * (b - a), a + GOLDEN * (b - a)
    g1, g2 = g(x1), g(x2)
    while b - a > SEARCH_TOL:
        if g1 <= g2:
            b, x2, g2 = x2, x1, g1
            x1 = b - GOLDEN * (b - a)
            g1 = g(x1)
        else:
            a, x1, g1 = x1, x2, g2
            x2 = a + GOLDEN * (b - a)
            g2 = g(x2)
    ends = [(lo, g(lo)), (hi, g(hi)), (x1, g1), (x2, g2)]
    u = min(ends, key=lambda e: (e[1], e[0]))[0]
    return u, trace


def goldilocks_types(inst: Instance, *, cap: float | None = None, gamma: float = 1.0,
                     progress: Progress | None = None) -> TypeDistribution:
    """GOLDILOCKS: the cap minimising the objective (or the organisers' ``cap``, a probability),
    then the leximin distribution under that cap.  Raises SortitionInputError when ``cap`` is
    below the smallest largest probability the quotas allow (the message gives that bound)."""
    t0 = time.perf_counter()
    if gamma <= 0:
        raise SortitionInputError("gamma must be positive")
    share = inst.k / inst.n
    pi, levels = relaxed_leximin(inst)
    support = np.nonzero(pi > 0)[0].astype(np.int32)
    lex_min, lex_max = float(levels[0]), float(pi.max())
    u_lo = smallest_cap(inst)
    f = CappedMaximin(inst, support)
    trace: list = []
    if cap is None:
        if progress:
            progress(f"GOLDILOCKS: LEXIMIN's largest chance is {lex_max:.5f} ({lex_max / share:.2f} x k/n); "
                     "searching the cap", 0.02)
        u, trace = best_cap(f, u_lo, max(u_lo, lex_max), share, gamma)
    else:
        u = check_cap(inst, cap, u_lo)
    u = min(u, 1.0)
    if progress:
        progress(f"GOLDILOCKS: leximin with every chance at most {u:.5f} ({u / share:.2f} x k/n)", 0.05)
    dist = leximin_types(inst, cap=u, progress=progress)
    got = dist.type_probabilities(inst)
    got_min = float(got[support].min()) if len(support) else 0.0
    got_max = float(got.max())
    dist.stats["goldilocks"] = {
        "gamma": gamma, "cap": u, "cap_multiple": u / share, "cap_given": cap is not None,
        "share": share, "smallest_cap": u_lo,
        "leximin_min": lex_min, "leximin_max": lex_max, "leximin_max_multiple": lex_max / share,
        "min": got_min, "max": got_max, "price_in_minimum": lex_min - got_min,
        "objective": goldilocks_value(got_max, got_min, share, gamma),
        "leximin_objective": goldilocks_value(lex_max, lex_min, share, gamma),
        "cap_search_lps": len(trace),
    }
    dist.stats["seconds"] = time.perf_counter() - t0
    return dist
