"""The functions the sortition service (and the CLI) call.  All pure: data in, data out.

    inst = build_instance(people, quotas, k, address_keys=[...])      # or io_formats.read_*
    res  = select(inst, "leximin")                                     # fairness report
    t    = final_draw(inst, res, contributions, beacon=..., m=1000, n_reserves=10)
    verify_transcript(t, inst)                                         # raises VerificationError
    rep  = replace_members(inst, t["selected"], dropped=[...], seed_hex=t["seed"])
    r1   = draw_replacement(inst, t, dropped=[...], m=1000)            # a replacement transcript
    verify_replacements([r1, r2, ...], inst, draw=t)                   # raises VerificationError

With volunteers excluded from the draw (withdrawn before the seed could be known), select and
round over ``eligible_instance(inst, ids)`` and pass ``excluded=..., frozen_pool=inst``.
"""

from __future__ import annotations

from typing import Any, Sequence

from .draw import (Contribution, HashPRNG, build_transcript, commitment, eligible_instance,  # noqa: F401
                   verify_transcript)
from .engine import ENGINE_VERSION, SelectionResult, select
from .lottery import Lottery, make_lottery
from .model import Instance, Person, Quota, SortitionInputError, build_instance
from .replacement import (Replacement, draw_replacement, fresh_randomness, replace_members,  # noqa: F401
                          replacement_exclusions, verify_replacement, verify_replacements)


def final_draw(
    inst: Instance,
    result: SelectionResult,
    contributions: Sequence[Contribution],
    *,
    beacon: str | None = None,
    m: int = 1000,
    n_reserves: int = 0,
    lottery: Lottery | None = None,
    excluded: Sequence[str | dict[str, str]] = (),
    frozen_pool: Instance | None = None,
) -> dict[str, Any]:
    """Round ``result`` to a uniform lottery of ``m`` panels and draw from it verifiably.

    Returns the transcript (JSON-able dict); ``transcript["selected"]`` are the panel's ids,
    ``transcript["reserves"]`` the ordered reserve list.  With ``excluded`` volunteers, ``inst``
    (and ``result``) are over ``eligible_instance(frozen_pool, ids)``.
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
        excluded=excluded,
        frozen_pool=frozen_pool,
        extra={"fairness": {"min_probability": result.min_probability,
                            "max_probability": result.max_probability,
                            "gini": result.gini, "geometric_mean": result.geometric_mean}},
    )


__all__ = [
    "Contribution", "Instance", "Lottery", "Person", "Quota", "Replacement", "SelectionResult",
    "SortitionInputError", "build_instance", "commitment", "draw_replacement", "eligible_instance", "final_draw", "fresh_randomness",
    "make_lottery", "replace_members", "replacement_exclusions", "select", "verify_replacement",
    "verify_replacements", "verify_transcript",
]
