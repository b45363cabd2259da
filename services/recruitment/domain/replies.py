"""Registrations per stratum against the quotas: for each category of the assembly and each of its
values, how many have registered, their share of the pool, and the panel's quota as a share of
the panel, with a verdict a person can act on. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class StratumRow:
    category: str
    value: str
    quota_min: int
    quota_max: int
    registrations: int
    share: float  # of all registrations
    quota_min_share: float  # of the panel
    quota_max_share: float
    status: str  # "short": fewer registered than the quota's minimum; "low": a smaller share than the minimum's; "ok"


def count_features(features: Sequence[Mapping[str, str]]) -> dict[str, dict[str, int]]:
    """registrations[category][value] from the registrations' answers (region included)."""
    out: dict[str, dict[str, int]] = {}
    for f in features:
        for category, value in f.items():
            per = out.setdefault(category, {})
            per[value] = per.get(value, 0) + 1
    return out


def stratum_report(strata: Sequence[Mapping], panel_size: int, counts: Mapping[str, Mapping[str, int]],
                   total: int) -> list[tuple[str, list[StratumRow]]]:
    """Per category (in the assembly's order), a row per quota value."""
    report = []
    for s in strata:
        category = s["category"]
        got = counts.get(category, {})
        rows = []
        for q in s["quotas"]:
            n = got.get(q["value"], 0)
            share = n / total if total else 0.0
            lo, hi = q["min"] / panel_size, min(q["max"] / panel_size, 1.0)
            status = "short" if n < q["min"] else ("low" if total and share < lo else "ok")
            rows.append(StratumRow(category, q["value"], q["min"], q["max"], n, share, lo, hi, status))
        report.append((category, rows))
    return report
