"""The table-plan search's inner loop in numpy: one member's swap with every other member scored at
once (the tables' mix, and in one round the repeat meetings), the best by a noisy minimum (a
heat-bath step of the annealing), then checked exactly by `Seating.delta*` before it is made."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

import numpy as np

from services.sessions.domain import tables_search as ts


def penalty(total: np.ndarray, strata: int) -> np.ndarray:
    """`tables_search.table_penalty` for an array of table totals."""
    over = np.maximum(total / strata - ts.WORST_FROM, 0.0)
    return strata * ts.W_WORST * over * over


class FastSeating(ts.Seating):
    """A Seating with numpy mirrors (tables, meetings, table totals, per-table gains and losses) kept in step."""

    def load(self, seats):
        super().load(seats)
        n, R, T, K = self.n, self.R, self.T, self.n_features
        self.Fn = np.array(self.F, dtype=np.int64).reshape(n, -1)
        self.W = np.array(self.where, dtype=np.int64)
        self.M = np.array(self.met, dtype=np.int64)
        self.TC = np.array(self.totals, dtype=float).reshape(R, T)
        self.costn = {s: np.array(c, dtype=float) for s, c in self.cost.items()}
        self.loss = np.zeros((R, T, K))
        self.gain = np.zeros((R, T, K))
        allowed = np.ones((n, T), dtype=bool)
        for m, allow in enumerate(self.allowed):
            if allow is not None:
                allowed[m] = False
                allowed[m, sorted(allow)] = True
        self.ok = allowed
        self.keys = np.arange(K)
        for r in range(R):
            for t in range(T):
                self.refresh(r, t)

    def refresh(self, r: int, t: int) -> None:
        s = len(self.seats[r][t])
        c = np.array(self.counts[r][t], dtype=np.int64)
        cost = self.costn[s]
        here = cost[self.keys, c]
        self.loss[r, t] = cost[self.keys, np.maximum(c - 1, 0)] - here
        self.gain[r, t] = cost[self.keys, c + 1] - here

    def swap(self, r: int, a: int, b: int) -> None:
        A, B = self.where[r][a], self.where[r][b]
        mates_a = np.array([m for m in self.seats[r][A] if m != a], dtype=np.int64)
        mates_b = np.array([m for m in self.seats[r][B] if m != b], dtype=np.int64)
        super().swap(r, a, b)
        self.W[r, a], self.W[r, b] = B, A
        self.TC[r, A], self.TC[r, B] = self.totals[r][A], self.totals[r][B]
        M = self.M
        M[a, mates_a] -= 1
        M[mates_a, a] -= 1
        M[b, mates_a] += 1
        M[mates_a, b] += 1
        M[b, mates_b] -= 1
        M[mates_b, b] -= 1
        M[a, mates_b] += 1
        M[mates_b, a] += 1
        # only the features a and b do not share changed their counts at the two tables
        loss, gain, counts = self.loss[r], self.gain[r], self.counts[r]
        for t in (A, B):
            cost = self.cost[len(self.seats[r][t])]
            c = counts[t]
            for x, y in zip(self.F[a], self.F[b]):
                if x != y:
                    for k in (x, y):
                        ck, row = c[k], cost[k]
                        loss[t, k] = (row[ck - 1] if ck else row[0]) - row[ck]
                        gain[t, k] = row[ck + 1] - row[ck]

    def mix_all(self, r: int, a: int) -> np.ndarray:
        """The change in round r's mix cost if a swapped with each member (0 for a's own table)."""
        W = self.W[r]
        A = W[a]
        x = self.Fn[a]
        L, G = self.loss[r], self.gain[r]
        Fy = self.Fn
        differ = Fy != x[None, :]
        part_a = np.where(differ, L[A, x][None, :] + G[A][Fy], 0.0).sum(axis=1)
        part_b = np.where(differ, L[W[:, None], Fy] + G[W[:, None], x[None, :]], 0.0).sum(axis=1)
        total_a, total_b = self.TC[r, A], self.TC[r][W]
        k = self.strata
        val = (part_a + part_b + penalty(total_a + part_a, k) - penalty(np.array(total_a), k)
               + penalty(total_b + part_b, k) - penalty(total_b, k))
        return np.where(W != A, val, 0.0)

    def fits_all(self, r: int, a: int) -> np.ndarray:
        W = self.W[r]
        A = W[a]
        return (self.ok[a, W] & self.ok[np.arange(self.n), A]) | (W == A)

    def repeats_all(self, r: int, a: int) -> np.ndarray:
        """The change in repeat meetings if a swapped with each member in round r."""
        W = self.W[r]
        A = W[a]
        M = self.M
        mates = np.array([m for m in self.seats[r][A] if m != a], dtype=np.int64)
        met_a = (M[a] >= 1).astype(float)
        joins_a = np.bincount(W, weights=met_a, minlength=self.T)[W] - met_a  # a meets b's table but b
        joins_b = (M[mates] >= 1).sum(axis=0)  # b meets a's table but a
        rep = joins_a + joins_b
        if self.repeats:
            rep -= (M[a, mates] >= 2).sum()  # a leaves its table
            i, j = np.nonzero(M >= 2)
            same = W[i] == W[j]
            rep -= np.bincount(i[same], minlength=self.n)  # b leaves its table
        return rep


def improve_fast(state: FastSeating, rng: random.Random, moves: int, hot: float, cold: float,
                 everywhere: float) -> None:
    """Annealing with heat-bath steps: a member's best partner by a noisy minimum, made if its exact
    change passes the Metropolis test (and never if it adds a repeat meeting or a breach)."""
    n, R = state.n, state.R
    noise = np.random.default_rng(rng.randrange(2**32))
    cooling = (cold / hot) ** (1 / max(1, moves))
    temp = hot
    idx = np.arange(n)
    for _ in range(moves):
        temp *= cooling
        a = rng.randrange(n)
        everywhere_now = rng.random() < everywhere
        if everywhere_now:
            d = np.zeros(n)
            ok = np.ones(n, dtype=bool)
            for r in range(R):
                d += state.mix_all(r, a)
                ok &= state.fits_all(r, a)
            ok &= (state.W != state.W[:, a:a + 1]).any(axis=0)
        else:
            r = rng.randrange(R)
            d = state.mix_all(r, a) + ts.W_REPEAT * state.repeats_all(r, a)
            ok = state.fits_all(r, a) & (state.W[r] != state.W[r, a])
        ok &= idx != a
        if not ok.any():
            continue
        gumbel = -np.log(-np.log(noise.random(n) + 1e-300) + 1e-300)
        b = int(np.argmin(np.where(ok, d - temp * gumbel, np.inf)))
        exact = state.delta_everywhere(a, b) if everywhere_now else state.delta(r, a, b)
        if exact is None or exact >= ts.W_REPEAT / 2:
            continue  # never a repeat meeting more, nor a keep-apart breach
        if exact <= 0 or rng.random() < math.exp(-exact / temp):
            if everywhere_now:
                state.swap_everywhere(a, b)
            else:
                state.swap(r, a, b)


def search(n: int, tables: int, rounds: int, features: Sequence[Sequence[int]], n_features: int,
           allowed: Sequence[frozenset[int] | None], keep_apart: Sequence[tuple[int, int]], seed: int) -> list[list[list[int]]]:
    """Seats per round and table (member indices); the same for the same inputs and seed."""
    rng = random.Random(seed)
    state = FastSeating(n, tables, rounds, features, n_features, allowed, keep_apart)
    state.load(ts.start(n, tables, rounds, features, rng))
    ts.repair(state, rng)
    improve_fast(state, rng, ts.moves(n, rounds), *ts.TEMPERATURE, ts.EVERYWHERE)
    return [[list(t) for t in tables_] for tables_ in state.seats]
