"""LEXIMIN via the quota relaxation: compute the leximin vector over the relaxed panel polytope,
then prove it exact by writing it as a distribution over real (integer) panels.

Let ``Q = {x in R^T : 0 <= x <= c, sum x = k, quota rows, household rows <= 1}`` (type counts
allowed to be fractional).  The type-probability vectors of distributions over panels form
``H = {x / c : x in conv(Q ∩ Z^T)}``, a subset of ``Q / c``.

1. ``relaxed_leximin``: the leximin vector ``pi`` over ``Q / c`` by the usual stages, but every
   stage is one *compact* LP over T+1 variables (no column generation): ``max z`` s.t.
   ``x_t >= c_t z`` (unfixed), ``x_t >= c_t f_t`` (fixed), ``x in Q``; types with positive dual
   weight are at ``z`` in every optimum (complementary slackness) and are fixed.  HiGHS dual
   simplex, warm-started from stage to stage.
2. ``decompose``: find panels ``P`` and weights ``q`` with ``sum_P q_P x_P = c * pi``.  Every
   panel of such a decomposition lies on the minimal face F of Q containing ``c * pi`` (types at
   0 or at c_t stay there, quota rows that are tight in expectation are equalities), so the
   search is restricted to F.  Column generation: master ``max z`` s.t.
   ``sum_P q_P x_{P,t} >= z c_t pi_t`` (types strictly inside), ``sum q = 1``; pricing with the
   swap search on F (single swaps and pairs of swaps that keep the tight rows), then the exact
   HiGHS MIP on F.  ``z = 1`` means ``pi`` is attained by real panels.

Exactness: ``pi`` is the leximin optimum over a superset of H; when it lies in H it is the
leximin optimum over H (anything leximin-better in H would be better in the superset).  The
certificate is the decomposition itself (every panel is checked against every quota; the
marginals reach ``(1 - 1e-7) pi``).  When the exact MIP shows that no panel on F improves the
master while ``z < 1``, ``pi`` is not attainable and the caller falls back to the stage-wise
column generation of leximin.py, which is exact in every case.
"""

from __future__ import annotations

import time

import highspy
import numpy as np

from .highs_util import INF, PanelOracle, new_highs
from .local_search import SwapSearch
from .model import Instance

LP_TOL = 1e-10
FIX_EPS = 1e-9  # dual weight above which a type is fixed
FIX_SLACK = 1e-9  # fixed levels (probabilities) are relaxed by this much
# ... and when a stage's LP comes out infeasible (thousands of fixed levels, each within the LP
# tolerance of its optimum, can add up to more than the slack), by the next of these, every fixed
# level at once, and the stage is solved again; past the last one the relaxation gives up
# (NotAttainable) and the caller takes the exact column generation instead.
BACKOFF_SLACKS = (FIX_SLACK, 1e-8, 1e-7, 1e-6)
FACE_TOL = 1e-7  # target counts within this of 0 / c_t / a quota bound count as on it
DONE = 1.0 - 1e-7  # master value that counts as "target attained"
EPS_PRICE = 1e-9
ABS_DONE = 5e-8  # largest probability shortfall that counts as attained
ABS_ACCEPT = 2e-7  # ... when the exact MIP proves that the master cannot improve any more
TARGET_ROUNDS = 50  # LPs of the target point (each adds the rows of the types above the excess)


class NotAttainable(Exception):
    """The relaxed leximin vector is not a convex combination of real panels."""


def relaxed_leximin(inst: Instance, *, with_point: bool = False, progress=None,
                    slacks: tuple[float, ...] = BACKOFF_SLACKS, stats: dict | None = None,
                    certificate: list | None = None, cap: float | None = None,
                    weights: np.ndarray | None = None):
    """Leximin probabilities per type over the relaxed polytope Q / c; returns (pi, levels), with
    ``with_point`` also the type counts of the last stage's LP solution (a point of Q within the
    LP tolerance whose probabilities are >= pi up to the slack: a consistent target, unlike
    ``c * pi``, whose row sums carry the rounding of every level).

    ``slacks``: the slack of the fixed levels, backed off to the next value whenever a stage's LP
    is not solved to optimality (see ``BACKOFF_SLACKS``); raises :class:`NotAttainable` when the
    last one fails too.  ``progress(msg, frac)`` hears of every stage (frac: the share of types
    fixed); ``stats`` (a dict) receives ``relaxation_backoffs`` and ``relaxation_slack``.

    ``certificate`` (a list) receives one entry per level: ``{"level": z, "unfixed": (t, y_t),
    "fixed": (t, mu_t, floor_t)}`` (numpy arrays; as JSON ``[[t, y_t]]`` and ``[[t, mu_t,
    floor_t]]``, see ``certificate_levels``), the row duals of the stage's LP as weights on the types'
    probabilities (``y_t = dual_t * c_t``: the unfixed types, summing to 1; ``mu_t``: the fixed
    types, whose probabilities are held at ``>= floor_t``).  Weak duality: every point of the
    relaxed polytope, so every distribution over panels, has ``sum y_t p_t + sum mu_t (p_t -
    floor_t) <= z``; so a distribution that keeps the fixed types at their floors gives some
    type with ``y_t > 0`` at most ``z``.  ``borgerting sortition certify`` checks each level
    with one LP of its own.

    ``cap`` (GOLDILOCKS, goldilocks.py): every probability at most ``cap`` (the columns' upper
    bounds ``x_t <= cap c_t``): the leximin vector among the distributions that keep everyone at or
    below the cap.  The certificate then holds for the capped polytope (``certify`` reads the cap).

    ``weights`` (the whole-population option, population.py; in (0, 1] per type): the leximin of
    ``weights_t * p_t`` instead of ``p_t`` (rows ``x_t >= (c_t / weights_t) z``); the levels and the
    certificate are in those units, the returned ``pi`` in probabilities."""
    T = inst.n_types
    c = inst.type_counts.astype(np.float64)
    ub = c if cap is None else np.minimum(c, cap * c)
    wt = np.ones(T) if weights is None else np.asarray(weights, dtype=np.float64)
    s = c / wt  # the z rows' scale: x_t >= s_t z
    top = wt * min(1.0, 1.0 if cap is None else cap)  # the highest level each type can reach
    # The compact model: column t is u_t, the excess of type t over its level (x_t = s_t z + u_t
    # while t is unfixed, x_t = u_t >= s_t f_t once fixed), column T is z; the rows are only those
    # of Q (panel size, quotas, households), z's coefficient in each being the sum of s_t over
    # its unfixed types.  A basis has a few dozen rows instead of T + a few dozen (measured on
    # 11,137 types: 95 s CPU with the rows x_t >= s_t z).  The upper bounds x_t <= ub_t of the
    # unfixed types are rows s_t z + u_t <= ub_t added when a solution breaks one (they bind
    # only near probability 1 or the cap).
    h = new_highs()
    h.setOptionValue("primal_feasibility_tolerance", LP_TOL)
    h.setOptionValue("dual_feasibility_tolerance", LP_TOL)
    h.changeObjectiveSense(highspy.ObjSense.kMaximize)
    h.addVars(T, np.zeros(T), ub)
    h.addVar(0.0, INF)  # z
    h.changeColCost(T, 1.0)
    members = polytope_members(inst)
    add_polytope_rows(h, inst)
    n_rows = len(members)
    fixed = np.full(T, np.nan)

    def set_z_column() -> None:
        unf = np.where(np.isnan(fixed), s, 0.0)
        for i, mem in enumerate(members):
            h.changeCoeff(i, T, float(unf[mem].sum()))

    set_z_column()
    ub_rows: dict[int, int] = {}  # type -> its row s_t z + u_t <= ub_t
    levels: list[float] = []
    point = np.zeros(T)
    level = 0  # index into slacks
    sign = 0.0  # HiGHS's sign of the u columns' duals at their lower bounds (found at level 1)
    stats = {} if stats is None else stats
    stats.update(relaxation_backoffs=0, relaxation_slack=slacks[0])
    while np.isnan(fixed).any():
        while True:
            while not _solved(h):
                if level + 1 >= len(slacks):
                    raise NotAttainable(f"relaxed LP at level {len(levels) + 1}: "
                                        f"{h.modelStatusToString(h.getModelStatus())} even with the fixed levels "
                                        f"relaxed by {slacks[level]:g}")
                level += 1
                stats["relaxation_backoffs"] += 1
                stats["relaxation_slack"] = slacks[level]
                done = np.nonzero(~np.isnan(fixed))[0]
                if progress:
                    progress(f"relaxation: the LP of level {len(levels) + 1} is "
                             f"{h.modelStatusToString(h.getModelStatus())}; relaxing the {len(done)} fixed "
                             f"levels by {slacks[level]:g} and solving again", len(done) / T)
                h.changeColsBounds(len(done), done.astype(np.int32),
                                   np.minimum(ub[done], np.maximum(0.0, fixed[done] - slacks[level]) * s[done]),
                                   ub[done])
            sol = h.getSolution()
            z = float(sol.col_value[T])
            u = np.array(sol.col_value[:T])
            unfixed = np.isnan(fixed)
            x = np.where(unfixed, s * z + u, u)
            over = np.nonzero(unfixed & (x > ub + LP_TOL * np.maximum(1.0, ub)))[0]
            over = [int(t) for t in over if int(t) not in ub_rows]
            if not over:
                break
            for t in over:  # lazy upper-bound rows, then solve again (warm)
                ub_rows[t] = h.getNumRow()
                h.addRow(-INF, float(ub[t]), 2, np.array([t, T], dtype=np.int32), np.array([1.0, s[t]]))
        point = x
        cd = np.array(sol.col_dual)[:T]
        if sign == 0.0:  # the unfixed types' weights sum to 1 (z's reduced cost is 0)
            sign = 1.0 if float((cd * s)[unfixed].sum()) >= 0 else -1.0
        rd = np.clip(sign * cd, 0.0, None)  # duals of the lower bounds u_t >= 0 / >= s_t f_t
        cand = unfixed & (rd > FIX_EPS)
        if not cand.any():  # the unfixed duals sum to 1 in exact arithmetic; take the largest
            cand = np.zeros(T, dtype=bool)
            cand[np.argmax(np.where(unfixed, rd, -1.0))] = True
        # the types left at probability 1 (or at the cap; none can exceed it) are fixed at once (one
        # stage each took 157 stages on a 100,000 pool)
        cand |= unfixed & (z >= top - FIX_SLACK)
        ts = np.nonzero(cand)[0]
        if certificate is not None:  # numpy arrays: thousands of levels must stay small in memory
            pos = rd > 1e-15
            uu, f = np.nonzero(unfixed & pos)[0], np.nonzero(~unfixed & pos)[0]
            certificate.append({"level": z, "unfixed": (uu.astype(np.int32), rd[uu] * s[uu]),
                                "fixed": (f.astype(np.int32), rd[f] * s[f], np.maximum(0.0, fixed[f] - slacks[level]))})
        v = min(1.0, max(0.0, z))
        fixed[ts] = v
        levels.append(v)
        h.changeColsBounds(len(ts), ts.astype(np.int32),
                           np.minimum(ub[ts], np.maximum(0.0, v - slacks[level]) * s[ts]), ub[ts])
        for t in ts:
            if int(t) in ub_rows:  # the row becomes u_t <= ub_t, a bound the column has anyway
                h.changeCoeff(ub_rows[int(t)], T, 0.0)
        set_z_column()
        if progress:
            n_fixed = T - int(np.isnan(fixed).sum())
            progress(f"relaxation: level {len(levels)} = {v:.6f}, {n_fixed}/{T} types fixed", n_fixed / T)
    pi = fixed if weights is None else np.minimum(1.0, fixed / wt)
    if with_point:
        return pi, levels, _target_point(h, pi, c, point, slacks[level] / wt, ub, n_rows)
    return pi, levels


def polytope_members(inst: Instance) -> list[np.ndarray]:
    """The types of each row of Q, in the order of ``add_polytope_rows``."""
    A = inst.quota_matrix
    return [np.arange(inst.n_types)] + [np.nonzero(A[j])[0] for j in range(A.shape[0])] + \
        [np.asarray(hh) for hh in inst.households]


def add_polytope_rows(h: highspy.Highs, inst: Instance) -> None:
    """The rows of Q over the first T columns of ``h`` (the type counts): panel size, every quota
    row, at most one per shared household."""
    rows_lo = [float(inst.k)] + list(inst.quota_lo) + [-INF] * len(inst.households)
    rows_hi = [float(inst.k)] + list(inst.quota_hi) + [1.0] * len(inst.households)
    members = polytope_members(inst)
    starts = np.cumsum([0] + [len(m) for m in members[:-1]]).astype(np.int32)
    cols = np.concatenate(members).astype(np.int32)
    h.addRows(len(members), np.array(rows_lo), np.array(rows_hi), len(cols), starts, cols,
              np.ones(len(cols)))


def certificate_levels(certificate: list[dict]):
    """The certificate's levels as JSON values, one at a time."""
    for lv in certificate:
        u, y = lv["unfixed"]
        f, mu, floor = lv["fixed"]
        yield {"level": float(lv["level"]), "unfixed": [[int(a), float(b)] for a, b in zip(u, y)],
               "fixed": [[int(a), float(b), float(d)] for a, b, d in zip(f, mu, floor)]}


def _solved(h: highspy.Highs) -> bool:
    """Run the LP (from the warm start, then once more from scratch); optimal?"""
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        h.clearSolver()
        h.run()
    return h.getModelStatus() == highspy.HighsModelStatus.kOptimal


def _target_point(h: highspy.Highs, pi: np.ndarray, c: np.ndarray, point: np.ndarray,
                  slack: float | np.ndarray = FIX_SLACK, ub: np.ndarray | None = None,
                  n_rows: int = 0) -> np.ndarray:
    """A point of Q with every probability ``>= pi - slack`` (exactly 0 / c_t where ``pi``
    is 0 / 1) whose largest excess ``e`` over ``pi`` is as small as possible: LPs on the model
    of the last stage (every type fixed, so its columns are the type counts and its ``z``
    column, which no row of Q uses any more, becomes ``e``), the rows ``x_t - c_t e <= c_t pi_t``
    added for the types whose excess is above ``e`` until none is (most types stay at their
    lower bound); the last stage's solution if that fails.  (``c * pi`` itself is not exactly in
    Q: the levels carry the LP tolerance, which adds up over large rows.)"""
    T = len(c)
    ar = np.arange(T, dtype=np.int32)
    lo = np.where(pi >= 1.0, c, np.maximum(0.0, pi - slack) * c)
    hi = np.where(pi <= 0.0, 0.0, c if ub is None else ub)
    lo = np.minimum(lo, hi)
    h.changeColsBounds(T, ar, lo, hi)
    for i in range(n_rows):
        h.changeCoeff(i, T, 0.0)
    h.changeColBounds(T, 0.0, INF)
    h.changeColCost(T, -1.0)  # maximise -e
    rows: set[int] = set()
    best = None
    for _ in range(TARGET_ROUNDS):
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            break
        col = np.array(h.getSolution().col_value)
        x, e = np.clip(col[:T], lo, hi), max(0.0, float(col[T]))
        best = x
        over = [int(t) for t in np.nonzero(x - c * (pi + e) > LP_TOL * c)[0] if int(t) not in rows]
        if not over:
            return x
        for t in over:
            rows.add(t)
            h.addRow(-INF, float(c[t] * pi[t]), 2, np.array([t, T], dtype=np.int32), np.array([1.0, -float(c[t])]))
    return best if best is not None else np.clip(point, 0.0, c)


class _Face:
    """The minimal face of Q containing the target counts ``xbar``."""

    def __init__(self, inst: Instance, xbar: np.ndarray):
        c = inst.type_counts.astype(np.float64)
        self.at0 = xbar <= FACE_TOL
        self.atc = xbar >= c - FACE_TOL
        self.support = np.nonzero(~self.at0 & ~self.atc)[0]
        self.lb = np.where(self.atc, c, 0.0)
        self.ub = np.where(self.at0, 0.0, c)
        g = inst.quota_matrix @ xbar
        self.qlo = np.where(g >= inst.quota_hi - FACE_TOL, inst.quota_hi, inst.quota_lo)
        self.qhi = np.where(g <= inst.quota_lo + FACE_TOL, inst.quota_lo, inst.quota_hi)
        self.hh_tight = [np.asarray(hh) for hh in inst.households if xbar[hh].sum() >= 1 - FACE_TOL]
        self.inst = inst

    def contains(self, x: np.ndarray) -> bool:
        if np.any(x < self.lb) or np.any(x > self.ub) or x.sum() != self.inst.k:
            return False
        g = self.inst.quota_matrix @ x
        if np.any(g < self.qlo) or np.any(g > self.qhi):
            return False
        return all(x[hh].sum() == 1 for hh in self.hh_tight) and self.inst.check_type_panel(x)


class _DecompMaster:
    """Restricted master of the decomposition, over the support types S (``a_{P,t} = x_{P,t} /
    xbar_t``).

    ``maximin`` (default): ``max z`` s.t. ``sum_P q_P a_{P,t} >= z``, ``sum q = 1``.
    ``shortfall``: ``min sum_t s_t`` s.t. ``sum_P q_P a_{P,t} + s_t >= 1`` (duals boxed in
    [0, 1]); measured: about twice the iterations of ``maximin`` on synth_skew_400_40.
    Either way the target is attained when every type reaches ratio 1.
    """

    def __init__(self, support: np.ndarray, xbar: np.ndarray, counts: np.ndarray, mode: str = "shortfall"):
        self.S = support
        self.xs = xbar[support]
        self.ps = xbar[support] / counts[support]  # target probabilities
        nS = len(support)
        self.nS = nS
        self.mode = mode
        h = new_highs()
        h.setOptionValue("primal_feasibility_tolerance", 1e-9)
        h.setOptionValue("dual_feasibility_tolerance", 1e-9)
        h.setOptionValue("simplex_strategy", 4)  # primal simplex: new columns keep the basis
        lo = np.zeros(nS + 1)
        hi = np.full(nS + 1, INF)
        lo[nS] = hi[nS] = 1.0
        ar = np.arange(nS, dtype=np.int32)
        if mode == "shortfall":
            lo[:nS] = 1.0
            h.addRows(nS + 1, lo, hi, 0, np.zeros(nS + 1, dtype=np.int32), np.zeros(0, dtype=np.int32),
                      np.zeros(0))
            h.addCols(nS, np.ones(nS), np.zeros(nS), np.full(nS, INF), nS, ar, ar, np.ones(nS))
            self.n_aux = nS
        else:
            h.changeObjectiveSense(highspy.ObjSense.kMaximize)
            h.addRows(nS + 1, lo, hi, 0, np.zeros(nS + 1, dtype=np.int32), np.zeros(0, dtype=np.int32),
                      np.zeros(0))
            h.addCol(1.0, -INF, INF, nS, ar, -np.ones(nS))
            self.n_aux = 1
        self.h = h
        self.panels: list[np.ndarray] = []
        self.keys: set[bytes] = set()

    def add(self, xs: list[np.ndarray]) -> int:
        starts, idx, vals = [], [], []
        added = 0
        for x in xs:
            key = x.tobytes()
            if key in self.keys:
                continue
            self.keys.add(key)
            self.panels.append(x)
            xS = x[self.S]
            nz = np.nonzero(xS)[0]
            starts.append(len(idx))
            idx.extend(nz.tolist())
            vals.extend((xS[nz] / self.xs[nz]).tolist())
            idx.append(self.nS)
            vals.append(1.0)
            added += 1
        if added:
            self.h.addCols(added, np.zeros(added), np.zeros(added), np.full(added, INF), len(idx),
                           np.array(starts, dtype=np.int32), np.array(idx, dtype=np.int32),
                           np.array(vals, dtype=np.float64))
        return added

    def solve(self) -> tuple[float, np.ndarray]:
        """Returns (lowest ratio reached by a type, dual weights y >= 0 on S)."""
        h = self.h
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            h.clearSolver()
            h.run()
            if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
                raise RuntimeError(f"decomposition LP: {h.modelStatusToString(h.getModelStatus())}")
        sol = h.getSolution()
        rd = np.array(sol.row_dual)[: self.nS]
        y = np.clip(rd if rd.sum() >= 0 else -rd, 0.0, None)
        col = np.array(sol.col_value)
        self.q = np.clip(col[self.n_aux:], 0.0, None)
        if self.mode == "shortfall":
            short = col[: self.nS]
        else:
            short = np.maximum(0.0, 1.0 - float(h.getInfo().objective_function_value)) + np.zeros(self.nS)
        self.abs_short = float(np.max(short * self.ps, initial=0.0))  # in probability
        if self.mode == "shortfall":
            return 1.0 - float(np.max(short, initial=0.0)), np.minimum(y, 1.0)
        return float(h.getInfo().objective_function_value), y

    def prune(self, vals: np.ndarray, keep: int) -> int:
        """Drop the unused panels with the lowest value ``y . a_P`` so that ``keep`` remain
        (a large master makes every simplex iteration slow); they may come back later."""
        m = len(self.panels)
        if m <= keep:
            return 0
        score = np.array(vals, dtype=np.float64)
        nq = min(len(self.q), m)
        score[:nq][self.q[:nq] > 1e-12] = np.inf  # basic panels stay
        score[nq:] = np.inf  # panels added since the last solve stay
        drop = np.sort(np.argpartition(score, m - keep - 1)[: m - keep])
        drop = drop[np.isfinite(score[drop])]
        if len(drop) == 0:
            return 0
        self.h.deleteCols(len(drop), (drop + self.n_aux).astype(np.int32))
        mask = np.ones(m, dtype=bool)
        mask[drop] = False
        for i in drop:
            self.keys.discard(self.panels[i].tobytes())
        self.panels = [x for x, k in zip(self.panels, mask) if k]
        self.q = self.q[mask[: len(self.q)]]
        return len(drop)

    def threshold(self, vals: np.ndarray) -> float:
        """Reduced-cost threshold: the value ``y . a_P`` of the panels in the basis."""
        used = self.q > 1e-12
        return float(vals[used].max()) if used.any() else float(vals.max())


def _cover(inst: Instance, face: _Face, search: SwapSearch, oracle: PanelOracle, rng,
           panels: list[np.ndarray] | None = None) -> list[np.ndarray]:
    """Face panels that together contain every support type (max-coverage weights), starting
    from ``panels`` (face panels known already)."""
    T = inst.n_types
    sup = np.zeros(T, dtype=bool)
    sup[face.support] = True
    covered = ~sup
    panels = list(panels or [])
    for p in panels:
        covered |= p > 0
    c = inst.type_counts.astype(np.float64)
    while not covered.all():
        w = np.where(covered, 0.0, 1.0) / np.minimum(c, float(inst.k)) * (1.0 + 1e-3 * rng.random(T))
        x = None
        if panels:  # the swap search from the panels covering most of what is left
            vals = np.array([float(w @ p) for p in panels])
            for i in np.argsort(-vals)[:3]:
                x = search.improve(panels[i], w, double=True)
                if ((x > 0) & ~covered).any() and face.contains(x):
                    break
                x = None
        if x is None:
            # coverage needs no optimum: a 10 % gap is far cheaper on large pools
            oracle.h.setOptionValue("mip_rel_gap", 0.1)
            try:
                _, x, _ = oracle.solve(w)
            finally:
                oracle.h.setOptionValue("mip_rel_gap", 0.0)
            if x is not None and not ((x > 0) & ~covered).any():
                _, x, _ = oracle.solve(w)  # exact: does any panel of the face cover more?
            if x is None:
                raise NotAttainable("no panel on the face of the target")
            if not ((x > 0) & ~covered).any():
                raise NotAttainable("some target types are on no panel of the face")
        panels.append(x)
        covered |= x > 0
    return panels


def decompose(inst: Instance, pi: np.ndarray, *, n_starts: int = 3, path_columns: int = 4,
              mode: str = "maximin", max_moves: int = 400, prune_at: float = 1.5,
              prune_keep: float = 1.0, stall_window: int = 5, stall_eps: float = 0.02,
              over_penalty: float = 5.0, plateau: int | None = None, plateau_eps: float = 1e-3,
              progress=None, initial: list[np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray, dict]:
    """Panels (type counts) and weights whose type probabilities reach ``pi`` (see module doc).

    ``initial``: panels to start the master with (those on the face are used).
    Raises :class:`NotAttainable` when the exact MIP proves that ``pi`` is out of reach.
    """
    t0 = time.perf_counter()
    T = inst.n_types
    c = inst.type_counts.astype(np.float64)
    xbar = pi * c
    face = _Face(inst, xbar)
    oracle = PanelOracle(inst)
    ar = np.arange(T, dtype=np.int32)
    oracle.h.changeColsBounds(T, ar, face.lb, face.ub)
    nq = inst.quota_matrix.shape[0]
    for j in range(nq):
        oracle.h.changeRowBounds(1 + j, float(face.qlo[j]), float(face.qhi[j]))
    for j, hh in enumerate(inst.households):
        if xbar[hh].sum() >= 1 - FACE_TOL:
            oracle.h.changeRowBounds(1 + nq + j, 1.0, 1.0)
    movable = np.zeros(T, dtype=bool)
    movable[face.support] = True
    search = SwapSearch(inst).restrict(face.qlo, face.qhi, movable)
    rng = np.random.default_rng(2021)
    stats = {"iterations": 0, "heuristic_rounds": 0, "ip_solves": 0}
    if len(face.support) == 0:
        _, x, _ = oracle.solve(np.zeros(T))
        if x is None or not face.contains(x):
            raise NotAttainable("the integral target is not a panel")
        return x[None, :].astype(np.int64), np.ones(1), stats
    master = _DecompMaster(face.support, xbar, c, mode)
    cover = _cover(inst, face, search, oracle, rng, [p for p in initial or [] if face.contains(p)])
    master.add(cover)
    stats.update(ip_solves=oracle.calls, cover_panels=len(cover), cover_ips=oracle.calls)
    S = face.support
    if plateau is None:  # measured: 40 neighbours per round cut the 1000-volunteer proxy 194 s -> 53 s
        plateau = max(16, len(S) // 12)
    history: list[float] = []
    while True:
        stats["iterations"] += 1
        z, y = master.solve()
        if z >= DONE or master.abs_short <= ABS_DONE:
            break
        if progress and stats["iterations"] % 25 == 0:
            progress(f"decomposition: lowest ratio {z:.6f} of the target, {len(master.panels)} panels",
                     min(0.99, max(0.0, z)))
        w = np.zeros(T)
        w[S] = y / master.xs
        P = master.panels
        vals = np.array([float(w @ p) for p in P])
        z_ratio = z
        z = master.threshold(vals) if master.mode == "shortfall" else z
        n = min(n_starts, len(P))
        top = np.argpartition(-vals, n - 1)[:n] if n < len(P) else np.arange(len(P))
        cands = []
        ws = [w] * len(top)
        if over_penalty > 0 and len(top) > 1:
            # one search also pushes out types the current mixture over-covers (on the face a
            # panel can only take a short type in by giving another one up); its columns are
            # still accepted only when they improve under the true duals
            nq = min(len(master.q), len(P))
            mean = master.q[:nq] @ np.array(P[:nq], dtype=np.float64)[:, S] if nq else np.zeros(len(S))
            rho = np.clip(mean / master.xs - 1.0, 0.0, 1.0)
            w2 = w.copy()
            w2[S] -= over_penalty * rho / (len(S) * master.xs)
            ws[-1] = w2
        for i, wi in zip(top, ws):
            path: list[np.ndarray] = []
            search.improve(P[i], wi, double=True, trace=path, max_moves=max_moves)
            # the end of the search path and a few improving panels along it
            good = [x2 for x2 in path if float(w @ x2) > z + EPS_PRICE]
            if len(good) > path_columns:
                pick = np.linspace(len(good) - 1, 0, path_columns).round().astype(int)
                good = [good[j] for j in sorted(set(pick.tolist()))]
            cands.extend(x2 for x2 in good if face.contains(x2))
        if plateau and cands:
            # near the end the master lacks the panels of the final basis, which sit on the
            # plateau of the duals: add the best neighbours of a few panels in use
            nq = min(len(master.q), len(P))
            used = np.nonzero(master.q[:nq] > 1e-12)[0]
            for i in rng.permutation(used)[:plateau]:
                x2 = search.neighbour(P[i], w)
                if x2 is not None and float(w @ x2) >= z - plateau_eps * abs(z) and face.contains(x2):
                    cands.append(x2)
        if not cands and len(P) > n:  # more starts before the MIP
            more = np.argsort(-vals)[n: n + 4 * n_starts]
            for i in more:
                x2 = search.improve(P[i], w, double=True, max_moves=max_moves)
                if float(w @ x2) > z + EPS_PRICE and face.contains(x2):
                    cands.append(x2)
        history.append(z_ratio)
        stalled = (stall_window and len(history) > stall_window
                   and history[-1] - history[-1 - stall_window] < stall_eps * (1.0 - history[-1]))
        if cands and master.add(cands):
            stats["heuristic_rounds"] += 1
            if len(master.panels) > prune_at * len(S) + 200:
                vals = np.array([float(w @ p) for p in master.panels])
                stats["pruned"] = stats.get("pruned", 0) + master.prune(vals, int(prune_keep * len(S)) + 100)
            if not stalled:
                continue
            # the swap search still improves, but slowly: a MIP column as well (best panel)
            stats["stall_ips"] = stats.get("stall_ips", 0) + 1
            history.clear()
        stats["ip_solves"] += 1
        # any improving panel will do: a small gap first (its bound is still a valid bound),
        # the exact MIP only when that panel does not improve
        oracle.h.setOptionValue("mip_rel_gap", 1e-3)
        try:
            val, x, bound = oracle.solve(w)
        finally:
            oracle.h.setOptionValue("mip_rel_gap", 0.0)
        if x is not None and val <= z + EPS_PRICE < bound:
            val, x, bound = oracle.solve(w)
        if mode == "maximin" and bound < 1.0 - 1e-6:
            # y (summing to 1) certifies that no distribution reaches the target: z* <= bound
            raise NotAttainable(f"the exact pricing bound {bound:.9f} < 1: target out of reach")
        if cands and (x is None or bound <= z + EPS_PRICE):
            continue  # the heuristic columns are in; only they improve
        if x is None or bound <= z + EPS_PRICE:
            if master.abs_short <= ABS_ACCEPT:  # optimal up to the tolerance of the target
                break
            raise NotAttainable(f"no improving panel on the face at {z_ratio:.9f} of the target")
        extra = [x2 for x2 in oracle.saved() if float(w @ x2) > z + EPS_PRICE and face.contains(x2)]
        if master.add([x] + extra) == 0 and not cands:
            raise NotAttainable("pricing returned a known panel (numerical trouble)")
    q = master.q
    keep = q > 1e-12
    panels = np.array(master.panels, dtype=np.int64)[keep]
    probs = q[keep] / q[keep].sum()
    stats.update(panels_generated=len(master.panels), ip_seconds=round(oracle.seconds, 3),
                 max_shortfall=master.abs_short,
                 seconds=time.perf_counter() - t0)
    return panels, probs, stats
