"""The functions the sortition service (and the CLI) call.  All pure: data in, data out.

    inst = build_instance(people, quotas, k, address_keys=[...])      # or io_formats.read_*
    res  = select(inst, "leximin")                                     # fairness report
    t    = final_draw(inst, res, contributions, beacon=..., m=1000, n_reserves=10)
    verify_transcript(t, inst)                                         # raises VerificationError
    rep  = replace_members(inst, t["selected"], dropped=[...], seed_hex=t["seed"])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from .draw import Contribution, HashPRNG, build_transcript, commitment, verify_transcript  # noqa: F401
from .engine import ENGINE_VERSION, SelectionResult, select
from .leximin import Progress
from .lottery import Lottery, make_lottery
from .model import Instance, Person, Quota, SortitionInputError, build_instance, sha256_json


def final_draw(
    inst: Instance,
    result: SelectionResult,
    contributions: Sequence[Contribution],
    *,
    beacon: str | None = None,
    m: int = 1000,
    n_reserves: int = 0,
    lottery: Lottery | None = None,
) -> dict[str, Any]:
    """Round ``result`` to a uniform lottery of ``m`` panels and draw from it verifiably.

    Returns the transcript (JSON-able dict); ``transcript["selected"]`` are the panel's ids,
    ``transcript["reserves"]`` the ordered reserve list.
    """
    lot = lottery or make_lottery(inst, result.distribution, m)
    return build_transcript(
        inst,
        algorithm=result.algorithm,
        engine=ENGINE_VERSION,
        lottery_panels=lot.panels,
        lottery_max_deviation=lot.max_deviation,
        contributions=contributions,
        beacon=beacon,
        n_reserves=n_reserves,
        extra={"fairness": {"min_probability": result.min_probability,
                            "max_probability": result.max_probability,
                            "gini": result.gini, "geometric_mean": result.geometric_mean}},
    )


@dataclass
class Replacement:
    added: list[str]  # ids of the new members
    panel: list[str]  # the full new panel (stayers + added)
    probabilities: dict[str, float]  # candidate id -> chance of being added (LEXIMIN over completions)
    seed: str
    index: int
    m: int
    max_deviation: float


def replace_members(
    inst: Instance,
    panel_ids: Sequence[str],
    dropped: Sequence[str],
    *,
    seed_hex: str,
    candidates: Sequence[str] | None = None,
    algorithm: str = "leximin",
    m: int = 1000,
    progress: Progress | None = None,
) -> Replacement:
    """Replace the ``dropped`` members of a panel by a fair draw conditioned on the stayers.

    The candidates (default: everyone not on the panel; or e.g. the reserve list) form a
    reduced instance whose quotas are the original ones minus what the stayers already fill
    and whose panel size is the number of drop-outs; ``algorithm`` (LEXIMIN by default) gives
    the fairest distribution over valid completions, rounded to an m-lottery and drawn with the
    hash PRNG seeded by ``sha256({seed, stayers, dropped, distribution})`` so it can be replayed.
    """
    index_of = {p.id: i for i, p in enumerate(inst.people)}
    unknown = [i for i in list(panel_ids) + list(dropped) if i not in index_of]
    if unknown:
        raise SortitionInputError(f"unknown volunteer id(s): {', '.join(map(str, unknown))}")
    if not set(dropped) <= set(panel_ids):
        raise SortitionInputError("a dropped member is not on the panel")
    if not dropped:
        raise SortitionInputError("nobody dropped out: nothing to replace")
    stay = [index_of[i] for i in panel_ids if i not in set(dropped)]
    stay_hh = {inst.people[i].household for i in stay if inst.people[i].household}
    on_panel = {index_of[i] for i in panel_ids}
    if candidates is None:
        cand = [i for i in range(inst.n) if i not in on_panel]
    else:
        miss = [c for c in candidates if c not in index_of]
        if miss:
            raise SortitionInputError(f"unknown candidate id(s): {', '.join(miss)}")
        cand = [index_of[c] for c in candidates if index_of[c] not in on_panel]
    cand = [i for i in cand if not (inst.people[i].household and inst.people[i].household in stay_hh)]
    filled = inst.panel_counts(stay)
    quotas = []
    for q in inst.quotas:
        f = filled[(q.category, q.value)]
        if q.max - f < 0:
            raise SortitionInputError(f"the stayers already exceed {q.category}={q.value} max {q.max}")
        quotas.append(Quota(q.category, q.value, max(0, q.min - f), q.max - f))
    people = [inst.people[i] for i in cand]
    if not people:
        raise SortitionInputError("no replacement candidates left")
    try:
        sub = build_instance(people, quotas, len(dropped), source="replacement candidates")
        res = select(sub, algorithm, progress=progress)
    except SortitionInputError as exc:
        raise SortitionInputError(f"the candidates cannot complete the panel: {exc}") from None
    lot = make_lottery(sub, res.distribution, m)
    ids = [[sub.people[i].id for i in p] for p in lot.panels]
    rseed = sha256_json({"seed": seed_hex, "stayers": sorted(inst.people[i].id for i in stay),
                         "dropped": sorted(dropped), "distribution": sha256_json(ids)})
    prng = HashPRNG(rseed)
    idx = prng.randbelow(len(ids))
    added = ids[idx]
    probs = res.probabilities
    return Replacement(
        added=added,
        panel=[inst.people[i].id for i in stay] + added,
        probabilities={p.id: float(v) for p, v in zip(sub.people, probs)},
        seed=rseed, index=idx, m=len(ids), max_deviation=lot.max_deviation,
    )


__all__ = [
    "Contribution", "Instance", "Lottery", "Person", "Quota", "Replacement", "SelectionResult",
    "SortitionInputError", "build_instance", "commitment", "final_draw", "make_lottery",
    "replace_members", "select", "verify_transcript",
]
