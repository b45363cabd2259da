"""Stage 1 of the civic lottery: how many letters each region (or stratum) gets."""

from __future__ import annotations

from collections.abc import Hashable, Mapping

from shared.problems import InvalidInput


class AllocationError(InvalidInput):
    """Letters that cannot be allocated as asked (an API answers 422 with the message)."""


def allocate(total: int, populations: Mapping[Hashable, float],
             available: Mapping[Hashable, int] | None = None) -> dict:
    """Split `total` letters across regions (or any strata) in proportion to their weight, the
    population (largest remainder).

    `available` caps a region at the number of register entries it still has; the surplus goes
    to the other regions, again in proportion to population.
    """
    if total < 0:
        raise AllocationError("the number of letters must not be negative")
    weights = {r: p for r, p in populations.items() if p > 0}
    if not weights:
        raise AllocationError("no region has a positive population")
    caps = dict(available) if available is not None else {r: total for r in weights}
    if sum(caps.get(r, 0) for r in weights) < total:
        raise AllocationError(
            f"asked for {total} letters but the register extract has only "
            f"{sum(caps.get(r, 0) for r in weights)} people not yet invited"
        )
    result = {r: 0 for r in populations}
    remaining, open_regions = total, set(weights)
    while remaining > 0 and open_regions:
        pop = sum(weights[r] for r in open_regions)
        quotas = {r: remaining * weights[r] / pop for r in open_regions}
        share = {r: int(q) for r, q in quotas.items()}
        left = remaining - sum(share.values())
        for r in sorted(open_regions, key=lambda r: (quotas[r] - share[r], weights[r], r), reverse=True)[:left]:
            share[r] += 1
        for r in sorted(open_regions):
            room = caps.get(r, 0) - result[r]
            take = min(share[r], room)
            result[r] += take
            remaining -= take
            if result[r] >= caps.get(r, 0):
                open_regions.discard(r)
    return result
