"""Alternates chosen for drop-outs (issue 17, item 4; after "Alternates, Assemble!", 2025): given the
drawn panel and per-stratum drop-out rates, choose ``a`` alternates so that after the likely
drop-outs, replaced from the alternates, the panel still meets the quotas.

Drop-out model: a volunteer drops out independently with ``r_i = 1 - prod_v (1 - d_v)`` over the
(category, value) pairs ``v`` of their answers that have a rate ``d_v`` (e.g. ``age=16-29: 0.2``;
values without a rate: 0).

Choice (sample average approximation, one HiGHS MIP over volunteer types): ``S`` seeded scenarios
of which panel members drop out; integer ``y_t`` = alternates of type t (``sum y = a``, at most the
eligible volunteers of the type: not on the panel, not sharing a household with a member); per
scenario ``s`` integer ``z_{s,t} <= y_t`` = alternates of type t called in, ``sum_t z_{s,t} +
short_s = dropped_s``; every quota row of the panel after replacement with slacks ``u_{s,q},
o_{s,q} >= 0`` (below the minimum / above the maximum); minimise the mean over scenarios of
``short_s + sum_q (u_{s,q} + o_{s,q})`` (seats left empty plus quota violations).  Alternates
drop out too: each alternate slot of a type is available in a scenario with a pre-drawn coin at
the type's rate (see ``_Completion``).  Which
volunteers of a type become alternates: a seeded uniform choice (members of a type are
interchangeable).

``simulate`` compares lists of alternates: in each seeded trial panel members and alternates drop
out with their rates and the drop-outs are replaced by the best completion from the alternates
left (the same small MIP for one scenario); it reports how often the panel ends full and within
every quota, the mean seats left empty and the mean quota violation.  ``like_the_panel`` gives the
baseline the issue names: reserves drawn like the panel (volunteers off the panel, drawn in
proportion to their selection probability).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import highspy
import numpy as np

from .highs_util import INF, new_highs
from .model import Instance, SortitionInputError, sha256_json


def dropout_rates(inst: Instance, rates: Mapping[tuple[str, str], float]) -> np.ndarray:
    """Each volunteer's drop-out probability from per-(category, value) rates."""
    for (cat, val), d in rates.items():
        if cat not in inst.categories:
            raise SortitionInputError(f"drop-out rate for unknown category '{cat}'")
        if val not in inst.values[cat]:
            raise SortitionInputError(f"drop-out rate for unknown value {cat}={val} "
                                      f"(known values: {', '.join(inst.values[cat])})")
        if not 0.0 <= float(d) < 1.0:
            raise SortitionInputError(f"drop-out rate of {cat}={val} must be in [0, 1), not {d}")
    out = np.zeros(inst.n)
    for i, p in enumerate(inst.people):
        keep = 1.0
        for c in inst.categories:
            keep *= 1.0 - float(rates.get((c, p.features[c]), 0.0))
        out[i] = 1.0 - keep
    return out


def _eligible(inst: Instance, panel: Sequence[int], exclude: Sequence[int] = ()) -> list[int]:
    on = set(panel) | set(exclude)
    homes = {inst.people[i].household for i in panel if inst.people[i].household}
    return [i for i in range(inst.n) if i not in on and not (inst.people[i].household
                                                              and inst.people[i].household in homes)]


def _type_counts(inst: Instance, rows: Sequence[int]) -> np.ndarray:
    return np.bincount(inst.type_of[list(rows)], minlength=inst.n_types).astype(np.float64) if len(rows) \
        else np.zeros(inst.n_types)


class _Completion:
    """MIP over scenarios.  Choice (``n_alternates`` given): alternates as *slots*, binary
    ``w_{t,j}`` = the j-th alternate of type t is on the list (``w_{t,j} >= w_{t,j+1}``, ``sum w =
    a``); slot (t, j) is still available in scenario s with the pre-drawn ``b_{s,t,j}`` (alternates
    drop out at their type's rate too), and ``z_{s,t} <= sum_j b_{s,t,j} w_{t,j}``.  Replacement
    (``n_alternates`` None): the available alternates are given (``avail``) and ``z_{s,t} <=
    avail_t``."""

    def __init__(self, inst: Instance, stayers: list[np.ndarray], dropped: list[int], avail: np.ndarray,
                 n_alternates: int | None, time_limit: float, rate_t: np.ndarray | None = None,
                 rng: np.random.Generator | None = None):
        A = inst.quota_matrix
        nq = A.shape[0]
        h = self.h = new_highs()
        h.setOptionValue("time_limit", float(time_limit))
        h.setOptionValue("mip_rel_gap", 0.01)
        cand = np.nonzero(avail > 0)[0]
        self.cand = cand
        nc = len(cand)
        S = len(stayers)
        choose = n_alternates is not None
        slots = np.minimum(avail[cand], n_alternates).astype(int) if choose else np.zeros(nc, dtype=int)
        first = np.concatenate([[0], np.cumsum(slots)]).astype(int)  # slot columns of type j
        nw = int(first[-1])
        # w (nw), then per scenario: z (nc), short (1), under (nq), over (nq)
        per = nc + 1 + 2 * nq
        ncol = nw + S * per
        lo, hi, cost = np.zeros(ncol), np.zeros(ncol), np.zeros(ncol)
        hi[:nw] = 1.0
        for s in range(S):
            b = nw + s * per
            hi[b:b + nc] = avail[cand]
            hi[b + nc:b + per] = INF
            cost[b + nc:b + per] = 1.0 / S
        h.addVars(ncol, lo, hi)
        h.changeColsCost(ncol, np.arange(ncol, dtype=np.int32), cost)
        integer = np.concatenate([np.arange(nw)] + [nw + s * per + np.arange(nc) for s in range(S)]).astype(np.int32)
        h.changeColsIntegrality(len(integer), integer, np.full(len(integer), highspy.HighsVarType.kInteger,
                                                                dtype=np.uint8))
        if choose:
            h.addRow(n_alternates, n_alternates, nw, np.arange(nw, dtype=np.int32), np.ones(nw))
            for j in range(nc):
                for u in range(first[j], first[j + 1] - 1):  # w_{t,u} >= w_{t,u+1}
                    h.addRow(0.0, INF, 2, np.array([u, u + 1], dtype=np.int32), np.array([1.0, -1.0]))
        Ac = A[:, cand]
        for s in range(S):
            b = nw + s * per
            zi = b + np.arange(nc, dtype=np.int32)
            if choose:  # z_{s,t} <= sum_j b_{s,t,j} w_{t,j}
                for j in range(nc):
                    up = np.nonzero(rng.random(slots[j]) >= rate_t[cand[j]])[0] + first[j] if rate_t is not None \
                        else np.arange(first[j], first[j + 1])
                    h.addRow(-INF, 0.0, len(up) + 1, np.append(zi[j], up).astype(np.int32),
                             np.append(1.0, -np.ones(len(up))))
            h.addRow(dropped[s], dropped[s], nc + 1, np.append(zi, b + nc).astype(np.int32), np.ones(nc + 1))
            have = A @ stayers[s]
            for q in range(nq):
                nz = np.nonzero(Ac[q])[0]
                idx = np.concatenate([zi[nz], [b + nc + 1 + q]]).astype(np.int32)
                h.addRow(inst.quota_lo[q] - have[q], INF, len(idx), idx, np.append(np.ones(len(nz)), 1.0))
                idx = np.concatenate([zi[nz], [b + nc + 1 + nq + q]]).astype(np.int32)
                h.addRow(-INF, inst.quota_hi[q] - have[q], len(idx), idx, np.append(np.ones(len(nz)), -1.0))
        self.nc, self.per, self.nq, self.nw, self.first = nc, per, nq, nw, first

    def solve(self) -> tuple[np.ndarray, float, list[tuple[float, float]]]:
        """(y over all types, objective, per scenario (seats short, quota violation))."""
        h = self.h
        h.run()
        if h.getModelStatus() not in (highspy.HighsModelStatus.kOptimal, highspy.HighsModelStatus.kTimeLimit) \
                or h.getInfo().primal_solution_status != 2:
            raise SortitionInputError(f"the alternates MIP ended {h.modelStatusToString(h.getModelStatus())}")
        v = np.array(h.getSolution().col_value)
        w = np.rint(v[:self.nw])
        y = np.array([w[self.first[j]:self.first[j + 1]].sum() for j in range(self.nc)])
        out = []
        for s in range((len(v) - self.nw) // self.per):
            b = self.nw + s * self.per
            out.append((float(v[b + self.nc]), float(v[b + self.nc + 1:b + self.per].sum())))
        return y, float(h.getInfo().objective_function_value), out


def _scenarios(inst: Instance, panel: Sequence[int], rate: np.ndarray, n: int, rng: np.random.Generator):
    panel = np.asarray(panel)
    for _ in range(n):
        gone = rng.random(len(panel)) < rate[panel]
        yield panel[~gone], int(gone.sum())


def choose_alternates(inst: Instance, panel: Sequence[int], n_alternates: int, rate: np.ndarray, *,
                      scenarios: int = 60, seed: int = 0, time_limit: float = 30.0,
                      alternates_drop: bool = True, exclude: Sequence[int] = ()) -> list[int]:
    """``n_alternates`` volunteers (row indices) minimising the expected seats short plus quota
    violations after replacement, over ``scenarios`` seeded drop-out scenarios; never one of
    ``exclude`` (e.g. withdrawn volunteers, earlier drop-outs)."""
    elig = _eligible(inst, panel, exclude)
    if n_alternates > len(elig):
        raise SortitionInputError(f"{n_alternates} alternates asked for, but only {len(elig)} volunteers are eligible")
    rng = np.random.default_rng(seed)
    sc = [(_type_counts(inst, list(stay)), k) for stay, k in _scenarios(inst, panel, rate, scenarios, rng) if k]
    if not sc:  # nobody drops out in any scenario: any alternates will do
        sc = [(_type_counts(inst, list(panel)), 0)]
    avail = _type_counts(inst, elig)
    rate_t = np.zeros(inst.n_types)
    rate_t[inst.type_of] = rate  # members of a type share their answers, so their rate
    y, _, _ = _Completion(inst, [s for s, _ in sc], [k for _, k in sc], avail, n_alternates, time_limit,
                          rate_t if alternates_drop else None, rng).solve()
    by_type: dict[int, list[int]] = {}
    for i in elig:
        by_type.setdefault(int(inst.type_of[i]), []).append(i)
    picked: list[int] = []
    pick_rng = np.random.default_rng(seed + 1)
    for j, t in enumerate(np.nonzero(avail > 0)[0]):
        if y[j] > 0:
            rows = by_type[int(t)]
            picked += [rows[i] for i in sorted(pick_rng.choice(len(rows), int(y[j]), replace=False))]
    return picked


def like_the_panel(inst: Instance, panel: Sequence[int], n_alternates: int, probabilities: np.ndarray, *,
                   seed: int = 0) -> list[int]:
    """Baseline: reserves drawn like the panel, volunteers off it in proportion to their chance."""
    elig = np.array(_eligible(inst, panel))
    w = np.maximum(np.asarray(probabilities, dtype=np.float64)[elig], 1e-12)
    rng = np.random.default_rng(seed)
    return [int(i) for i in rng.choice(elig, size=min(n_alternates, len(elig)), replace=False, p=w / w.sum())]


def simulate(inst: Instance, panel: Sequence[int], alternates: Sequence[int], rate: np.ndarray, *,
             trials: int = 200, seed: int = 0) -> dict:
    """Seeded trials: panel members and alternates drop out with their rates, the drop-outs are
    replaced by the best completion from the alternates left."""
    rng = np.random.default_rng(seed)
    alternates = np.asarray(list(alternates), dtype=np.int64)
    ok = short = viol = 0.0
    for stay, k in _scenarios(inst, panel, rate, trials, rng):
        left = alternates[rng.random(len(alternates)) >= rate[alternates]] if len(alternates) else alternates
        stayers = _type_counts(inst, list(stay))
        if k == 0:
            s, v = 0.0, 0.0
        else:
            avail = _type_counts(inst, list(left))
            if avail.sum() == 0:
                s = float(k)
                have = inst.quota_matrix @ stayers
                v = float(np.maximum(inst.quota_lo - have, 0).sum() + np.maximum(have - inst.quota_hi, 0).sum())
            else:
                _, _, [(s, v)] = _Completion(inst, [stayers], [k], avail, None, 10.0).solve()
        short += s
        viol += v
        ok += (s < 0.5 and v < 0.5)
    return {"trials": trials, "full_and_within_quotas": ok / trials, "mean_seats_short": short / trials,
            "mean_quota_violation": viol / trials}


def alternates_record(inst: Instance, panel_ids: Sequence[str], count: int, rates: Mapping[tuple[str, str], float], *,
                      exclude_ids: Sequence[str] = (), reserves_ids: Sequence[str] = (), seed: int = 0,
                      scenarios: int = 40, time_limit: float = 10.0, trials: int = 100) -> dict:
    """Alternates for a drawn panel (ids of ``inst``'s volunteers), as the service keeps and
    publishes them: the ordered ids, the drop-out rates, the scenarios and the seed, their
    ``hash`` (sha256 of those four, carried by the next replacement transcript, which draws from
    them), and the simulation of the chosen list against the current reserves and none."""
    index = {p.id: i for i, p in enumerate(inst.people)}
    panel = [index[x] for x in panel_ids]
    exclude = [index[x] for x in exclude_ids if x in index]
    rate = dropout_rates(inst, rates)
    chosen = choose_alternates(inst, panel, count, rate, scenarios=scenarios, seed=seed, time_limit=time_limit,
                               exclude=exclude)
    reserves = [index[x] for x in reserves_ids if x in index][:count]
    body = {"ids": [inst.people[i].id for i in chosen], "scenarios": scenarios, "seed": seed,
            "dropout_rates": sorted([c, v, float(d)] for (c, v), d in rates.items())}
    return {**body, "hash": alternates_hash(body), "count": len(chosen),
            "expected_dropouts": float(rate[panel].sum()),
            "simulation": {"alternates": simulate(inst, panel, chosen, rate, trials=trials, seed=seed),
                           "reserves": simulate(inst, panel, reserves, rate, trials=trials, seed=seed),
                           "none": simulate(inst, panel, [], rate, trials=trials, seed=seed)}}


def alternates_hash(record: Mapping) -> str:
    """The hash of an alternates record as ``alternates_record`` made it (ids, rates, scenarios, seed)."""
    return sha256_json({key: record[key] for key in ("ids", "scenarios", "seed", "dropout_rates")})
