"""The mandate's sanity: quotas that no panel could meet are refused (the questionnaire built on
the strata is domain/questionnaire.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


STRATA_WORDS = {
    "duplicate_region": "region codes must be unique",
    "duplicate_category": "category '{category}' appears twice",
    "duplicate_value": "category '{category}' lists a value twice",
    "min_above_max": "{category}={value}: min {min} is above max {max}",
    "minimums_too_high": "category '{category}': the minimums add up to {sum}, more than the panel size {panel_size}",
    "maximums_too_low": "category '{category}': the maximums add up to {sum}, less than the panel size {panel_size}",
    "region_values": "the 'region' category must list exactly the assembly's region codes",
}


def strata_problems(regions: Sequence[Mapping], strata: Sequence[Mapping], panel_size: int) -> list[tuple[str, dict]]:
    """Sanity of the mandate, as (kind, values) pairs (kinds: STRATA_WORDS): quotas that no panel
    of `panel_size` could meet are refused. The pages word them in the reader's language."""
    problems: list[tuple[str, dict]] = []
    region_codes = {r["code"] for r in regions}
    if len(region_codes) != len(regions):
        problems.append(("duplicate_region", {}))
    seen = set()
    for s in strata:
        cat = s["category"]
        if cat in seen:
            problems.append(("duplicate_category", {"category": cat}))
        seen.add(cat)
        values = [q["value"] for q in s["quotas"]]
        if len(set(values)) != len(values):
            problems.append(("duplicate_value", {"category": cat}))
        for q in s["quotas"]:
            if q["min"] > q["max"]:
                problems.append(("min_above_max", {"category": cat, "value": q["value"], "min": q["min"], "max": q["max"]}))
        lo, hi = sum(q["min"] for q in s["quotas"]), sum(q["max"] for q in s["quotas"])
        if lo > panel_size:
            problems.append(("minimums_too_high", {"category": cat, "sum": lo, "panel_size": panel_size}))
        if hi < panel_size:
            problems.append(("maximums_too_low", {"category": cat, "sum": hi, "panel_size": panel_size}))
        if cat == "region" and set(values) != region_codes:
            problems.append(("region_values", {"category": cat}))
    return problems


def check_strata(regions: Sequence[Mapping], strata: Sequence[Mapping], panel_size: int) -> list[str]:
    """The problems of `strata_problems`, in English (the API's words)."""
    return [STRATA_WORDS[kind].format(**values) for kind, values in strata_problems(regions, strata, panel_size)]
