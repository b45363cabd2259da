"""The table-plan search's last stage: the worst table lowered, one swap at a time, while no other table
gets as bad and no repeat meeting or keep-apart breach is added (docs/tables.md, step 7).

Each step takes the worst table of the plan (the largest deviation from the panel's mix, the
figure the plan reports) and, of the swaps of one of its members with anyone that lower it without
raising any other table to its level, makes the one that costs the least mix: a swap in every
round (a member into another's cell of the design: the repeat meetings cannot change), or a swap
in the table's round that adds no repeat meeting. A swap may add at most `STEP` to the mix cost,
and the polish stops at the first worst table it cannot lower, or once the worst table is within
`FROM` per stratum (the table term's threshold: below it the annealing's balance of mean and worst
stands). Swaps after the last one that lowered the plan's worst table are undone, and the members
moved then get a short descent of the cost that keeps every table at or below the new worst. The
plan's worst table never rises; it is deterministic (no random choice).
`state` is a `tables_fast.FastSeating`.
"""

from __future__ import annotations

import numpy as np

from services.sessions.domain import tables_search as ts

FROM = ts.WORST_FROM  # only a worst table above this deviation per stratum is polished
STEP = 1.0  # the most one swap may add to the mix cost (the table term included)
MOVES = 200  # swaps, at most
CHECKS = 40  # candidates checked exactly per step, the cheapest first
SLACK = 0.05  # the numpy screen's margin over the worst table's total (its small squared term)
SETTLE = 2  # passes of the descent under the new worst table (over the members the polish moved), at most
EVERYWHERE = -1  # a swap in every round (else: the round it is made in)
EPS = 1e-9


def deviation(state, r: int, t: int, counts=None) -> float:
    """Table t's sum over the strata of the L1 distance to the panel's mix in round r (the reported
    deviation times the number of strata), exactly."""
    size = len(state.seats[r][t])
    c = state.counts[r][t] if counts is None else counts
    return sum(abs(x / size - p) for x, p in zip(c, state.shares))


def after(state, r: int, a: int, b: int) -> tuple[float, float]:
    """The deviations of a's table and b's table in round r if a and b traded seats."""
    A, B = state.where[r][a], state.where[r][b]
    ca, cb = list(state.counts[r][A]), list(state.counts[r][B])
    for x in state.F[a]:  # a leaves A for B (a feature a and b share comes back at once)
        ca[x] -= 1
        cb[x] += 1
    for y in state.F[b]:
        cb[y] -= 1
        ca[y] += 1
    return deviation(state, r, A, ca), deviation(state, r, B, cb)


def candidates(state, r0: int, a: int, limit: float, everywhere: bool, most: float = STEP,
               lower: bool = True) -> list[tuple[float, int, int, int]]:
    """(mix cost added, kind, a, b) for the swaps of a, in every round (kind EVERYWHERE) or in round r0
    (kind r0), that pass
    the numpy screen: a's table in round r0 gets a lower total (if `lower`), no table it touches gets
    a total of `limit` or more, the mix cost changes by at most `most`, the seats fit, and (in one
    round) no repeat meeting is added."""
    rounds = state.all_rounds if everywhere else state.round_ids[r0]
    part_a, part_b, total_a, total_b, moved = state.mix_tables(rounds, a)
    new_a, new_b = total_a + part_a, total_b + part_b
    cost = (part_a + part_b + state.penalties(new_a) - state.penalties(total_a)
            + state.penalties(new_b) - state.penalties(total_b))
    cost = np.where(moved, cost, 0.0).sum(axis=0)
    high = np.where(moved, np.maximum(new_a, new_b), -np.inf).max(axis=0)
    here = r0 if everywhere else 0
    ok = moved.any(axis=0) & (high < limit) & (cost <= most)
    if lower:
        ok &= moved[here] & (part_a[here] < -EPS)
    fits = state.fits_rounds(rounds, a)
    if fits is not None:
        ok &= fits
    if not everywhere:
        ok &= state.repeats_all(r0, a) <= 0
    kind = EVERYWHERE if everywhere else r0
    return [(float(cost[b]), kind, a, int(b)) for b in np.nonzero(ok)[0]]


def below(state, kind: int, a: int, b: int, level: float) -> bool:
    """Whether the swap (in every round, or in round `kind`) leaves every table it touches below
    `level`, exactly, and adds no keep-apart breach."""
    if state.breaches(None if kind == EVERYWHERE else kind, a, b) > 0:
        return False
    for r in (range(state.R) if kind == EVERYWHERE else (kind,)):
        if state.where[r][a] != state.where[r][b] and max(after(state, r, a, b)) >= level - EPS:
            return False
    return True


def make(state, E: np.ndarray, kind: int, a: int, b: int) -> None:
    """The swap, and the deviations of the tables it touched."""
    if kind == EVERYWHERE:
        state.swap_everywhere(a, b)
    else:
        state.swap(kind, a, b)
    for r in (range(state.R) if kind == EVERYWHERE else (kind,)):
        for m in (a, b):
            t = state.where[r][m]
            E[r, t] = deviation(state, r, t)


def first(state, found: list[tuple[float, int, int, int]], level: float) -> tuple[float, int, int, int] | None:
    """The cheapest of the (screened) swaps that keeps every table it touches below `level`."""
    found.sort()
    return next((c for c in found[:CHECKS] if below(state, c[1], c[2], c[3], level)), None)


def polish(state, trace: list | None = None) -> int:
    """Swaps that lower the worst table, then swaps that lower the mix cost under it (see the module's
    doc); how many were kept. `trace` (if given) gets the worst and the mean table's deviation (per
    stratum) before each swap of the first kind and at the end."""
    R, T, k = state.R, state.T, state.strata
    E = np.array([[deviation(state, r, t) for t in range(T)] for r in range(R)])
    made: list[tuple[int, int, int]] = []
    best = (float(E.max()), 0)  # the lowest worst table so far, and after how many swaps
    for _ in range(MOVES):
        r0, t0 = divmod(int(np.argmax(E)), T)
        worst = float(E[r0, t0])
        if trace is not None:
            trace.append((worst / k, float(E.mean()) / k))
        if worst / k <= FROM + EPS:
            break
        limit = float(state.TC[r0, t0]) + SLACK
        found = []
        for a in sorted(state.seats[r0][t0]):
            found += candidates(state, r0, a, limit, everywhere=True)
            found += candidates(state, r0, a, limit, everywhere=False)
        move = first(state, found, worst)
        if move is None:
            break
        make(state, E, *move[1:])
        made.append(move[1:])
        if E.max() < best[0] - EPS:
            best = (float(E.max()), len(made))
    for kind, a, b in reversed(made[best[1]:]):  # the swaps after the last that lowered the worst table: undone
        make(state, E, kind, a, b)
    moved = sorted({m for _, a, b in made[:best[1]] for m in (a, b)})
    settled = settle(state, E, best[0], moved) if moved else 0
    if trace is not None:
        trace.append((float(E.max()) / k, float(E.mean()) / k))
    return best[1] + settled


def settle(state, E: np.ndarray, cap: float, members: list[int]) -> int:
    """Swaps of the given members that lower the mix cost with no table above `cap` (the worst table the
    polish left): each one's cheapest in turn, in every round or in one, SETTLE passes at most; the
    number made."""
    made = 0
    for _ in range(SETTLE):
        before = made
        for a in members:
            found = candidates(state, 0, a, cap + SLACK, everywhere=True, most=-EPS, lower=False)
            for r in range(state.R):
                found += candidates(state, r, a, cap + SLACK, everywhere=False, most=-EPS, lower=False)
            move = first(state, found, cap + 2 * EPS)
            if move is not None:
                make(state, E, *move[1:])
                made += 1
        if made == before:
            break
    return made
