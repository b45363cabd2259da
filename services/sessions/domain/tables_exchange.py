"""Cyclic exchanges within one round (an improvement graph, as Ahuja, Orlin and Sharma's for
partitioning problems): member i "takes j's seat" (i moves to j's table, j moves on) is an arc
i -> j where i has met nobody at j's table but j in the other rounds, so the move adds no repeat
meeting; its cost is the change at j's table alone. A cycle i1 -> i2 -> ... -> ik -> i1 over
distinct tables changes each of its tables by one member in and one out, so its cost is the sum of
its arcs' costs exactly, and a negative cycle lowers the plan's cost without a repeat or a breach.
Found by a label-correcting search over paths of negative cost (each node keeps its best path,
tables not repeated; numpy over all arcs at once), up to `DEPTH` tables. Where every member of a
round would meet someone again wherever they went (the dense designs, e.g. 99 members x 5 rounds at
11 tables), the graph has no arcs and nothing changes. `state` is a `tables_fast.FastSeating` (which calls this module).
"""

from __future__ import annotations

import random

import numpy as np

DEPTH = 5  # tables per cycle, at most
PASSES = 8  # passes over the rounds, at most (the search stops earlier where a pass finds nothing)
EPS = 1e-9


def arcs(state, r: int, met_elsewhere: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The feasible arcs of round r (i, j: i takes j's seat) and their costs (the change at j's table)."""
    n, T = state.n, state.T
    W = state.W[r]
    here = np.zeros((n, T))
    here[np.arange(n), W] = 1.0
    clash = met_elsewhere.astype(float) @ here  # clash[i, t]: members at t whom i met in another round
    ok = (clash[:, W] - met_elsewhere) < 0.5  # nobody at j's table but (perhaps) j
    ok &= W[:, None] != W[None, :]
    if not state.anywhere:
        ok &= state.ok[:, W]
    for a in range(n):
        for p in state.apart[a]:
            ok[a, W == W[p]] = False  # never to a keep-apart partner's table
            ok[a, p] = False
    i, j = np.nonzero(ok)
    if not len(i):
        return i, j, np.zeros(0)
    Fi, Fj = state.Fn[i], state.Fn[j]
    t = W[j]
    part = np.where(Fi != Fj, state.loss[r][t[:, None], Fj] + state.gain[r][t[:, None], Fi], 0.0).sum(axis=1)
    total = state.TC[r, t]
    return i, j, part + state.penalties(total + part) - state.penalties(total)


def negative_cycle(W: np.ndarray, i: np.ndarray, j: np.ndarray, cost: np.ndarray, depth: int,
                   back: np.ndarray) -> tuple[float, list[int]] | None:
    """The most negative cycle the label-correcting search finds (members in order: each takes the
    next one's seat, the last the first's), over distinct tables. Every node keeps its best path of
    each length, and only paths of negative cost grow (a negative cycle has a rotation whose every
    prefix is negative). `back[x, y]`: the cost of the arc x -> y (inf where there is none)."""
    n = len(W)
    first = (cost < -EPS) & (W[i] != W[j])
    order = np.argsort(cost[first], kind="stable")
    ends, keep = np.unique(j[first][order], return_index=True)
    total = np.full(n, np.inf)
    total[ends] = cost[first][order][keep]
    paths = np.full((n, depth), -1, dtype=np.int64)
    paths[ends, 0] = i[first][order][keep]
    paths[ends, 1] = ends
    swaps = cost + back[j, i]  # the cycles of two: a swap
    k = int(np.argmin(swaps)) if len(swaps) else 0
    best = (float(swaps[k]), [int(i[k]), int(j[k])]) if len(swaps) and swaps[k] < -EPS else None
    for length in range(2, depth):  # paths of `length` members grow by one
        live = np.isfinite(total[i])
        a, b, w = i[live], j[live], cost[live]
        grown = total[a] + w
        fresh = grown < -EPS
        for k in range(length):
            fresh &= W[paths[a, k]] != W[b]  # b's table is not on the path yet
        a, b, grown = a[fresh], b[fresh], grown[fresh]
        if not len(a):
            break
        closed = grown + back[b, paths[a, 0]]
        k = int(np.argmin(closed))
        if closed[k] < -EPS and (best is None or closed[k] < best[0]):
            best = (float(closed[k]), [*paths[a[k], :length].tolist(), int(b[k])])
        if length == depth - 1:
            break
        order = np.argsort(grown, kind="stable")
        ends, keep = np.unique(b[order], return_index=True)
        pick = a[order][keep]
        new_paths = np.full((n, depth), -1, dtype=np.int64)
        new_paths[ends, :length] = paths[pick, :length]
        new_paths[ends, length] = ends
        total = np.full(n, np.inf)
        total[ends] = grown[order][keep]
        paths = new_paths
    return best


def exchange(state, rng: random.Random) -> float:
    """Negative cyclic exchanges of at most DEPTH tables, round by round, until a pass finds none (at
    most PASSES passes); the gain in cost. Cycles found on the same arcs are made while their tables
    are untouched; then the round's arcs are computed again."""
    gained = 0.0
    for _ in range(PASSES):
        found = False
        rounds = list(range(state.R))
        rng.shuffle(rounds)
        for r in rounds:
            W = state.W[r]
            same = W[:, None] == W[None, :]
            met_elsewhere = (state.M - same) >= 1
            np.fill_diagonal(met_elsewhere, False)
            while True:
                i, j, cost = arcs(state, r, met_elsewhere)
                W = state.W[r].copy()
                back = np.full((state.n, state.n), np.inf)
                back[i, j] = cost
                made = 0
                while True:
                    cycle = negative_cycle(W, i, j, cost, DEPTH, back)
                    if cycle is None:
                        break
                    members = cycle[1]
                    touched = np.isin(W, W[members])  # its tables: arcs that touch them are no longer exact
                    live = ~(touched[i] | touched[j])
                    i, j, cost = i[live], j[live], cost[live]
                    for a, b in zip(members, members[1:]):  # a takes b's seat, ..., the last takes the first's
                        state.swap(r, a, b)
                    gained -= cycle[0]
                    made += 1
                if not made:
                    break
                found = True
        if not found:
            break
    return gained
