"""The registration questionnaire: answers must name a value the assembly's strata know."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def questionnaire(strata: Sequence[Mapping]) -> dict[str, list[str]]:
    """Categories the respondent answers (region comes from the invitation, not from the form)."""
    return {s["category"]: [q["value"] for q in s["quotas"]] for s in strata if s["category"] != "region"}


def check_answers(strata: Sequence[Mapping], answers: Mapping[str, str]) -> list[dict[str, str]]:
    """Problems as [{field, problem}]; empty when the answers are complete and valid."""
    problems = []
    asked = questionnaire(strata)
    for category, values in asked.items():
        given = answers.get(category)
        if given is None:
            problems.append({"field": f"answers.{category}", "problem": f"missing; one of {', '.join(values)}"})
        elif given not in values:
            problems.append({"field": f"answers.{category}", "problem": f"'{given}' is not one of {', '.join(values)}"})
    for category in answers:
        if category not in asked:
            problems.append({"field": f"answers.{category}", "problem": "not a question of this assembly"})
    return problems


def check_strata(regions: Sequence[Mapping], strata: Sequence[Mapping], panel_size: int) -> list[str]:
    """Sanity of the mandate: quotas that no panel of `panel_size` could meet are refused."""
    problems = []
    region_codes = {r["code"] for r in regions}
    if len(region_codes) != len(regions):
        problems.append("region codes must be unique")
    seen = set()
    for s in strata:
        cat = s["category"]
        if cat in seen:
            problems.append(f"category '{cat}' appears twice")
        seen.add(cat)
        values = [q["value"] for q in s["quotas"]]
        if len(set(values)) != len(values):
            problems.append(f"category '{cat}' lists a value twice")
        for q in s["quotas"]:
            if q["min"] > q["max"]:
                problems.append(f"{cat}={q['value']}: min {q['min']} is above max {q['max']}")
        lo, hi = sum(q["min"] for q in s["quotas"]), sum(q["max"] for q in s["quotas"])
        if lo > panel_size:
            problems.append(f"category '{cat}': the minimums add up to {lo}, more than the panel size {panel_size}")
        if hi < panel_size:
            problems.append(f"category '{cat}': the maximums add up to {hi}, less than the panel size {panel_size}")
        if cat == "region" and set(values) != region_codes:
            problems.append("the 'region' category must list exactly the assembly's region codes")
    return problems
