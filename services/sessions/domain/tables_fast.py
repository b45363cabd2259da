"""The table-plan search's inner loop in numpy: one member's swap with every other member scored at
once (the tables' mix, and in one round the repeat meetings), in one round or in every round at
once, the partner by a noisy minimum (a heat-bath step of the annealing), then a Metropolis test on
its score (the scores are the exact changes; keep-apart pairs are counted exactly for the partner)."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

import numpy as np

from services.sessions.domain import tables_search as ts
from services.sessions.domain.tables_exchange import exchange
from services.sessions.domain.tables_polish import polish
from services.sessions.domain.tables_assign import assignment

NOISE_CHUNK = 256  # moves whose Gumbel noise is drawn at once
RESEAT_PASSES = 3  # passes over the design's rows, each row re-seated by an assignment, before a short annealing
RESEAT_BELOW = 7  # ... where the annealing has fewer moves per seat than this
SHORT_ANNEALING = 0.5  # ... and that annealing's share of the moves, the cyclic exchanges doing the rest
UNFIT = 1e9  # the assignment's cost of a seat at a table the member may not sit at


def penalty(total: np.ndarray, strata: int) -> np.ndarray:
    """`tables_search.table_penalty` for an array of table totals."""
    over = np.maximum(total / strata - ts.WORST_FROM, 0.0)
    return strata * ts.W_WORST * over * over


class FastSeating(ts.Seating):
    """A Seating whose meetings are a numpy matrix (`met` is `M`), with numpy mirrors of the tables,
    table totals and per-table gains and losses kept in step with every swap."""

    def load(self, seats):
        super().load(seats)
        n, R, T, K = self.n, self.R, self.T, self.n_features
        self.Fn = np.array(self.F, dtype=np.int64).reshape(n, -1)
        self.W = np.array(self.where, dtype=np.int64)
        self.M = np.array(self.met, dtype=np.int64)
        self.met = self.M  # one copy of the meetings: Seating's exact deltas read it as rows
        self.twice: tuple[np.ndarray, np.ndarray] | None = None  # the pairs met more than once (until a swap)
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
        self.anywhere = bool(allowed.all())
        self.keys = np.arange(K)
        self.round_ids = [np.array([r]) for r in range(R)]
        self.all_rounds = np.arange(R)
        for r in range(R):
            for t in range(T):
                self.refresh(r, t)

    def penalties(self, total: np.ndarray) -> np.ndarray:
        """The table terms of an array of table totals."""
        return penalty(total, self.strata)

    def refresh(self, r: int, t: int) -> None:
        s = len(self.seats[r][t])
        c = np.array(self.counts[r][t], dtype=np.int64)
        cost = self.costn[s]
        here = cost[self.keys, c]
        self.loss[r, t] = cost[self.keys, np.maximum(c - 1, 0)] - here
        self.gain[r, t] = cost[self.keys, c + 1] - here

    def meet(self, ta: list[int], tb: list[int], a: int, b: int) -> None:
        mates_a = np.array([m for m in ta if m != a], dtype=np.int64)
        mates_b = np.array([m for m in tb if m != b], dtype=np.int64)
        M = self.M
        self.twice = None
        self.repeats += int((M[b, mates_a] >= 1).sum() - (M[a, mates_a] >= 2).sum()
                            + (M[a, mates_b] >= 1).sum() - (M[b, mates_b] >= 2).sum())
        M[a, mates_a] -= 1
        M[mates_a, a] -= 1
        M[b, mates_a] += 1
        M[mates_a, b] += 1
        M[b, mates_b] -= 1
        M[mates_b, b] -= 1
        M[a, mates_b] += 1
        M[mates_b, a] += 1

    def swap(self, r: int, a: int, b: int) -> None:
        A, B = self.where[r][a], self.where[r][b]
        super().swap(r, a, b)
        self.W[r, a], self.W[r, b] = B, A
        self.TC[r, A], self.TC[r, B] = self.totals[r][A], self.totals[r][B]
        # only the features a and b do not share changed their counts at the two tables
        loss, gain = self.loss[r], self.gain[r]
        for t in (A, B):
            c, cost = self.counts[r][t], self.cost[len(self.seats[r][t])]
            for x, y in zip(self.F[a], self.F[b]):
                if x != y:
                    for k in (x, y):
                        ck, row = c[k], cost[k]
                        loss[t, k] = (row[ck - 1] if ck else row[0]) - row[ck]
                        gain[t, k] = row[ck + 1] - row[ck]

    def mix_rounds(self, rounds: np.ndarray, a: int) -> tuple[np.ndarray, np.ndarray]:
        """The change in the mix cost of the given rounds if a traded places with each member in
        each of them (0 where they share a table), and where any of them differ."""
        part_a, part_b, total_a, total_b, moved = self.mix_tables(rounds, a)
        k = self.strata
        val = (part_a + part_b + penalty(total_a + part_a, k) - penalty(total_a, k)
               + penalty(total_b + part_b, k) - penalty(total_b, k))
        return np.where(moved, val, 0.0).sum(axis=0), moved.any(axis=0)

    def mix_tables(self, rounds: np.ndarray, a: int) -> tuple[np.ndarray, ...]:
        """Per given round (q) and member b (n), if a and b traded places: the change in the total of
        a's table and of b's, the two totals now, and whether they sit apart (the parts are
        meaningless where they do not)."""
        T, K = self.T, self.n_features
        W = self.W[rounds]  # (q, n)
        A = W[:, a]
        x = self.Fn[a]
        Fy = self.Fn
        differ = Fy != x[None, :]  # (n, S): the features a's and b's tables trade
        L = self.loss.reshape(-1, K)
        G = self.gain.reshape(-1, K)
        TC = self.TC.reshape(-1)
        ta = rounds * T + A  # (q,): a's table in the flat (round, table) index
        tb = rounds[:, None] * T + W  # (q, n): each b's table
        part_a = np.where(differ[None], L[ta][:, x][:, None, :] + G[ta][:, Fy], 0.0).sum(axis=2)
        idx = tb[:, :, None] * K
        part_b = np.where(differ[None], np.take(L, idx + Fy[None]) + np.take(G, idx + x[None, None, :]), 0.0).sum(axis=2)
        return part_a, part_b, TC[ta][:, None], TC[tb], W != A[:, None]

    def mix_all(self, r: int, a: int) -> np.ndarray:
        """The change in round r's mix cost if a swapped with each member (0 for a's own table)."""
        return self.mix_rounds(self.round_ids[r], a)[0]

    def fits_rounds(self, rounds: np.ndarray, a: int) -> np.ndarray | None:
        """Whether a and each member may trade places in the given rounds (None: everyone may sit anywhere)."""
        if self.anywhere:
            return None
        W = self.W[rounds]
        A = W[:, a]
        return ((self.ok[a][W] & self.ok[np.arange(self.n)[None, :], A[:, None]]) | (W == A[:, None])).all(axis=0)

    def fits_all(self, r: int, a: int) -> np.ndarray:
        ok = self.fits_rounds(self.round_ids[r], a)
        return np.ones(self.n, dtype=bool) if ok is None else ok

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
            if self.twice is None:
                self.twice = np.nonzero(M >= 2)
            i, j = self.twice
            same = W[i] == W[j]
            rep -= np.bincount(i[same], minlength=self.n)  # b leaves its table
        return rep

    def breaches(self, r: int | None, a: int, b: int) -> int:
        """The change in keep-apart breaches if a and b trade places in round r (None: in every round)."""
        pa, pb = self.apart[a], self.apart[b]
        if not (pa or pb):
            return 0
        if r is None:
            M = self.M
            return int(sum(M[b, p] - M[a, p] for p in pa if p != b) + sum(M[a, p] - M[b, p] for p in pb if p != a))
        ta, tb = self.seats[r][self.where[r][a]], self.seats[r][self.where[r][b]]
        return (sum((m in pb) - (m in pa) for m in ta if m != a)
                + sum((m in pa) - (m in pb) for m in tb if m != b))


    def reseat_costs(self, X: np.ndarray) -> np.ndarray:
        """cost[i, j]: the cost of the tables of X[j]'s seat in every round with X[i] in it, for members X
        who never meet (so each of those tables loses and gains one of them only)."""
        q, k = len(X), self.strata
        C = np.zeros((q, q))
        FX = self.Fn[X]
        rows = np.arange(q)[:, None]
        for r in range(self.R):
            tables = self.W[r, X]
            base = np.array([self.counts[r][t] for t in tables], dtype=np.int64)
            base[rows, FX] -= 1  # the tables without their member of X
            sizes = np.array([len(self.seats[r][t]) for t in tables])
            for s in np.unique(sizes):
                cols = np.nonzero(sizes == s)[0]
                cost, b = self.costn[int(s)], base[cols]
                here = cost[self.keys[None, :], b]
                step = cost[self.keys[None, :], b + 1] - here  # (c, K): what one more of each feature costs
                total = here.sum(axis=1)[None, :] + step[:, FX].sum(axis=2).T  # (q, c)
                C[:, cols] += total + penalty(total, k)
        if not self.anywhere:
            fits = self.ok[X[:, None, None], self.W[:, X].T[None, :, :]].all(axis=2)
            C[~fits] += UNFIT
        inside = set(X.tolist())
        for i, m in enumerate(X.tolist()):
            for p in self.apart[m] - inside:
                C[i] += ts.W_APART * self.M[X, p]  # X[j]'s seat meets p this often
        return C

    def reseat(self, X: Sequence[int]) -> float:
        """Re-seat members who never meet among their own seats (each in every round) at the least cost;
        repeat meetings cannot change. The gain in cost."""
        X = np.asarray(X, dtype=np.int64)
        C = self.reseat_costs(X)
        col = assignment(C)
        q = np.arange(len(X))
        gain = float(C[q, q].sum() - C[q, col].sum())
        if gain <= 1e-9:
            return 0.0
        seen = [False] * len(X)
        for i in range(len(X)):  # X[i] takes X[col[i]]'s seat: each cycle as a chain of swaps
            j = i
            while not seen[j]:
                seen[j] = True
                if not seen[col[j]]:
                    self.swap_everywhere(int(X[j]), int(X[col[j]]))
                j = col[j]
        return gain


def reseat_rows(state: FastSeating, rows: Sequence[Sequence[int]], passes: int, rng: random.Random) -> None:
    """Passes over the design's rows (members who never meet), each re-seated by an assignment."""
    for _ in range(passes):
        order = list(range(len(rows)))
        rng.shuffle(order)
        for i in order:
            X = np.asarray(rows[i], dtype=np.int64)
            if len(X) > 1 and not state.M[np.ix_(X, X)].any():
                state.reseat(X)


def improve_fast(state: FastSeating, rng: random.Random, moves: int, hot: float, cold: float,
                 everywhere: float) -> None:
    """Annealing with heat-bath steps: a member's best partner by a noisy minimum of the exact scores,
    made if it passes the Metropolis test (and never if it adds a keep-apart breach, nor a repeat
    meeting at the default price)."""
    n, R = state.n, state.R
    never = ts.W_REPEAT / 2 if state.w_repeat >= ts.W_REPEAT else ts.W_APART / 2
    noise = np.random.default_rng(rng.randrange(2**32))
    cooling = (cold / hot) ** (1 / max(1, moves))
    temp = hot
    gumbel = np.empty((0, n))
    for step in range(moves):
        if step % NOISE_CHUNK == 0:
            gumbel = -np.log(-np.log(noise.random((NOISE_CHUNK, n)) + 1e-300) + 1e-300)
        temp *= cooling
        a = rng.randrange(n)
        if rng.random() < everywhere:
            r = None
            d, ok = state.mix_rounds(state.all_rounds, a)
            fits = state.fits_rounds(state.all_rounds, a)
        else:
            r = rng.randrange(R)
            d, ok = state.mix_rounds(state.round_ids[r], a)
            d += state.w_repeat * state.repeats_all(r, a)
            fits = state.fits_rounds(state.round_ids[r], a)
        if fits is not None:
            ok &= fits
        ok[a] = False
        if not ok.any():
            continue
        b = int(np.argmin(np.where(ok, d - temp * gumbel[step % NOISE_CHUNK], np.inf)))
        exact = float(d[b]) + ts.W_APART * state.breaches(r, a, b)
        if exact >= never:
            continue  # never a keep-apart breach, nor (at the default price) a repeat meeting more
        if exact <= 0 or rng.random() < math.exp(-exact / temp):
            if r is None:
                state.swap_everywhere(a, b)
            else:
                state.swap(r, a, b)


def search(n: int, tables: int, rounds: int, features: Sequence[Sequence[int]], n_features: int,
           allowed: Sequence[frozenset[int] | None], keep_apart: Sequence[tuple[int, int]], seed: int,
           w_repeat: float = ts.W_REPEAT) -> list[list[list[int]]]:
    """Seats per round and table (member indices); the same for the same inputs and seed. `w_repeat`:
    the price of a repeat meeting (the default: more than any gain in the mix)."""
    rng = random.Random(seed)
    state = FastSeating(n, tables, rounds, features, n_features, allowed, keep_apart, w_repeat)
    seats = ts.start(n, tables, rounds, features, rng)
    rows = [[table[i] for table in seats[0] if i < len(table)] for i in range(max(len(t) for t in seats[0]))]
    state.load(seats)
    ts.repair(state, rng)
    moves = ts.moves(n, rounds)
    if moves < RESEAT_BELOW * n * rounds:
        reseat_rows(state, rows, RESEAT_PASSES, rng)
        moves = int(moves * SHORT_ANNEALING)
    improve_fast(state, rng, moves, *ts.TEMPERATURE, ts.EVERYWHERE)
    exchange(state, rng)
    polish(state)
    return [[list(t) for t in tables_] for tables_ in state.seats]
