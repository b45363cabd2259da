"""LEXIMIN / MAXIMIN by column generation over volunteer types (HiGHS LP + exact HiGHS MIP).

Stage s of LEXIMIN solves (over the panels generated so far, as type-count vectors ``x``;
``a_{P,t} = x_{P,t} / c_t`` is the probability a member of type t has when panel P is drawn)

    max z   s.t.  sum_P p_P a_{P,t} >= z       (t not yet fixed)
                  sum_P p_P a_{P,t} >= f_t     (t fixed in an earlier stage)
                  sum_P p_P = 1, p >= 0

in its dual form (one row per panel, so new panels are new rows and the dual simplex warm
starts):  min yhat - sum_fixed f_t y_t  s.t.  sum_t a_{P,t} y_t <= yhat,  sum_unfixed y_t = 1,
y >= 0.  Pricing: the exact IP  max_x sum_t (y_t / c_t) x_t  over quota-feasible panels.  When
its proven bound is <= yhat + eps the stage optimum z is certified (the true optimum lies in
[z, z + eps]).  Types with positive dual weight are at z in *every* optimal solution
(complementary slackness) and are fixed; at least one is fixed per stage.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

import highspy
import numpy as np

from .highs_util import INF, PanelOracle, new_highs
from .local_search import SwapSearch
from .model import Instance, SortitionInputError

Progress = Callable[[str, float], None]  # (message, fraction done in [0, 1])

LP_TOL = 1e-9
LP_STRATEGY = 4  # primal simplex: new columns keep the basis primal feasible
EPS_PRICE = 1e-8  # reduced-cost tolerance of the column generation
EPS_FIX = 1e-9  # dual weight above which a type is fixed
FIX_SLACK = 1e-9  # fixed levels are relaxed by this much to stay numerically feasible
CAP_PENALTY = 1e3  # objective cost of exceeding the cap in the master (GOLDILOCKS)


@dataclass
class TypeDistribution:
    """A distribution over panels given as type-count vectors."""

    # (m, T) int64 counts per type, or sparse.SparsePanels (the face walk's: types and counts, <= k entries a
    # panel) that stands in for that array (rows, w @ panels, np.asarray)
    panels: Any
    probs: np.ndarray  # (m,) float, sums to 1
    stats: dict = field(default_factory=dict)
    # per level of the relaxed leximin: its value and the dual weights that prove it (see
    # relaxation.relaxed_leximin); None when the column generation ran
    certificate: list[dict] | None = None
    cap: float | None = None  # GOLDILOCKS: every probability at most this (the certificate holds under it)
    # the whole-population option: the leximin is of weights_t * p_t (per type; the certificate's levels
    # are in those units)
    weights: np.ndarray | None = None

    def type_probabilities(self, inst: Instance) -> np.ndarray:
        return (self.probs @ self.panels) / inst.type_counts


class _Master:
    """Restricted master LP in primal form: columns = panels (+ z), rows = types (+ convexity).

    The basis has only T+1 rows however many panels are generated; new panels are new columns
    (primal simplex warm start), fixing a type turns its row into ``>= f_t``.
    """

    def __init__(self, inst: Instance, cap: float | None = None, weights: np.ndarray | None = None):
        self.inst = inst
        T = inst.n_types
        self.cap = cap
        self.T = T
        # rows in units of weights_t * p_t (the whole-population option; never with a cap)
        self.c = inst.type_counts.astype(np.float64) / (1.0 if weights is None else weights)
        h = new_highs()
        h.setOptionValue("primal_feasibility_tolerance", LP_TOL)
        h.setOptionValue("dual_feasibility_tolerance", LP_TOL)
        h.setOptionValue("simplex_strategy", LP_STRATEGY)
        h.changeObjectiveSense(highspy.ObjSense.kMaximize)
        # rows 0..T-1: sum_P a_{P,t} p_P - z >= 0 ; row T: sum_P p_P = 1
        lo = np.zeros(T + 1)
        hi = np.full(T + 1, INF)
        lo[T] = hi[T] = 1.0
        h.addRows(T + 1, lo, hi, 0, np.zeros(T + 1, dtype=np.int32), np.zeros(0, dtype=np.int32),
                  np.zeros(0))
        # column 0: z (free, cost 1)
        h.addCol(1.0, -INF, INF, T, np.arange(T, dtype=np.int32), -np.ones(T))
        if cap is not None:
            # rows T+1..2T: sum_P a_{P,t} p_P - s <= cap; column 1: the excess s >= 0, priced at
            # CAP_PENALTY (the cap stays feasible while the first panels cannot meet it yet)
            h.addRows(T, np.full(T, -INF), np.full(T, float(cap)), 0, np.zeros(T, dtype=np.int32),
                      np.zeros(0, dtype=np.int32), np.zeros(0))
            h.addCol(-CAP_PENALTY, 0.0, INF, T, np.arange(T + 1, 2 * T + 1, dtype=np.int32), -np.ones(T))
        self.n_aux = 1 if cap is None else 2  # columns before the panels
        self.h = h
        self.n_panels = 0
        self.keys: set[bytes] = set()
        self.panels: list[np.ndarray] = []
        self._mat = np.zeros((64, T), dtype=np.float64)
        self.unfixed = np.ones(T, dtype=bool)
        self.f = np.zeros(T)  # fixed levels (0 for unfixed types)

    def matrix(self) -> np.ndarray:
        return self._mat[: self.n_panels]

    def add_panels(self, xs: list[np.ndarray]) -> int:
        T = self.T
        starts, idx, vals = [], [], []
        added = 0
        for x in xs:
            key = np.asarray(x, dtype=np.int64).tobytes()
            if key in self.keys:
                continue
            self.keys.add(key)
            self.panels.append(np.asarray(x, dtype=np.int64))
            m = len(self.panels)
            if m > self._mat.shape[0]:
                self._mat = np.vstack([self._mat, np.zeros_like(self._mat)])
            self._mat[m - 1] = x
            nz = np.nonzero(x)[0]
            starts.append(len(idx))
            idx.extend(nz.tolist())
            vals.extend((x[nz] / self.c[nz]).tolist())
            if self.cap is not None:
                idx.extend((nz + T + 1).tolist())
                vals.extend((x[nz] / self.c[nz]).tolist())
            idx.append(T)
            vals.append(1.0)
            added += 1
        if added:
            self.h.addCols(added, np.zeros(added), np.zeros(added), np.full(added, INF), len(idx),
                           np.array(starts, dtype=np.int32), np.array(idx, dtype=np.int32),
                           np.array(vals, dtype=np.float64))
            self.n_panels += added
        return added

    def prune(self, w: np.ndarray, yhat: float, keep: int) -> int:
        """Drop non-basic panels with the most negative reduced cost, keeping ``keep`` panels."""
        m = self.n_panels
        if m <= keep:
            return 0
        p = np.zeros(m)
        p[: len(self._col) - self.n_aux] = self._col[self.n_aux:]
        rc = self.matrix() @ w - yhat
        rc = np.where(p > 1e-12, np.inf, rc)
        order = np.argsort(-rc)
        drop = np.sort(order[keep:])
        drop = drop[np.isfinite(rc[drop])]
        if len(drop) == 0:
            return 0
        self.h.deleteCols(len(drop), (drop + self.n_aux).astype(np.int32))
        mask = np.ones(m, dtype=bool)
        mask[drop] = False
        for i in drop:
            self.keys.discard(self.panels[i].tobytes())
        self.panels = [x for x, k in zip(self.panels, mask) if k]
        mat = self.matrix()[mask]
        self._mat = np.zeros((max(64, 2 * len(mat)), self.T))
        self._mat[: len(mat)] = mat
        self.n_panels = len(self.panels)
        self._col = np.concatenate([self._col[: self.n_aux], p[mask]])
        return len(drop)

    def fix(self, types: np.ndarray, values: np.ndarray) -> None:
        h = self.h
        for t, v in zip(types, values):
            h.changeCoeff(int(t), 0, 0.0)
            h.changeRowBounds(int(t), float(v), INF)
        self.unfixed[np.asarray(types, dtype=np.int64)] = False
        self.f[np.asarray(types, dtype=np.int64)] = np.asarray(values, dtype=np.float64)

    def solve(self) -> tuple[float, np.ndarray, float]:
        h = self.h
        h.run()
        st = h.getModelStatus()
        if st != highspy.HighsModelStatus.kOptimal:
            h.clearSolver()
            h.run()
            st = h.getModelStatus()
            if st != highspy.HighsModelStatus.kOptimal:
                raise RuntimeError(f"master LP ended with status {h.modelStatusToString(st)}")
        sol = h.getSolution()
        rd = np.array(sol.row_dual)
        s = rd[: self.T][self.unfixed].sum()
        sign = 1.0 if s >= 0 else -1.0
        y = np.clip(sign * rd[: self.T], 0.0, None)
        obj = float(h.getInfo().objective_function_value)
        self._col = np.array(sol.col_value)
        if self.cap is not None:
            # the cap rows' duals weigh against the capped types (sign * dual <= 0); yhat: the value
            # of the basic panels under the combined weights (all equal at an optimum)
            y = y + np.clip(sign * rd[self.T + 1: 2 * self.T + 1], None, 0.0)
            basic = np.nonzero(self._col[self.n_aux:] > 1e-12)[0]
            vals = self.matrix()[basic] @ (y / self.c)
            return float(self._col[0]), y, float(vals.max()) if len(vals) else 0.0
        # strong duality: obj = yhat - sum_fixed f_t y_t (the convexity dual read from HiGHS
        # had the wrong sign; this is the value every basic panel attains under y)
        yhat = obj + float(self.f[~self.unfixed] @ y[~self.unfixed])
        return obj, y, yhat

    def excess(self) -> float:
        """With a cap: how far the master's distribution exceeds it (0 when it meets it)."""
        return float(self._col[1]) if self.cap is not None else 0.0

    def primal(self) -> np.ndarray:
        p = np.clip(self._col[self.n_aux:], 0.0, None)
        s = p.sum()
        return p / s if s > 0 else p


def _initial_panels(inst: Instance, oracle: PanelOracle, progress: Progress | None) -> tuple[list[np.ndarray], np.ndarray]:
    """Panels covering every selectable type; returns (panels, mask of unselectable types).

    Repeatedly look for a panel with as many not-yet-covered types as possible (weighted so
    that small types count fully): first by swap search from the last panel, and when that
    adds nothing new by the exact IP.  When the IP optimum covers nothing new, the remaining
    types can never be selected.
    """
    T = inst.n_types
    covered = np.zeros(T, dtype=bool)
    panels: list[np.ndarray] = []
    c = inst.type_counts.astype(np.float64)
    rng = np.random.default_rng(12345)
    search = SwapSearch(inst)
    while not covered.all():
        w = np.where(covered, 0.0, 1.0) * (1.0 + 1e-3 * rng.random(T))
        w = w / np.minimum(c, float(inst.k))
        w += 1e-6 * rng.random(T) / c
        x = None
        if panels:
            x = search.improve(panels[-1], w)
            if not ((x > 0) & ~covered).any():
                x = None
        if x is None:
            val, x, _ = oracle.solve(w)
            if x is None:
                raise RuntimeError("no panel satisfies the quotas")
        new = (x > 0) & ~covered
        if not new.any():
            break
        panels.append(x)
        covered |= x > 0
        if progress:
            progress(f"initial panels: {covered.sum()}/{T} types covered", 0.0)
    return panels, ~covered


def _heuristic_columns(master: "_Master", search: SwapSearch, w: np.ndarray, n: int,
                       yhat: float, diversify: int = 0, damp: float = 0.5) -> list[np.ndarray]:
    """Improving panels for weights ``w``: swap search from the ``n`` best known panels, then
    ``diversify`` rounds that damp the weights of types already used so that the next panel
    covers other types (only panels with positive reduced cost under ``w`` are returned)."""
    vals = master.matrix() @ w
    n = min(n, len(vals))
    top = np.argpartition(-vals, n - 1)[:n] if n < len(vals) else np.arange(len(vals))
    out = []
    seen = set()
    used = np.zeros(len(w))
    for idx in top:
        x2 = search.improve(master.panels[idx], w)
        key = x2.tobytes()
        if key not in seen and float(w @ x2) > yhat + EPS_PRICE:
            seen.add(key)
            out.append(x2)
            used += x2
    if not out:
        return out
    wd = w.copy()
    start = out[0]
    for _ in range(diversify):
        wd = w * damp ** (used / np.maximum(1, master.c))
        x2 = search.improve(start, wd)
        x2 = search.improve(x2, w)
        key = x2.tobytes()
        if key in seen or float(w @ x2) <= yhat + EPS_PRICE:
            continue
        seen.add(key)
        out.append(x2)
        used += x2
    return out


def leximin_types_cg(
    inst: Instance,
    *,
    maximin_only: bool = False,
    n_heur_starts: int = 3,
    alpha: float = 0.0,
    diversify: int = 0,
    damp: float = 0.5,
    prune_at: float = 8.0,
    prune_keep: float = 4.0,
    progress: Progress | None = None,
    oracle: PanelOracle | None = None,
    cap: float | None = None,
    weights: np.ndarray | None = None,
) -> TypeDistribution:
    """``cap`` (GOLDILOCKS): the leximin distribution among those with every probability at most
    ``cap``; SortitionInputError when real panels cannot keep everyone below it.  ``weights``
    (the whole-population option): the leximin of ``weights_t * p_t``."""
    t_start = time.perf_counter()
    T = inst.n_types
    oracle = oracle or PanelOracle(inst)
    panels, unselectable = _initial_panels(inst, oracle, progress)
    if not panels:
        raise RuntimeError("no panel satisfies the quotas")
    if cap is not None and weights is not None:
        raise SortitionInputError("a cap and end-to-end weights cannot be combined")
    master = _Master(inst, cap, weights)
    master.add_panels(panels)
    fixed = np.full(T, np.nan)
    if unselectable.any():
        ts = np.nonzero(unselectable)[0]
        fixed[ts] = 0.0
        master.fix(ts, np.zeros(len(ts)))
    stages = 0
    lp_iters = 0
    heur_hits = 0
    search = SwapSearch(inst)
    c = master.c  # the pricing weights are the duals over these
    levels: list[float] = []
    while np.isnan(fixed).any():
        stages += 1
        y_prev = None
        while True:
            obj, y, yhat = master.solve()
            lp_iters += 1
            w = y / c
            if n_heur_starts:
                ys = y if (y_prev is None or alpha <= 0) else alpha * y_prev + (1 - alpha) * y
                y_prev = ys
                cands = _heuristic_columns(master, search, w, n_heur_starts, yhat, diversify, damp)
                if cands and master.add_panels(cands) > 0:
                    heur_hits += 1
                    if master.n_panels > prune_at * T + 50:
                        master.prune(w, yhat, int(prune_keep * T + 25))
                    continue
            val, x, bound = oracle.solve(w)
            if bound <= yhat + EPS_PRICE:
                break
            extra = [x2 for x2 in oracle.saved() if float(w @ x2) > yhat + EPS_PRICE
                     and inst.check_type_panel(x2)]
            if master.add_panels([x] + extra) == 0:
                # the best panel is already present: LP tolerance issue; accept
                break
        z = obj
        if master.excess() > 1e-7:
            raise SortitionInputError(f"no distribution over panels keeps every chance at or below {cap:.6f}: the "
                                      f"best one exceeds it by {master.excess():.2g}; raise the cap")
        probs = master.primal()
        unfixed = np.isnan(fixed)
        cand = unfixed & (y > EPS_FIX)
        if not cand.any():
            cand = np.zeros(T, dtype=bool)
            cand[np.argmax(np.where(unfixed, y, -1.0))] = True
        ts = np.nonzero(cand)[0]
        val_fix = max(0.0, z - FIX_SLACK)
        fixed[ts] = val_fix
        levels.append(z)
        master.fix(ts, np.full(len(ts), val_fix))
        if progress:
            done = 1.0 - np.isnan(fixed).sum() / T
            progress(f"stage {stages}: level {z:.6f}, {int((~np.isnan(fixed)).sum())}/{T} types fixed, "
                     f"{master.n_panels} panels", done)
        if maximin_only:
            break
    P = np.array(master.panels, dtype=np.int64)
    keep = probs > 1e-12
    dist = TypeDistribution(P[keep], probs[keep] / probs[keep].sum())
    dist.stats = {
        "stages": stages,
        "lp_solves": lp_iters,
        "ip_solves": oracle.calls,
        "heuristic_columns": heur_hits,
        "ip_seconds": round(oracle.seconds, 3),
        "panels_generated": master.n_panels,
        "types": T,
        "levels": [round(v, 8) for v in levels],
        "seconds": time.perf_counter() - t_start,
    }
    return dist


def leximin_types(
    inst: Instance,
    *,
    maximin_only: bool = False,
    progress: Progress | None = None,
    method: str = "auto",
    relax_slacks: tuple[float, ...] | None = None,
    cap: float | None = None,
    weights: np.ndarray | None = None,
    **cg_options,
) -> TypeDistribution:
    """LEXIMIN (or MAXIMIN) over types.

    ``method="auto"``: the relaxed leximin vector (compact LPs) decomposed into real panels by
    the face walk (facewalk.py; column generation of relaxation.py for what the walk leaves);
    if it is not attainable, or the relaxation's LPs fail even with the fixed levels backed off
    (``relax_slacks``, default ``relaxation.BACKOFF_SLACKS``), the stage-wise column generation
    (``leximin_types_cg``), which is exact in every case.  ``method="cg"`` runs the latter only.
    For MAXIMIN the leximin distribution is returned (it maximises the minimum too).
    ``cap`` (GOLDILOCKS): every probability at most ``cap``, on every path (the result's
    ``cap``; its certificate holds among the capped distributions).
    ``weights`` (the whole-population option, population.py): the leximin of ``weights_t * p_t``
    (the end-to-end chances up to a constant) on every path.
    """
    from .facewalk import decompose_walk
    from .relaxation import ABS_ACCEPT, BACKOFF_SLACKS, NotAttainable, relaxed_leximin

    if method == "cg":
        dist = leximin_types_cg(inst, maximin_only=maximin_only, progress=progress, cap=cap, weights=weights,
                                **cg_options)
        dist.cap = cap
        return dist
    t_start = time.perf_counter()
    rstats: dict = {}
    certificate: list[dict] = []
    relax_progress = None if progress is None else (lambda msg, frac: progress(msg, 0.05 * frac))
    try:
        pi, levels, point = relaxed_leximin(inst, with_point=True, progress=relax_progress,
                                            slacks=relax_slacks or BACKOFF_SLACKS, stats=rstats,
                                            certificate=certificate, cap=cap, weights=weights)
        t_relax = time.perf_counter() - t_start
        if progress:
            progress(f"relaxed leximin: {len(levels)} levels, minimum {levels[0]:.6f}; decomposing", 0.05)
        panels, probs, dstats = decompose_walk(inst, pi, point, progress=progress)
        if cap is not None:  # the walk meets the target point exactly; the column generation may overshoot
            over = float(((probs @ panels) / inst.type_counts).max()) - cap
            if over > ABS_ACCEPT:
                raise NotAttainable(f"the decomposition exceeds the cap by {over:.3g}")
    except NotAttainable as exc:
        if progress:
            progress(f"relaxed leximin not attainable ({exc}); exact column generation", 0.1)
        dist = leximin_types_cg(inst, maximin_only=maximin_only, progress=progress, cap=cap, weights=weights,
                                **cg_options)
        dist.cap = cap
        dist.stats["method"] = f"column generation (relaxation: {exc})"
        dist.stats["seconds"] = time.perf_counter() - t_start
        dist.stats.update(rstats)
        return dist
    dist = TypeDistribution(panels, probs, certificate=certificate, cap=cap, weights=weights)
    method_name = "relaxation + face walk"
    if "fallback" in dstats:
        method_name += " + " + dstats["fallback"]
    dist.stats = {
        "method": method_name,
        "stages": len(levels),
        "levels": [round(v, 8) for v in levels],
        "relaxation_seconds": round(t_relax, 3),
        **rstats,
        **{key: dstats[key] for key in ("walk_steps", "walk_mips", "walk_mip_seconds", "walk_rest_mass",
                                        "walk_panels_by", "max_shortfall") if key in dstats},
        "lp_solves": dstats["iterations"],
        "ip_solves": dstats["walk_mips"] + dstats.get("cg_ip_solves", 0),
        "heuristic_columns": dstats["heuristic_rounds"],
        "panels_generated": dstats["panels_generated"],
        "types": inst.n_types,
        "seconds": time.perf_counter() - t_start,
    }
    return dist
