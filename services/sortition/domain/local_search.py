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
        # quota row of each (category, type)
        rows = []
        start = 0
        self.cat_rows = []
        for c in inst.categories:
            nv = len(inst.values[c])
            block = A[start:start + nv]
            rows.append(start + np.argmax(block, axis=0))
            self.cat_rows.append(np.arange(start, start + nv))
            start += nv
        self.q = np.array(rows, dtype=np.int64)  # (G, T)
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

    def improve(self, x: np.ndarray, w: np.ndarray, max_moves: int = 400, max_outs: int = 256) -> np.ndarray:
        x = x.copy()
        q, lo, hi, c = self.q, self.lo, self.hi, self.c
        s = self.A @ x
        for _ in range(max_moves):
            ins = np.nonzero(x > 0)[0]
            room = x < c
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
            if not found:
                if npos <= 64:
                    break
                same = qi[:, :, None] == qo[:, None, :]  # (G, |ins|, |outs|)
                ok = np.all(same | (rem_ok[:, :, None] & add_ok[:, None, :]), axis=0)
                gain = np.where(ok, gain, -np.inf)
                j = int(np.argmax(gain))
                ia, ib = divmod(j, len(outs))
                if gain[ia, ib] <= 1e-12:
                    break
            a, b = ins[ia], outs[ib]
            x[a] -= 1
            x[b] += 1
            s[q[:, a]] -= 1
            s[q[:, b]] += 1
        return x
