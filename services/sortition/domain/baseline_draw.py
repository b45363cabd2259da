"""The foundation's baseline draw: a uniformly weighted random panel that meets every quota.

A MIP (HiGHS) maximises the sum of seeded random weights over quota-feasible panels, so the
panel is random, always meets the quotas when any panel can, and says so when none can. The fair
engine (LEXIMIN and friends, issue 3) replaces this for production draws.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

import highspy
import numpy as np

from services.sortition.domain.highs_util import new_highs


class Infeasible(ValueError):
    pass


def quota_problems(pool: Sequence[Mapping[str, str]], strata: Sequence[Mapping], k: int) -> list[str]:
    """Cheap necessary conditions, with messages an organiser can act on."""
    problems = []
    if k > len(pool):
        problems.append(f"the pool has {len(pool)} people, fewer than the panel size {k}")
    for s in strata:
        cat = s["category"]
        counts: dict[str, int] = {}
        for p in pool:
            counts[p.get(cat, "")] = counts.get(p.get(cat, ""), 0) + 1
        for q in s["quotas"]:
            have = counts.get(q["value"], 0)
            if have < q["min"]:
                problems.append(f"{cat}={q['value']}: the quota needs at least {q['min']} but the pool has {have}")
    return problems


def draw(pool: Sequence[Mapping[str, str]], strata: Sequence[Mapping], k: int, seed: int,
         households: Sequence[str | None] | None = None) -> list[int]:
    """Indices of a quota-feasible panel of size k, random given `seed`."""
    problems = quota_problems(pool, strata, k)
    if problems:
        raise Infeasible("; ".join(problems))
    rng = random.Random(seed)
    n = len(pool)
    h = new_highs()  # HiGHS' thread pool is process-wide: every instance must use the same settings
    h.setOptionValue("random_seed", seed % 2**31)
    weights = [rng.random() for _ in range(n)]
    for i in range(n):
        h.addVar(0, 1)
        h.changeColCost(i, -weights[i])
        h.changeColIntegrality(i, highspy.HighsVarType.kInteger)
    idx = np.arange(n, dtype=np.int32)
    h.addRow(k, k, n, idx, np.ones(n))
    for s in strata:
        for q in s["quotas"]:
            members = np.array([i for i in range(n) if pool[i].get(s["category"]) == q["value"]], dtype=np.int32)
            h.addRow(q["min"], q["max"], len(members), members, np.ones(len(members)))
    if households:
        groups: dict[str, list[int]] = {}
        for i, hh in enumerate(households):
            if hh:
                groups.setdefault(hh, []).append(i)
        for members in groups.values():
            if len(members) > 1:
                h.addRow(0, 1, len(members), np.array(members, dtype=np.int32), np.ones(len(members)))
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        raise Infeasible("no panel of this size meets every quota together (each quota alone can be met)")
    values = h.getSolution().col_value
    return sorted(i for i in range(n) if values[i] > 0.5)


def reserve_order(n: int, panel: Sequence[int], seed: int, count: int) -> list[int]:
    """An ordered reserve list: the rest of the pool in seeded random order, first `count`."""
    rest = sorted(set(range(n)) - set(panel))
    random.Random(seed ^ 0x5EED).shuffle(rest)
    return rest[:count]
