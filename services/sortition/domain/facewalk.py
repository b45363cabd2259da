"""Decomposition of the relaxed leximin point into real panels by a walk over faces
(Carathéodory), the fast exact path for large pools.

Let ``Q`` be the relaxed panel polytope of relaxation.py and ``x`` the target type counts
(``x = c * pi`` up to the LP tolerance, a point of ``Q``).  One step:

1. Find an integer panel ``p`` on the minimal face of ``Q`` that contains ``x``: every bound,
   quota row and household row that is tight at ``x`` is tight at ``p`` (types at 0 or at
   ``c_t`` stay there, quota rows at a bound are equalities).  First with the box
   ``floor(x_t) <= p_t <= ceil(x_t)`` (the panel is a rounding of ``x``; objective: how far
   each choice lets the step go, ``_step_cost``, so a type whose remainder is nearly used up is
   left out while others can be taken), then the box widened by
   one, then the whole face; in each, an LP vertex (warm-started from step to step, solved over
   a working set of types, see ``_FaceLP``) and a MIP over its few fractional types and their
   neighbours, else a HiGHS MIP over the whole box.
2. Take the largest ``lam`` such that ``x' = (x - lam p) / (1 - lam)`` stays in ``Q`` (a ratio
   test over the constraints that are not tight at ``x``), record ``(p, m lam)`` where ``m`` is
   the mass not yet placed, and continue from ``x'`` with mass ``m (1 - lam)``.

Since ``p`` lies on the face of ``x``, ``x`` moves away from ``p`` inside that face until one
more constraint becomes tight: the face dimension drops every step, so the walk ends after at
most (dimension + 1) steps, with ``x`` itself a panel.  Every recorded panel meets every quota
(it is a MIP solution, and the caller checks each one).  A face without an integer point stops
the walk early ("stuck"); the caller then decomposes the remainder by column generation.

Tolerances: the remainder ``x'`` carries the absolute error of the target divided by ``m``, so
a constraint counts as tight within ``tau / m`` (absolute ``tau`` in the original scale).  The
result is checked at the end against ``pi`` (every type's probability within the accepted
shortfall) by the caller, so the tolerances only decide how the walk goes, not what is claimed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import highspy
import numpy as np

from .highs_util import INF, PanelOracle, new_highs
from .model import Instance
from .relaxation import ABS_ACCEPT, ABS_DONE, NotAttainable, add_polytope_rows, decompose
from .sparse import SparsePanels, row_key, sparse_row, sparse_rows

TAU = 1e-9  # absolute tolerance (type counts, original scale) for "tight"
STEP_GAP = 0.5  # any panel on the face will do: the objective only steers the walk
# the MIP over a whole box is given up after this many branch-and-bound nodes: a count, not a clock,
# so that the walk (and the lottery drawn from it) is the same on a slow or loaded machine: a replay
# (verify-replacement --recompute, a retried draw job) recomputes it.  It was 20 s of wall clock.
BOX_NODES = 2000
REST_CG_MASS = 1e-3  # below this a stuck walk's remainder goes to the whole-target master
# the small MIP around an LP vertex: its fractional types and this many more of the box (those with
# the smallest reduced costs), and the nodes after which it is given up for the MIP over the box.
# Measured (CPU, 60 steps of a 3,000-volunteer 10-category pool, 2,546 types): 60 types with the
# fractional parts as objective 31.8 s; no objective 27.2 s; and 200 nodes 26.0 s; 150 types 11.6 s
# (no MIP over the box needed); 300 types 21.8 s.  The whole walk of the 20,000 pool: 13.8 s -> 10.9 s.
NEIGHBOURS = 150
SUB_NODES = 200
# the small MIP's cut pool: HiGHS's default (10,000) lets the root add over a thousand cuts before
# a heuristic finds the first panel; measured on the 20,000-volunteer 10-category pool (11,137
# types): the whole walk's small MIPs 128 s -> 62 s of CPU (260 steps instead of 266)
SUB_CUT_POOL = 1
# the LP vertex over a working set of this many types when more can move (_FaceLP, sifting)
WORKING_SET = 3000


@dataclass
class Walk:
    n_types: int = 0
    rows: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)  # panels as (types, counts)
    weights: list[float] = field(default_factory=list)  # absolute weights (sum = 1 - mass)
    rest: np.ndarray | None = None  # remainder point (counts, remainder scale)
    mass: float = 1.0  # weight still to place (0 when the walk reached a panel)
    steps: int = 0
    stuck: str | None = None
    mip_seconds: float = 0.0
    mips: int = 0  # MIPs solved (over the whole face, and the small ones around LP vertices)
    how: dict = field(default_factory=dict)  # how each step's panel was found

    @property
    def panels(self) -> SparsePanels:
        return SparsePanels.from_rows(self.rows, self.n_types)


class _FaceLP:
    """The LP relaxation of the face MIP (same rows as the oracle, continuous columns), kept
    warm from step to step: a basic solution of it has at most as many fractional types as the
    model has rows (one size row, the quota rows, the household rows), so fixing every integral
    type of it leaves a MIP of a few dozen variables instead of all T.

    With more than ``working`` movable types, the LP is first solved over a working set (sifting):
    the ``working`` types whose reduced costs under the previous step's duals (shifted by the
    change of their costs) are nearest zero; every other type is held at the bound its reduced
    cost points to.  Types held at a bound whose reduced cost under the new duals points the
    other way are released and the LP re-solved (warm), until none is left: the optimum is that
    of the LP over all types.  HiGHS's simplex iterations cost time in proportion to the columns
    that can move: measured on national_100k_10cat (29,067 types, the walk's tail), 0.5 s per
    vertex with 3,000 movable types against 1.1-1.7 s with all 24,800, same optimum."""

    def __init__(self, inst: Instance, working: int | None = None):
        T = inst.n_types
        self.T = T
        h = new_highs()
        h.setOptionValue("primal_feasibility_tolerance", 1e-9)
        h.setOptionValue("dual_feasibility_tolerance", 1e-9)
        h.changeObjectiveSense(highspy.ObjSense.kMaximize)
        h.addVars(T, np.zeros(T), inst.type_counts.astype(np.float64))
        add_polytope_rows(h, inst)
        self.h = h
        self.solves = 0
        self.working = WORKING_SET if working is None else working
        self.ar = np.arange(T, dtype=np.int32)
        self.cost: np.ndarray | None = None  # the last solve's costs and reduced costs
        self.rc: np.ndarray | None = None
        self.released = 0  # types released from a bound by the sifting (statistics)

    def _run(self, cost: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray | None:
        h = self.h
        h.changeColsBounds(self.T, self.ar, lo, hi)
        h.run()
        self.solves += 1
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        sol = h.getSolution()
        self.cost, self.rc = cost, np.array(sol.col_dual)
        return np.array(sol.col_value)

    def vertex(self, cost: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray | None:
        """A basic optimal solution within the bounds (rows set by the caller), or None."""
        self.h.changeColsCost(self.T, self.ar, cost)
        movable = hi > lo
        if self.rc is not None and np.count_nonzero(movable) > self.working:
            guess = self.rc + (cost - self.cost)  # reduced costs under the previous duals
            mov = np.nonzero(movable)[0]
            inside = mov[np.argpartition(np.abs(guess[mov]), self.working)[:self.working]]
            held = movable.copy()
            held[inside] = False
            up = held & (guess > 0)  # maximising: a positive reduced cost wants the upper bound
            flo = np.where(up, hi, lo)
            fhi = np.where(held & ~up, lo, hi)
            while True:
                v = self._run(cost, flo, fhi)
                if v is None:  # the held types made the rows infeasible: the whole LP below
                    break
                tol = 1e-9 * np.maximum(1.0, np.abs(cost))
                wrong = held & (((flo == lo) & (self.rc > tol)) | ((fhi == hi) & (self.rc < -tol)))
                if not wrong.any():
                    return v
                self.released += int(np.count_nonzero(wrong))
                held &= ~wrong
                flo = np.where(wrong, lo, flo)
                fhi = np.where(wrong, hi, fhi)
        return self._run(cost, lo, hi)


def _mip_in(oracle: PanelOracle, blo: np.ndarray, bhi: np.ndarray) -> np.ndarray | None:
    """The oracle's MIP (rows and objective already set) within column bounds; a checked panel."""
    T = oracle.T
    h = oracle.h
    h.changeColsBounds(T, np.arange(T, dtype=np.int32), blo, bhi)
    h.run()
    oracle.calls += 1
    st = h.getModelStatus()
    if st in (highspy.HighsModelStatus.kOptimal, highspy.HighsModelStatus.kSolutionLimit) \
            and h.getInfo().primal_solution_status == 2:
        p = np.rint(np.array(h.getSolution().col_value)).astype(np.int64)
        if oracle.inst.check_type_panel(p):
            return p
    return None


def _sub_mip(inst: Instance, rlo: np.ndarray, rhi: np.ndarray, base: np.ndarray, J: np.ndarray,
             lo: np.ndarray, hi: np.ndarray, cost: np.ndarray | None = None) -> np.ndarray | None:
    """The face MIP with every type outside ``J`` fixed at ``base`` (integers), as a model over
    the columns ``J`` alone (a few dozen; the oracle's model over all T types spends most of its
    time in presolving the fixed ones away).  ``rlo``/``rhi``: the quota and household rows'
    bounds on the face.  A checked panel or None."""
    rest = base.astype(np.float64).copy()
    rest[J] = 0.0
    A = inst.quota_matrix
    hhs = inst.households
    mats = [np.ones((1, len(J))), A[:, J].astype(np.float64)]
    act = [np.array([rest.sum()]), A @ rest]
    if hhs:
        inJ = np.zeros(inst.n_types, dtype=bool)
        inJ[J] = True
        pos = np.full(inst.n_types, -1)
        pos[J] = np.arange(len(J))
        Hm = np.zeros((len(hhs), len(J)))
        for r, hh in enumerate(hhs):
            hh = np.asarray(hh)
            Hm[r, pos[hh[inJ[hh]]]] = 1.0
        mats.append(Hm)
        act.append(np.array([rest[np.asarray(hh)].sum() for hh in hhs]))
    M = np.vstack(mats)
    a = np.concatenate(act)
    lo_r = np.concatenate([[float(inst.k)], rlo]) - a
    hi_r = np.concatenate([[float(inst.k)], rhi]) - a
    live = np.any(M != 0, axis=1)
    if np.any(lo_r[~live] > 1e-9) or np.any(hi_r[~live] < -1e-9):
        return None  # a row without a free column is already broken by the fixed types
    M, lo_r, hi_r = M[live], lo_r[live], hi_r[live]
    h = new_highs()
    n = len(J)
    h.addVars(n, lo.astype(np.float64), hi.astype(np.float64))
    h.changeColsIntegrality(n, np.arange(n, dtype=np.int32), np.full(n, highspy.HighsVarType.kInteger, dtype=np.uint8))
    if cost is not None:
        h.changeObjectiveSense(highspy.ObjSense.kMaximize)
        h.changeColsCost(n, np.arange(n, dtype=np.int32), cost.astype(np.float64))
        h.setOptionValue("mip_rel_gap", STEP_GAP)
    # no objective: the LP vertex chose the neighbourhood, any panel in it will do (HiGHS stops
    # at the first one); a neighbourhood without one is given up after SUB_NODES nodes
    h.setOptionValue("mip_max_nodes", SUB_NODES)
    h.setOptionValue("mip_pool_soft_limit", SUB_CUT_POOL)
    rows, cols = np.nonzero(M)
    starts = np.searchsorted(rows, np.arange(len(M))).astype(np.int32)
    h.addRows(len(M), lo_r, hi_r, len(cols), starts, cols.astype(np.int32), M[rows, cols])
    h.run()
    if h.getModelStatus() not in (highspy.HighsModelStatus.kOptimal, highspy.HighsModelStatus.kSolutionLimit) \
            or h.getInfo().primal_solution_status != 2:
        return None
    p = base.astype(np.int64).copy()
    p[J] = np.rint(np.array(h.getSolution().col_value)).astype(np.int64)
    return p if inst.check_type_panel(p) else None


def _panel_on_face(oracle: PanelOracle, x: np.ndarray, tol: float, free: np.ndarray,
                   lb: np.ndarray, ub: np.ndarray, lp: _FaceLP | None = None,
                   counts: dict | None = None, rlo: np.ndarray | None = None,
                   rhi: np.ndarray | None = None, objective: str = "harmonic") -> np.ndarray | None:
    """An integer panel within the face bounds ``lb``/``ub`` (rows already set, in ``lp`` too;
    ``rlo``/``rhi`` the face's quota and household rows): first in the rounding box of ``x``,
    then in the box widened by one, then anywhere on the face.  In each box, first a vertex of
    the LP (objective ``"harmonic"``: ``_step_cost``; ``"fraction"``: the fractional parts of
    ``x``, the objective before 2026-12-03; at most one fractional type per row); if it is not
    integral already, a small MIP (with the same objective) over
    its fractional types and the ``NEIGHBOURS`` types of the box with the smallest reduced costs,
    every other type fixed at the vertex; if that has no solution, the MIP over the whole box.
    Measured on the 20,000-volunteer pool of benchmarks/sortition/scale.py (1,728 types): 397
    steps, 24 integral vertices, 372 small MIPs, no MIP over the whole face; 10.9 s of CPU for
    the walk against about 100 s with the MIP over the whole box at every step."""
    T = oracle.T
    ar = np.arange(T, dtype=np.int32)
    h = oracle.h
    fl = np.floor(x + tol)
    ce = np.ceil(x - tol)
    if objective == "fraction":
        cost = np.where(free, x - fl, 0.0)
    else:
        cost = _step_cost(x, fl, oracle.inst.type_counts, free)
    h.changeColsCost(T, ar, cost)
    counts = {} if counts is None else counts
    for widen in (0.0, 1.0, None):
        if widen is None:
            blo, bhi = lb, ub
        else:
            blo = np.where(free, np.maximum(lb, fl - widen), lb)
            bhi = np.where(free, np.minimum(ub, ce + widen), ub)
        if lp is not None:
            v = lp.vertex(cost, blo, bhi)
            if v is None:  # no point of the face in this box, so no panel either
                counts["lp_empty"] = counts.get("lp_empty", 0) + 1
                continue
            r = np.rint(v)
            frac = np.abs(v - r) > 1e-7
            if not frac.any() and oracle.inst.check_type_panel(r.astype(np.int64)):
                counts["lp_integral"] = counts.get("lp_integral", 0) + 1
                return r.astype(np.int64)
            # the LP vertex's fractional types and the box's types with the smallest reduced
            # costs free, every other type fixed at the vertex: a MIP of a few dozen columns
            movable = np.nonzero(~frac & (bhi > blo))[0]
            if len(movable) > NEIGHBOURS:
                rc = np.abs(lp.rc)[movable]
                movable = movable[np.argpartition(rc, NEIGHBOURS)[:NEIGHBOURS]]
            J = np.union1d(np.nonzero(frac)[0], movable)
            p = _sub_mip(oracle.inst, rlo, rhi, r, J, blo[J], bhi[J],
                         None if objective == "fraction" else cost[J])
            if p is not None:
                counts["small_mip"] = counts.get("small_mip", 0) + 1
                return p
            counts["small_mip_failed"] = counts.get("small_mip_failed", 0) + 1
        p = _mip_in(oracle, blo, bhi)
        if p is not None:
            counts["box_mip"] = counts.get("box_mip", 0) + 1
            return p
    return None


def _step_cost(x: np.ndarray, fl: np.ndarray, cnt: np.ndarray, free: np.ndarray) -> np.ndarray:
    """Per unit of a type in the rounding box, how much taking it (ceil) instead of leaving it
    (floor) costs the step length: the ratio test limits the step by ``x_t / (ceil - x_t)`` for a
    type rounded up and by ``(c_t - x_t) / (x_t - floor)`` for one rounded down, so the cost is
    ``-1 / up + 1 / down`` (harmonic: a type whose remainder is tiny costs far more than two with
    ordinary remainders, so the panel avoids the leftovers that would end the step at once)."""
    f = np.clip(x - fl, 0.0, 1.0)
    up = np.maximum(x, 1e-12) / np.maximum(1.0 - f, 1e-12)
    down = np.maximum(cnt - x, 1e-12) / np.maximum(f, 1e-12)
    return np.where(free, -1.0 / up + 1.0 / down, 0.0)


def _ratio(num: np.ndarray, den: np.ndarray) -> float:
    """min num/den over den > 0 (inf when empty)."""
    pos = den > 0
    return float(np.min(num[pos] / den[pos])) if pos.any() else INF


def face_walk(inst: Instance, target: np.ndarray, *, tau: float = TAU, max_steps: int | None = None,
              progress=None, lp_first: bool = True, objective: str = "harmonic", mass: float = 1.0) -> Walk:
    """Walk from ``target`` (type counts, a point of Q) over ever smaller faces; see module doc.
    ``mass``: the weight still to place (a walk resumed from another's ``rest`` and ``mass``)."""
    cnt = inst.type_counts.astype(np.float64)
    A = inst.quota_matrix
    qlo, qhi = inst.quota_lo, inst.quota_hi
    hhs = [np.asarray(hh) for hh in inst.households]
    oracle = PanelOracle(inst)
    h = oracle.h
    lp = _FaceLP(inst) if lp_first else None
    h.setOptionValue("mip_rel_gap", STEP_GAP)
    h.setOptionValue("mip_max_nodes", BOX_NODES)
    h.setOptionValue("mip_improving_solution_save", False)
    x = np.asarray(target, dtype=np.float64).copy()
    walk = Walk(n_types=inst.n_types)
    m = float(mass)
    while True:
        if max_steps is not None and walk.steps >= max_steps:
            walk.stuck = "step limit"
            break
        walk.steps += 1
        tol = tau / m
        at0 = x <= tol
        atc = ~at0 & (x >= cnt - tol)
        free = ~at0 & ~atc
        g = A @ x
        tlo = g <= qlo + tol
        thi = g >= qhi - tol
        sh = np.array([x[hh].sum() for hh in hhs])
        th = sh >= 1.0 - tol
        # rows 1..nq: the quotas (tight ones as equalities), then the households (tight: = 1)
        rlo = np.concatenate([np.where(thi, qhi, qlo), np.where(th, 1.0, -INF)]).astype(np.float64)
        rhi = np.concatenate([np.where(tlo, qlo, qhi), np.ones(len(hhs))]).astype(np.float64)
        if len(rlo):
            rows = np.arange(1, 1 + len(rlo), dtype=np.int32)
            h.changeRowsBounds(len(rlo), rows, rlo, rhi)
            if lp is not None:
                lp.h.changeRowsBounds(len(rlo), rows, rlo, rhi)
        lb = np.where(atc, cnt, 0.0)
        ub = np.where(at0, 0.0, cnt)
        t1 = time.perf_counter()
        p = _panel_on_face(oracle, x, tol, free, lb, ub, lp, walk.how, rlo, rhi, objective)
        walk.mip_seconds += time.perf_counter() - t1
        if p is None:
            walk.stuck = "no panel on the face"
            break
        d = x - p
        if np.abs(d).max() <= tol:  # x is this panel (within the tolerance): done
            walk.rows.append(sparse_row(p))
            walk.weights.append(m)
            m = 0.0
            break
        # ratio test over the constraints not tight at x (the tight ones stay tight)
        df = np.where(free, d, 0.0)
        dg = g - A @ p
        mu = min(_ratio(x, -df), _ratio(cnt - x, df),
                 _ratio(qhi - g, np.where(thi, 0.0, dg)), _ratio(g - qlo, np.where(tlo, 0.0, -dg)))
        if hhs:
            dh = sh - np.array([p[hh].sum() for hh in hhs])
            mu = min(mu, _ratio(1.0 - sh, np.where(th, 0.0, dh)))
        walk.rows.append(sparse_row(p))
        if mu >= INF:  # no constraint limits the step: x lies on the panel's side of every row
            walk.weights.append(m)
            m = 0.0
            break
        lam = mu / (1.0 + mu)
        walk.weights.append(m * lam)
        x = x + mu * d
        m *= 1.0 - lam
        if progress:  # every step (a face MIP of a large pool can take seconds; callers throttle)
            progress(f"face walk: step {walk.steps}, {1.0 - m:.6f} of the weight placed", min(0.99, 1.0 - m))
    walk.rest = x
    walk.mass = m
    walk.mips = oracle.calls + walk.how.get("small_mip", 0) + walk.how.get("small_mip_failed", 0)
    return walk


def _shortfall(inst: Instance, pi: np.ndarray, panels: np.ndarray, probs: np.ndarray) -> float:
    """Largest amount by which a type's probability under the distribution stays below ``pi``."""
    got = (probs @ panels) / inst.type_counts
    return float(np.max(pi - got, initial=0.0))


def decompose_walk(inst: Instance, pi: np.ndarray, point: np.ndarray, *, progress=None,
                   max_steps: int | None = None, objective: str = "harmonic",
                   ) -> tuple[np.ndarray, np.ndarray, dict]:
    """Panels and weights whose type probabilities reach ``pi`` (``point``: the consistent
    target counts from ``relaxed_leximin(with_point=True)``): the face walk, and when it stops
    early with a shortfall left, column generation for the remainder (else for the whole
    target, seeded with the walk's panels).  Raises :class:`NotAttainable` like ``decompose``."""
    t0 = time.perf_counter()
    c = inst.type_counts.astype(np.float64)
    walk = face_walk(inst, point, max_steps=max_steps, progress=progress, objective=objective)
    stats: dict = {"walk_steps": walk.steps, "walk_mips": walk.mips, "walk_mip_seconds": round(walk.mip_seconds, 3),
                   "walk_rest_mass": walk.mass, "walk_panels_by": dict(walk.how), "iterations": 0, "heuristic_rounds": 0}
    panels = walk.panels  # sparse: at most k entries a panel (29,000 dense panels of 29,000 types: 6.7 GB)
    del walk.rows
    probs = np.array(walk.weights, dtype=np.float64)
    if walk.mass > 0 and (len(probs) == 0 or _shortfall(inst, pi, panels, probs / probs.sum()) > ABS_DONE):
        stats["walk_stuck"] = walk.stuck
        try:
            if walk.mass < REST_CG_MASS:  # the remainder carries the target's error / mass
                raise NotAttainable(f"remainder of mass {walk.mass:.2g} too small to decompose alone")
            rest, q, st = decompose(inst, np.clip(walk.rest / c, 0.0, 1.0), progress=progress)
            panels = SparsePanels.from_rows([*panels.rows(), *sparse_rows(rest)], inst.n_types)
            probs = np.concatenate([probs, walk.mass * q])
            stats["fallback"] = "column generation for the remainder"
        except NotAttainable as exc:
            if progress:
                progress(f"{exc}; column generation for the whole target", 0.5)
            # the master starts from the walk's panels: a reweighting may already reach pi
            dense, probs, st = decompose(inst, pi, initial=list(panels), progress=progress)
            panels = SparsePanels.from_dense(dense, inst.n_types)
            stats["fallback"] = "column generation for the whole target"
        stats.update(iterations=st["iterations"], heuristic_rounds=st["heuristic_rounds"],
                     cg_ip_solves=st["ip_solves"])
    # merge repeated panels, drop empty weights
    merged: dict[bytes, int] = {}
    keep_p, keep_q = [], []
    for (t, n), q in zip(panels.rows(), probs):
        if q <= 0.0:
            continue
        key = row_key(t, n)
        if key in merged:
            keep_q[merged[key]] += q
        else:
            merged[key] = len(keep_p)
            keep_p.append((t, n))
            keep_q.append(q)
    panels = SparsePanels.from_rows(keep_p, inst.n_types)
    del keep_p, merged
    probs = np.array(keep_q) / sum(keep_q)
    bad = [i for i, (t, n) in enumerate(panels.rows()) if not inst.check_sparse_panel(t, n)]
    if bad:  # cannot happen (MIP solutions are checked); guards the claim that every panel is valid
        raise NotAttainable(f"{len(bad)} panels of the decomposition break a quota")
    short = _shortfall(inst, pi, panels, probs)
    if short > ABS_ACCEPT:
        raise NotAttainable(f"decomposition misses the target by {short:.3g}")
    stats.update(max_shortfall=short, panels_generated=len(panels), seconds=time.perf_counter() - t0)
    return panels, probs, stats
