"""Representativeness and process figures from plain facts (no I/O)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence


def share(counter: Mapping[str, int], total: int) -> dict[str, float]:
    return {k: (v / total if total else 0.0) for k, v in counter.items()}


def composition(strata: Sequence[Mapping], pool: Iterable[Mapping[str, str]], panel: Iterable[Mapping[str, str]],
                panel_size: int) -> list[dict]:
    """Per category value: the quota band, and the pool's and the panel's share."""
    pool, panel = list(pool), list(panel)
    rows = []
    for s in strata:
        cat = s["category"]
        in_pool = Counter(p.get(cat) for p in pool)
        in_panel = Counter(p.get(cat) for p in panel)
        for q in s["quotas"]:
            v = q["value"]
            rows.append({
                "category": cat,
                "value": v,
                "quota_min": q["min"],
                "quota_max": q["max"],
                "target_share": (q["min"] + q["max"]) / 2 / panel_size if panel_size else 0.0,
                "pool": in_pool.get(v, 0),
                "pool_share": in_pool.get(v, 0) / len(pool) if pool else 0.0,
                "panel": in_panel.get(v, 0),
                "panel_share": in_panel.get(v, 0) / len(panel) if panel else 0.0,
                "within_quota": q["min"] <= in_panel.get(v, 0) <= q["max"] if panel else None,
            })
    return rows


def reply_rate(registrations: int, invitations: int) -> float:
    return registrations / invitations if invitations else 0.0


def attendance_rate(sessions: Iterable[Mapping]) -> float:
    present = absent = 0
    for s in sessions:
        present += s.get("present") or 0
        absent += s.get("absent") or 0
    return present / (present + absent) if present + absent else 0.0
