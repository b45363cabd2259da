"""Cheap pricing heuristic: best-improvement swap local search over type-count panels.

A swap removes one member of type a and adds one of type b; it keeps the panel quota-feasible
iff every category where a and b differ has room (the a-value stays >= min, the b-value stays
<= max).  All swaps are evaluated at once with numpy.  Used before the exact IP in column
generation: when it finds an improving panel the IP is skipped; the IP is still what certifies
optimality at the end of every stage.
"""

from __future__ import annotations

import numpy as np

from .model import Instance


class SwapSearch:
    def __init__(self, inst: Instance):
        self.inst = inst
        A = inst.quota_matrix
        nq, T = A.shape
        # quota row of each (category, type), looked up by key: the quotas may come in any order
        qidx = {q.key: j for j, q in enumerate(inst.quotas)}
        self.q = np.array([[qidx[(c, fv[g])] for fv in inst.type_features]
                           for g, c in enumerate(inst.categories)], dtype=np.int64).reshape(-1, T)  # (G, T)
        self.cat_rows = [np.array([qidx[(c, v)] for v in inst.values[c]]) for c in inst.categories]
        # per-region quotas are not partitions of the types: the swaps do not see them, so a
        # result is checked against every row before it is used
        self.scoped = any(q.within is not None for q in inst.quotas)
        self.lo = inst.quota_lo
        self.hi = inst.quota_hi
        self.c = inst.type_counts
        self.A = A
        # household of a type (-1: none); shared-household types are single persons
        self.hh = np.full(T, -1, dtype=np.int64)
        for j, ts in enumerate(inst.households):
            self.hh[ts] = j
        self.has_hh = len(inst.households) > 0
        # same value matrices per category (G, T, T) would be too big for many types; compare
        # rows on the fly instead.

    def restrict(self, lo: np.ndarray, hi: np.ndarray, movable: np.ndarray) -> SwapSearch:
        """A copy that searches a face: quota bounds ``lo``/``hi`` (equal on tight rows) and only
        the types in ``movable`` may change."""
        other = SwapSearch.__new__(SwapSearch)
        other.__dict__.update(self.__dict__)
        other.lo = np.asarray(lo, dtype=np.float64)
        other.hi = np.asarray(hi, dtype=np.float64)
        other.movable = np.asarray(movable, dtype=bool)
        tight = other.lo == other.hi
        rng = np.random.default_rng(20210804)
        hrow = np.where(tight, rng.integers(1, 2**62, size=len(tight)), 0).astype(np.int64)
        other.htype = hrow[other.q].sum(axis=0)  # (T,) hash of a type's tight quota rows
        return other

    movable: np.ndarray | None = None
    htype: np.ndarray | None = None

    def improve(self, x: np.ndarray, w: np.ndarray, max_moves: int = 400, max_outs: int = 256,
                double: bool = False, trace: list | None = None) -> np.ndarray:
        """Best-improvement swaps; with ``double`` also pairs of swaps that keep the tight quota
        rows (needed on a face where most quotas are equalities)."""
        start_x = x.copy()
        x = x.copy()
        q, lo, hi, c = self.q, self.lo, self.hi, self.c
        s = self.A @ x
        mov = self.movable
        for _ in range(max_moves):
            ins = np.nonzero((x > 0) if mov is None else ((x > 0) & mov))[0]
            room = x < c
            if mov is not None:
                room &= mov
            if self.has_hh:
                occupied = np.zeros(len(self.hh) and (self.hh.max() + 1), dtype=bool)
                hh_in = self.hh[ins]
                occupied[hh_in[hh_in >= 0]] = True
                room &= ~((self.hh >= 0) & occupied[np.maximum(self.hh, 0)])
            outs = np.nonzero(room)[0]
            if len(ins) == 0 or len(outs) == 0:
                break
            if len(outs) > max_outs:  # only the most valuable candidates can give the best swap
                outs = outs[np.argpartition(-w[outs], max_outs - 1)[:max_outs]]
            if double and self.htype is not None:  # on a face: single and paired swaps at once
                if not self._face_move(x, s, w, ins, outs):
                    break
                if trace is not None:
                    trace.append(x.copy())
                continue
            gain = w[outs][None, :] - w[ins][:, None]
            if gain.max() <= 1e-12:
                break
            qi = q[:, ins]
            qo = q[:, outs]
            rem_ok = (s[qi] - 1 >= lo[qi])  # (G, |ins|)
            add_ok = (s[qo] + 1 <= hi[qo])  # (G, |outs|)
            # check the most valuable swaps first; fall back to all swaps when none is feasible
            flat = gain.ravel()
            npos = int((flat > 1e-12).sum())
            found = False
            if npos > 0:
                top = min(64, npos)
                cand = np.argpartition(-flat, top - 1)[:top]
                cand = cand[np.argsort(-flat[cand])]
                ia_c, ib_c = np.divmod(cand, len(outs))
                ok = np.all((qi[:, ia_c] == qo[:, ib_c]) | (rem_ok[:, ia_c] & add_ok[:, ib_c]), axis=0)
                if ok.any():
                    j = int(np.argmax(ok))
                    ia, ib = int(ia_c[j]), int(ib_c[j])
                    found = True
            if not found and npos > 64:
                same = qi[:, :, None] == qo[:, None, :]  # (G, |ins|, |outs|)
                ok = np.all(same | (rem_ok[:, :, None] & add_ok[:, None, :]), axis=0)
                g2 = np.where(ok, gain, -np.inf)
                j = int(np.argmax(g2))
                ia, ib = divmod(j, len(outs))
                found = g2[ia, ib] > 1e-12
            if found:
                a, b = ins[ia], outs[ib]
                x[a] -= 1
                x[b] += 1
                s[q[:, a]] -= 1
                s[q[:, b]] += 1
                if trace is not None:
                    trace.append(x.copy())
                continue
            if not double or not self._face_move(x, s, w, ins, outs):
                break
            if trace is not None:
                trace.append(x.copy())
        if self.scoped:
            if trace is not None:
                trace[:] = [y for y in trace if self._rows_ok(y)]
            if not self._rows_ok(x):
                return start_x
        return x

    def _rows_ok(self, x: np.ndarray) -> bool:
        s = self.A @ x
        return bool(np.all(s >= self.lo - 1e-9) and np.all(s <= self.hi + 1e-9))

    def _face_move(self, x, s, w, ins, outs, n_first: int = 128, n_second: int = 16,
                   n_outs: int = 128, n_pool: int = 4096, min_gain: float = 1e-12) -> bool:
        """Apply the best improving pair of swaps a->b, a2->b2 that keeps every tight quota row
        (hash of the tight rows of b - a + b2 - a2 is zero) and every other bound; False if none.

        Candidates: the ``n_first`` single swaps with the largest gain as first legs, each paired
        with the ``n_second`` best swaps of the matching hash; all checked at once with numpy."""
        q, lo, hi, c = self.q, self.lo, self.hi, self.c
        if self.has_hh:
            ins = ins[self.hh[ins] < 0]
            outs = outs[self.hh[outs] < 0]
        if len(ins) == 0 or len(outs) == 0:
            return False
        if len(outs) > n_outs:
            outs = outs[np.argpartition(-w[outs], n_outs - 1)[:n_outs]]
        la = np.repeat(ins, len(outs))
        lb = np.tile(outs, len(ins))
        g = w[lb] - w[la]
        g[la == lb] = -np.inf
        h = self.htype[lb] - self.htype[la]
        # single swaps that keep the tight rows (hash 0): check the other bounds exactly
        best_single, single = min_gain, None
        sc = np.nonzero((h == 0) & (g > min_gain))[0]
        if len(sc):
            a1, b1 = la[sc], lb[sc]
            ra, rb = q[:, a1], q[:, b1]
            diff = ra != rb
            ok1 = np.all(~diff | ((s[ra] - 1 >= lo[ra]) & (s[rb] + 1 <= hi[rb])), axis=0)
            if ok1.any():
                j = int(np.argmax(np.where(ok1, g[sc], -np.inf)))
                best_single, single = float(g[sc][j]), (a1[j], b1[j])
        # second legs: the n_pool best swaps, sorted by hash, best gain first within a hash
        pool = np.arange(len(g)) if len(g) <= n_pool else np.argpartition(-g, n_pool - 1)[:n_pool]
        pool = pool[np.isfinite(g[pool])]
        order = pool[np.lexsort((-g[pool], h[pool]))]
        hs = h[order]
        # first legs: the best few removals for every candidate b, then the best of those
        per_b = min(4, len(ins))
        G = g.reshape(len(ins), len(outs))
        rows = np.argpartition(-G, per_b - 1, axis=0)[:per_b] if per_b < len(ins) else \
            np.broadcast_to(np.arange(len(ins))[:, None], (len(ins), len(outs)))
        first = (rows * len(outs) + np.arange(len(outs))[None, :]).ravel()
        first = first[np.isfinite(g[first])]
        if len(first) > n_first:
            first = first[np.argpartition(-g[first], n_first - 1)[:n_first]]
        start = np.searchsorted(hs, -h[first], side="left")
        stop = np.searchsorted(hs, -h[first], side="right")
        cnt = np.minimum(stop - start, n_second)
        if cnt.sum() == 0:
            return self._apply(x, s, single)
        fi = np.repeat(first, cnt)
        offs = np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        sj = order[np.repeat(start, cnt) + offs]
        gain = g[fi] + g[sj]
        ok = gain > min_gain
        a, b, a2, b2 = la[fi], lb[fi], la[sj], lb[sj]
        ok &= (a2 != b) & (b2 != a)
        ok &= (a != a2) | (x[a] >= 2)
        ok &= (b != b2) | (x[b] + 2 <= c[b])
        ok &= gain > best_single
        if not ok.any():
            return self._apply(x, s, single)
        a, b, a2, b2, gain = a[ok], b[ok], a2[ok], b2[ok], gain[ok]
        ra, rb, ra2, rb2 = q[:, a], q[:, b], q[:, a2], q[:, b2]  # (G, n)
        ok2 = np.ones(len(a), dtype=bool)
        for r in (ra, rb, ra2, rb2):
            d = (rb == r).astype(np.int64) + (rb2 == r) - (ra == r) - (ra2 == r)
            sn = s[r] + d
            ok2 &= np.all((sn >= lo[r]) & (sn <= hi[r]), axis=0)
        if not ok2.any():
            return self._apply(x, s, single)
        j = int(np.argmax(np.where(ok2, gain, -np.inf)))
        return self._apply(x, s, (a[j], b[j], a2[j], b2[j]))

    def neighbour(self, x: np.ndarray, w: np.ndarray, max_outs: int = 256) -> np.ndarray | None:
        """The best single face move from ``x`` whatever its gain (a plateau or downhill step);
        None when no move keeps the face."""
        x = x.copy()
        s = self.A @ x
        mov = self.movable
        ins = np.nonzero((x > 0) & mov)[0]
        outs = np.nonzero((x < self.c) & mov)[0]
        if len(ins) == 0 or len(outs) == 0:
            return None
        if len(outs) > max_outs:
            outs = outs[np.argpartition(-w[outs], max_outs - 1)[:max_outs]]
        moved = self._face_move(x, s, w, ins, outs, min_gain=-np.inf)
        return x if moved and (not self.scoped or self._rows_ok(x)) else None

    def _apply(self, x, s, move) -> bool:
        """Apply a move (a, b) or (a, b, a2, b2): remove a (a2), add b (b2); False if None."""
        if move is None:
            return False
        q = self.q
        for i, t in enumerate(move):
            dt = -1 if i % 2 == 0 else 1
            x[t] += dt
            s[q[:, t]] += dt
        return True
