"""Transparent final draw: round a distribution into a uniform lottery over m panels.

Flanigan, Kehne & Procaccia (NeurIPS 2021): replace the distribution {p_P} by m panels (with
repetition) drawn uniformly, e.g. with numbered balls, choosing how often each panel appears so
that every volunteer's probability moves as little as possible.

1. Each panel gets ``floor(m p_P)`` or ``ceil(m p_P)`` tickets, total m (start: systematic
   rounding of the cumulative sums, which keeps every prefix within one ticket).
2. A deterministic local search then moves tickets between panels (a ceil becomes a floor and a
   floor a ceil) while that lowers the largest change of a type's probability
   ``|sum_P n_P x_{P,t} / (m c_t) - pi_t|`` (then the sum of squares of the changes): the type
   furthest off gives the candidates (panels holding it on one side, panels holding the type
   furthest the other way on the other), at most ``ROUNDING_ROUNDS`` moves.  No solver and no
   clock, so a replay on any machine at any load gives the same tickets (never worse than 1.).
3. The m type-count panels are made concrete by a round robin within each type (members are
   taken in input order, cyclically, slot after slot), so the members of a type appear within
   one ticket of each other.  The reported deviation is the exact per-volunteer figure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .leximin import TypeDistribution
from .model import Instance
from .sparse import SparsePanels, sparse_row, sparse_rows

# The rounding is part of what a replay recomputes (replacements with --recompute, the service's
# retried draw jobs), so it must not depend on the machine's speed: a bounded number of moves, no
# clock.  (It was a HiGHS MIP with a 5 s wall-clock limit: on a 600-volunteer pool its root node
# alone needs about 60 s of CPU, so what it returned depended on how far it got in 5 s.)
ROUNDING_ROUNDS = 2000  # at most this many ticket moves
CANDIDATES = 12  # panels tried on each side of a move
OPPOSITE = 4  # types furthest the other way whose panels are tried


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


def _type_counts_of(dist: TypeDistribution, tickets: np.ndarray) -> np.ndarray:
    """``sum_P tickets_P x_P`` (type counts over all tickets; integers, exact on every machine)."""
    if isinstance(dist.panels, SparsePanels):  # integer counts: the float sums are exact
        return np.asarray(tickets, dtype=np.float64) @ dist.panels
    return (np.asarray(tickets, dtype=np.int64) @ np.asarray(dist.panels, dtype=np.int64)).astype(np.float64)


def _deviation(inst: Instance, dist: TypeDistribution, tickets: np.ndarray, m: int, target: np.ndarray) -> float:
    return float(np.max(np.abs(_type_counts_of(dist, tickets) / (m * inst.type_counts) - target)))


def _systematic(p: np.ndarray, m: int) -> np.ndarray:
    cum = np.concatenate([[0.0], np.cumsum(p)]) * m
    r = np.floor(cum + 0.5 - 1e-9)
    r[-1] = m
    n = np.diff(r).astype(np.int64)
    return np.maximum(n, 0)


def _panel_rows(inst: Instance, dist: TypeDistribution, rows: np.ndarray, m: int
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR of ``x_{P,t} / (m c_t)`` over the panels ``rows``: (indptr, type indices, values)."""
    c = inst.type_counts.astype(np.float64)
    P = dist.panels
    sp = [P.row(int(r)) if isinstance(P, SparsePanels) else sparse_row(P[r]) for r in rows]
    ptr = np.concatenate([[0], np.cumsum([len(i) for i, _ in sp])]).astype(np.int64)
    ind = np.concatenate([i for i, _ in sp]).astype(np.int64) if sp else np.zeros(0, dtype=np.int64)
    val = np.concatenate([v for _, v in sp]).astype(np.float64) if sp else np.zeros(0)
    return ptr, ind, val / (m * c[ind])


def round_types(inst: Instance, dist: TypeDistribution, m: int, rounds: int = ROUNDING_ROUNDS
                ) -> tuple[np.ndarray, float]:
    """Tickets per panel (``floor`` or ``ceil`` of ``m p_P``, total m) and the largest change of a
    type's probability.  Deterministic: the same inputs give the same tickets on any machine at
    any load (no solver, no clock; at most ``rounds`` moves)."""
    p = dist.probs
    target = dist.type_probabilities(inst)
    base = np.floor(m * p + 1e-12)
    frac = m * p - base
    n0 = _systematic(p, m)
    F = np.nonzero(frac > 1e-9)[0]
    need = int(round(m - base.sum()))
    if len(F) == 0 or need < 0 or need > len(F):
        return n0, _deviation(inst, dist, n0, m, target)
    on = (n0[F] - base[F]).astype(np.int64)
    if not np.all((on == 0) | (on == 1)) or int(on.sum()) != need:
        on = np.zeros(len(F), dtype=np.int64)
        on[np.argsort(-frac[F], kind="stable")[:need]] = 1
    on = on.astype(bool)
    ptr, ind, val = _panel_rows(inst, dist, F, m)
    # the same matrix by column (type -> the rows of F holding it)
    order = np.argsort(ind, kind="stable")
    row_of = np.repeat(np.arange(len(F)), np.diff(ptr))
    col_rows = row_of[order]
    col_val = val[order]
    col_ptr = np.concatenate([[0], np.cumsum(np.bincount(ind, minlength=inst.n_types))])
    nb = base.copy()
    nb[F] += on
    d = _type_counts_of(dist, nb) / (m * inst.type_counts) - target  # deviation per type
    width = 2 * int(inst.k) + 2
    for _ in range(rounds):
        a = np.abs(d)
        top = np.argsort(-a, kind="stable")[:width]
        t = int(top[0])
        cur = (a[t], float(d @ d))
        if cur[0] <= 0.0:
            break
        # a type above its target: a ticket moves from a panel holding it to one holding one of the
        # types furthest below; below: the other way round
        opp = np.argsort(d if d[t] > 0 else -d, kind="stable")[:OPPOSITE]
        rs, vs = col_rows[col_ptr[t]:col_ptr[t + 1]], col_val[col_ptr[t]:col_ptr[t + 1]]
        side = on[rs] if d[t] > 0 else ~on[rs]
        mine = rs[side][np.argsort(-vs[side], kind="stable")[:CANDIDATES]]
        other = []
        for t2 in opp:
            rs, vs = col_rows[col_ptr[t2]:col_ptr[t2 + 1]], col_val[col_ptr[t2]:col_ptr[t2 + 1]]
            side = ~on[rs] if d[t] > 0 else on[rs]
            other.extend(rs[side][np.argsort(-vs[side], kind="stable")[:CANDIDATES]].tolist())
        other = np.array(list(dict.fromkeys(other)), dtype=np.int64)
        rem, add = (mine, other) if d[t] > 0 else (other, mine)
        best, move = cur, None
        for r in rem:
            for s in add:
                i1, i2 = ind[ptr[r]:ptr[r + 1]], ind[ptr[s]:ptr[s + 1]]
                touched = np.concatenate([i1, i2])
                dt = np.zeros(len(touched))
                dt[:len(i1)] -= val[ptr[r]:ptr[r + 1]]
                dt[len(i1):] += val[ptr[s]:ptr[s + 1]]
                u, inv = np.unique(touched, return_inverse=True)
                du = np.zeros(len(u))
                np.add.at(du, inv, dt)
                nu = d[u] + du
                rest = top[~np.isin(top, u)]
                mx = max(float(np.max(np.abs(nu))), float(a[rest[0]]) if len(rest) else 0.0)
                sq = cur[1] + float(nu @ nu - d[u] @ d[u])
                if (mx, sq) < best and (mx < cur[0] - 1e-15 or (mx <= cur[0] and sq < cur[1] - 1e-15)):
                    best, move = (mx, sq), (r, s, u, du)
        if move is None:
            break
        r, s, u, du = move
        on[r], on[s] = False, True
        d[u] += du
    n = base.copy()
    n[F] += on
    n = n.astype(np.int64)
    return n, _deviation(inst, dist, n, m, target)


def make_lottery(inst: Instance, dist: TypeDistribution, m: int = 1000, rounds: int = ROUNDING_ROUNDS) -> Lottery:
    if m <= 0:
        raise ValueError("m must be positive")
    tickets, tdev = round_types(inst, dist, m, rounds)
    ptr = np.zeros(inst.n_types, dtype=np.int64)
    panels: list[list[int]] = []
    for (ts, xs), cnt in zip(sparse_rows(dist.panels), tickets):
        for _ in range(int(cnt)):
            members: list[int] = []
            for t, xt in zip(ts.tolist(), xs.tolist()):
                mem = inst.type_members[t]
                c = len(mem)
                for r in range(xt):
                    members.append(mem[(ptr[t] + r) % c])
                ptr[t] = (ptr[t] + xt) % c
            panels.append(sorted(members))
    target = dist.type_probabilities(inst)[inst.type_of]
    cnt = np.zeros(inst.n)
    for pnl in panels:
        cnt[pnl] += 1
    dev = float(np.max(np.abs(cnt / m - target)))
    return Lottery(panels, tickets, dev, tdev)
