"""The table-plan search: a start from a resolvable design (no repeat meetings where the shape
allows), seats repaired for the members who must sit at given tables, then swaps that lower a
lexicographic cost: keep-apart breaches, then repeat meetings, then the tables' distance from the
panel's mix (the annealing's inner loop is in tables_fast.py). Deterministic for a seed; docs/tables.md
argues the choices.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

from shared.problems import InvalidInput

W_APART = 1_000_000.0  # a keep-apart pair at one table
W_REPEAT = 1_000.0  # one repeat meeting: worth more than any gain in diversity (at most 2 per stratum and table)
W_REPEAT_MIX = 0.1  # ... with priority "mix": a price the tables' mix can outweigh (docs/tables.md)
W_SQUARE = 0.02  # a small squared-count term that breaks the L1 distance's ties towards even tables
EVERYWHERE = 0.5  # the share of swaps made in every round at once
ROW_MOVES_PER_SEAT = 100
MOVES_PER_SEAT = 4  # heat-bath moves per member and round, at least
MOVES_CAP = 20  # moves per seat, at most
MOVES_BUDGET = 3 * 800 * 800  # moves x seats: 200 members x 4 rounds at 3 moves per seat (~1 s of CPU)
TEMPERATURE = (0.05, 0.002)  # annealing of the mix: from a fraction of one swap's usual change down to nothing
W_WORST = 10.0  # the table term: strata x W_WORST x (the table's mix cost per stratum above WORST_FROM)^2
WORST_FROM = 0.2


def table_penalty(total: float, strata: int) -> float:
    """What a table's total mix cost (its sum over the strata) adds to the cost, beyond the total itself:
    a square above a threshold per stratum, which presses on the worst tables."""
    over = total / strata - WORST_FROM
    return strata * W_WORST * over * over if over > 0 else 0.0


def moves(n: int, rounds: int) -> int:
    """The annealing's number of moves (fixed, so the plan is deterministic): a move costs about the same
    for every panel, so smaller panels get more per seat, within MOVES_PER_SEAT..MOVES_CAP."""
    seats = n * rounds
    return min(max(MOVES_PER_SEAT * seats, MOVES_BUDGET // seats), MOVES_CAP * seats)


def design(tables: int, rows: int, rounds: int, rng: random.Random, budget: int = 20_000) -> list[list[int]]:
    """Row offsets per round: the member in cell (i, j) sits at table (j + off[r][i]) % tables.

    Cells in one row never meet; two cells in rows i, i' meet in rounds r and q both only if
    off[r][i] - off[q][i] == off[r][i'] - off[q][i'] (mod tables). So where every round's offsets
    differ from every earlier round's by distinct amounts per row, no pair meets twice (for a
    prime number of tables off[r][i] = r*i does it for up to `tables` rounds). Found by
    randomised backtracking tried with r*i first; where the budget runs out, the offset with the
    fewest clashes is taken and the swaps deal with the repeats.
    """
    offsets = [[0] * rows]
    for r in range(1, rounds):
        used = [{0} for _ in range(r)]  # per earlier round: differences taken (row 0: 0)
        row = [0] * rows
        steps = 0

        def place(i: int) -> bool:
            nonlocal steps
            if i == rows:
                return True
            first = (r * i) % tables
            rest = [v for v in range(tables) if v != first]
            rng.shuffle(rest)
            for v in [first, *rest]:
                steps += 1
                if steps > budget:
                    return False
                diffs = [(v - offsets[q][i]) % tables for q in range(r)]
                if any(d in used[q] for q, d in enumerate(diffs)):
                    continue
                for q, d in enumerate(diffs):
                    used[q].add(d)
                row[i] = v
                if place(i + 1):
                    return True
                for q, d in enumerate(diffs):
                    used[q].discard(d)
            return False

        if not place(1):
            used = [{0} for _ in range(r)]
            for i in range(1, rows):
                v = min(range(tables), key=lambda v: (sum(((v - offsets[q][i]) % tables) in used[q]
                                                          for q in range(r)), (v - r * i) % tables))
                for q in range(r):
                    used[q].add((v - offsets[q][i]) % tables)
                row[i] = v
        offsets.append(list(row))
    return offsets


class Seating:
    """The state of a plan under search with the counts its cost needs, updated per swap."""

    def __init__(self, n: int, tables: int, rounds: int, features: Sequence[Sequence[int]], n_features: int,
                 allowed: Sequence[frozenset[int] | None], keep_apart: Sequence[tuple[int, int]],
                 w_repeat: float = W_REPEAT):
        self.n, self.T, self.R = n, tables, rounds
        self.w_repeat = w_repeat  # the price of one repeat meeting
        self.F = [list(f) for f in features]
        self.strata = max(1, max((len(f) for f in self.F), default=1))
        self.allowed = list(allowed)
        self.apart: list[set[int]] = [set() for _ in range(n)]
        for a, b in keep_apart:
            self.apart[a].add(b)
            self.apart[b].add(a)
        shares = [0.0] * n_features
        for f in self.F:
            for k in f:
                shares[k] += 1 / n
        self.shares = shares  # the panel's share of each feature (the members seated)
        # cost[s][k][c]: what c members with feature k at a table of s cost (L1 term + small square)
        self.cost = {s: [[abs(c / s - p) + W_SQUARE * (c / s - p) ** 2 * s for c in range(s + 2)] for p in shares]
                     for s in {n // tables, math.ceil(n / tables)} if s > 0}
        self.seats: list[list[list[int]]] = []
        self.where: list[list[int]] = []
        self.met = [[0] * n for _ in range(n)]
        self.counts: list[list[list[int]]] = []
        self.totals: list[list[float]] = []  # per round and table: the sum of its features' cost
        self.n_features = n_features

    def load(self, seats: list[list[list[int]]]) -> None:
        self.seats = seats
        self.where = [[0] * self.n for _ in range(self.R)]
        self.met = [[0] * self.n for _ in range(self.n)]
        self.counts = []
        for r, tables in enumerate(seats):
            counts = []
            for t, table in enumerate(tables):
                c = [0] * self.n_features
                for m in table:
                    self.where[r][m] = t
                    for k in self.F[m]:
                        c[k] += 1
                    for o in table:
                        if o != m:
                            self.met[m][o] += 1
                counts.append(c)
            self.counts.append(counts)
        self.totals = [[self.table_cost(r, t) for t in range(self.T)] for r in range(self.R)]
        self.repeats = sum(c - 1 for row in self.met for c in row if c > 1) // 2

    def table_cost(self, r: int, t: int) -> float:
        cost = self.cost.get(len(self.seats[r][t]))
        return sum(cost[k][c] for k, c in enumerate(self.counts[r][t])) if cost else 0.0

    def mix_cost(self) -> float:
        """The plan's mix cost: every table's total and its table term (what the annealing lowers)."""
        return sum(t + table_penalty(t, self.strata) for totals in self.totals for t in totals)

    def fits(self, m: int, t: int) -> bool:
        allow = self.allowed[m]
        return allow is None or t in allow

    def delta(self, r: int, a: int, b: int) -> float:
        """The change in cost if a and b (at different tables in round r) swap seats."""
        A, B = self.where[r][a], self.where[r][b]
        ta, tb = self.seats[r][A], self.seats[r][B]
        ma, mb = self.met[a], self.met[b]
        rep = 0
        for m in ta:
            if m != a:
                rep += int(mb[m] >= 1) - int(ma[m] >= 2)
        for m in tb:
            if m != b:
                rep += int(ma[m] >= 1) - int(mb[m] >= 2)
        d = self.w_repeat * rep
        pa, pb = self.apart[a], self.apart[b]
        if pa or pb:
            breach = 0
            for m in ta:
                if m != a:
                    breach += (m in pb) - (m in pa)
            for m in tb:
                if m != b:
                    breach += (m in pa) - (m in pb)
            d += W_APART * breach
        return d + self.mix_delta(r, a, b)

    def mix_parts(self, r: int, a: int, b: int) -> tuple[float, float]:
        """The change in the totals of a's table and of b's if a and b swap in round r."""
        A, B = self.where[r][a], self.where[r][b]
        ca, cb = self.counts[r][A], self.counts[r][B]
        costa, costb = self.cost[len(self.seats[r][A])], self.cost[len(self.seats[r][B])]
        da = db = 0.0
        for x, y in zip(self.F[a], self.F[b]):
            if x != y:
                da += costa[x][ca[x] - 1] - costa[x][ca[x]] + costa[y][ca[y] + 1] - costa[y][ca[y]]
                db += costb[y][cb[y] - 1] - costb[y][cb[y]] + costb[x][cb[x] + 1] - costb[x][cb[x]]
        return da, db

    def mix_delta(self, r: int, a: int, b: int) -> float:
        """The change in the mix cost (the two tables' totals and table terms) if a and b swap in round r."""
        da, db = self.mix_parts(r, a, b)
        ta, tb = self.totals[r][self.where[r][a]], self.totals[r][self.where[r][b]]
        k = self.strata
        return da + db + table_penalty(ta + da, k) - table_penalty(ta, k) + table_penalty(tb + db, k) - table_penalty(tb, k)

    def swap(self, r: int, a: int, b: int) -> None:
        A, B = self.where[r][a], self.where[r][b]
        da, db = self.mix_parts(r, a, b)
        self.totals[r][A] += da
        self.totals[r][B] += db
        ta, tb = self.seats[r][A], self.seats[r][B]
        self.meet(ta, tb, a, b)
        ta[ta.index(a)] = b
        tb[tb.index(b)] = a
        self.where[r][a], self.where[r][b] = B, A
        ca, cb = self.counts[r][A], self.counts[r][B]
        for x, y in zip(self.F[a], self.F[b]):
            if x != y:
                ca[x] -= 1
                ca[y] += 1
                cb[y] -= 1
                cb[x] += 1

    def meet(self, ta: list[int], tb: list[int], a: int, b: int) -> None:
        """The meetings and repeat count once a (at table ta) and b (at tb) trade seats."""
        met = self.met
        ma, mb = met[a], met[b]
        rep = 0
        for m in ta:
            if m != a:
                rep += (mb[m] >= 1) - (ma[m] >= 2)
                ma[m] -= 1
                met[m][a] -= 1
                mb[m] += 1
                met[m][b] += 1
        for m in tb:
            if m != b:
                rep += (ma[m] >= 1) - (mb[m] >= 2)
                mb[m] -= 1
                met[m][b] -= 1
                ma[m] += 1
                met[m][a] += 1
        self.repeats += rep

    def delta_everywhere(self, a: int, b: int) -> float | None:
        """The change in cost if a and b trade places in every round (None if a seat does not fit).

        Every third member's meetings with a become those with b and the reverse, so the repeat
        meetings do not change; only the mix of the tables and keep-apart breaches can.
        """
        d = 0.0
        for r in range(self.R):
            A, B = self.where[r][a], self.where[r][b]
            if A != B:
                if not (self.fits(a, B) and self.fits(b, A)):
                    return None
                d += self.mix_delta(r, a, b)
        pa, pb = self.apart[a], self.apart[b]
        if pa or pb:
            ma, mb = self.met[a], self.met[b]
            breach = sum(mb[p] - ma[p] for p in pa if p != b) + sum(ma[p] - mb[p] for p in pb if p != a)
            d += W_APART * breach
        return d

    def swap_everywhere(self, a: int, b: int) -> None:
        for r in range(self.R):
            if self.where[r][a] != self.where[r][b]:
                self.swap(r, a, b)


def rows_alike(n: int, tables: int, features: Sequence[Sequence[int]], rng: random.Random, moves: int) -> list[int]:
    """Members in cell order, rows of `tables` cells made as alike as possible.

    Every table of every round of the design takes one member from each row, so a table's count of
    a category is a sum of one draw per row: the fewer kinds of member a row holds (the larger the
    sum of its squared category counts), the closer every table is to the panel's mix. Swaps
    between rows from a sort by the strata.
    """
    order = sorted(range(n), key=lambda m: (tuple(features[m]), rng.random()))
    row_of = [cell // tables for cell in range(n)]
    member_row = [0] * n
    rows = math.ceil(n / tables)
    counts: list[dict[int, int]] = [dict() for _ in range(rows)]
    for cell, m in enumerate(order):
        member_row[m] = row_of[cell]
        for k in features[m]:
            counts[row_of[cell]][k] = counts[row_of[cell]].get(k, 0) + 1
    for _ in range(moves if rows > 1 else 0):
        a, b = rng.randrange(n), rng.randrange(n)
        ra, rb = member_row[a], member_row[b]
        if ra == rb:
            continue
        ca, cb = counts[ra], counts[rb]
        gain = 0
        for x, y in zip(features[a], features[b]):
            if x != y:
                gain += ca.get(y, 0) - ca[x] + 1 + cb.get(x, 0) - cb[y] + 1
        if gain >= 0:
            for x, y in zip(features[a], features[b]):
                if x != y:
                    ca[x] -= 1
                    ca[y] = ca.get(y, 0) + 1
                    cb[y] -= 1
                    cb[x] = cb.get(x, 0) + 1
            member_row[a], member_row[b] = rb, ra
    by_row: list[list[int]] = [[] for _ in range(rows)]
    for m in order:
        by_row[member_row[m]].append(m)
    for row in by_row:
        rng.shuffle(row)
    return [m for row in by_row for m in row]


def start(n: int, tables: int, rounds: int, features: Sequence[Sequence[int]], rng: random.Random) -> list[list[list[int]]]:
    """The design's seats with members dealt into its cells by rows of like members."""
    rows = math.ceil(n / tables)
    offsets = design(tables, rows, rounds, rng)
    order = rows_alike(n, tables, features, rng, ROW_MOVES_PER_SEAT * n)
    seats = []
    for r in range(rounds):
        round_tables: list[list[int]] = [[] for _ in range(tables)]
        for cell, m in enumerate(order):
            i, j = divmod(cell, tables)
            round_tables[(j + offsets[r][i]) % tables].append(m)
        seats.append(round_tables)
    return seats


def repair(state: Seating, rng: random.Random) -> None:
    """Move every member who must sit at given tables there, by the cheapest fitting swap."""
    pinned = sorted((m for m in range(state.n) if state.allowed[m] is not None), key=lambda m: len(state.allowed[m]))
    for r in range(state.R):
        for m in pinned:
            here = state.where[r][m]
            if state.fits(m, here):
                continue
            best, best_d = None, None
            for t in sorted(state.allowed[m]):
                for o in state.seats[r][t]:
                    if state.fits(o, here):
                        d = state.delta(r, m, o)
                        if best_d is None or d < best_d:
                            best, best_d = o, d
            if best is None:
                raise InvalidInput("The members who must sit at given tables (language, accessible place) do not fit "
                                   "there: make more tables accessible or allow larger tables.",
                                   code="restricted_tables_full",
                                   details=[{"field": "accessible_tables", "problem": "too many members for the tables"}])
            state.swap(r, m, best)
