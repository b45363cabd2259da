"""Transparent final draw: round a distribution into a uniform lottery over m panels.

Flanigan, Kehne & Procaccia (NeurIPS 2021): replace the distribution {p_P} by m panels (with
repetition) drawn uniformly, e.g. with numbered balls, choosing how often each panel appears so
that every volunteer's probability moves as little as possible.

1. Each panel gets ``floor(m p_P)`` or ``ceil(m p_P)`` tickets, total m (start: systematic
   rounding of the cumulative sums, which keeps every prefix within one ticket).
2. A HiGHS MIP then chooses floor/ceil per panel to minimise the largest change of a type's
   probability ``|sum_P n_P x_{P,t} / (m c_t) - pi_t|`` (time-limited; never worse than 1.).
3. The m type-count panels are made concrete by a round robin within each type (members are
   taken in input order, cyclically, slot after slot), so the members of a type appear within
   one ticket of each other.  The reported deviation is the exact per-volunteer figure.
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np

from .highs_util import INF, new_highs
from .leximin import TypeDistribution
from .model import Instance


@dataclass
class Lottery:
    panels: list[list[int]]  # m concrete panels (row indices, sorted), uniform
    tickets: np.ndarray  # tickets per type-panel of the source distribution
    max_deviation: float  # max over volunteers |lottery probability - target probability|
    type_deviation: float  # the same at type level (before the round robin)

    @property
    def m(self) -> int:
        return len(self.panels)

    def probabilities(self, n: int) -> np.ndarray:
        cnt = np.zeros(n)
        for p in self.panels:
            cnt[p] += 1
        return cnt / len(self.panels)


def _systematic(p: np.ndarray, m: int) -> np.ndarray:
    cum = np.concatenate([[0.0], np.cumsum(p)]) * m
    r = np.floor(cum + 0.5 - 1e-9)
    r[-1] = m
    n = np.diff(r).astype(np.int64)
    return np.maximum(n, 0)


def round_types(inst: Instance, dist: TypeDistribution, m: int, time_limit: float = 10.0) -> tuple[np.ndarray, float]:
    X = dist.panels.astype(np.float64)
    p = dist.probs
    c = inst.type_counts.astype(np.float64)
    target = (p @ X) / c
    A = X / c  # (P, T)
    base = np.floor(m * p + 1e-12)
    frac = m * p - base
    n0 = _systematic(p, m)

    def dev(n):
        return float(np.max(np.abs((n @ A) / m - target)))

    best, best_dev = n0, dev(n0)
    F = np.nonzero(frac > 1e-9)[0]
    need = int(round(m - base.sum()))
    if len(F) == 0 or need < 0:
        return best, best_dev
    h = new_highs()
    h.setOptionValue("time_limit", float(time_limit))
    h.setOptionValue("mip_rel_gap", 1e-6)
    nb = len(F)
    # columns: b_f (binary, ceil if 1), delta
    h.addVars(nb + 1, np.zeros(nb + 1), np.concatenate([np.ones(nb), [INF]]))
    h.changeColsIntegrality(nb, np.arange(nb, dtype=np.int32), np.full(nb, highspy.HighsVarType.kInteger, dtype=np.uint8))
    cost = np.zeros(nb + 1)
    cost[nb] = 1.0
    h.changeColsCost(nb + 1, np.arange(nb + 1, dtype=np.int32), cost)
    h.addRow(need, need, nb, np.arange(nb, dtype=np.int32), np.ones(nb))
    basedev = (base @ A) / m - target  # (T,)
    for t in np.nonzero(A[F].sum(axis=0) > 0)[0]:
        coef = A[F, t] / m
        nz = np.nonzero(coef)[0]
        idx = np.concatenate([nz, [nb]]).astype(np.int32)
        # basedev_t + sum coef b - delta <= 0  and  basedev_t + sum coef b + delta >= 0
        h.addRow(-INF, -basedev[t], len(idx), idx, np.concatenate([coef[nz], [-1.0]]))
        h.addRow(-basedev[t], INF, len(idx), idx, np.concatenate([coef[nz], [1.0]]))
    # warm start from the systematic rounding when it is of floor/ceil form
    try:
        b0 = (n0[F] - base[F]).astype(float)
        if np.all((b0 == 0) | (b0 == 1)):
            sol = highspy.HighsSolution()
            sol.col_value = list(np.concatenate([b0, [best_dev]]))
            sol.value_valid = True
            h.setSolution(sol)
    except Exception:  # pragma: no cover - warm start is only a speed-up
        pass
    h.run()
    try:
        v = np.array(h.getSolution().col_value)
        if len(v) == nb + 1:
            n = base.copy()
            n[F] += np.rint(v[:nb])
            n = n.astype(np.int64)
            if n.sum() == m and np.all(n >= 0):
                d = dev(n)
                if d < best_dev:
                    best, best_dev = n, d
    except Exception:  # pragma: no cover
        pass
    return best, best_dev


def make_lottery(inst: Instance, dist: TypeDistribution, m: int = 1000, time_limit: float = 5.0) -> Lottery:
    if m <= 0:
        raise ValueError("m must be positive")
    tickets, tdev = round_types(inst, dist, m, time_limit)
    ptr = np.zeros(inst.n_types, dtype=np.int64)
    panels: list[list[int]] = []
    for x, cnt in zip(dist.panels, tickets):
        for _ in range(int(cnt)):
            members: list[int] = []
            for t in np.nonzero(x)[0]:
                mem = inst.type_members[t]
                c = len(mem)
                for r in range(int(x[t])):
                    members.append(mem[(ptr[t] + r) % c])
                ptr[t] = (ptr[t] + x[t]) % c
            panels.append(sorted(members))
    target = dist.type_probabilities(inst)[inst.type_of]
    cnt = np.zeros(inst.n)
    for pnl in panels:
        cnt[pnl] += 1
    dev = float(np.max(np.abs(cnt / m - target)))
    return Lottery(panels, tickets, dev, tdev)
