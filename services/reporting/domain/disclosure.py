"""What the published report may show: counts of people in a group below the smallest group size
(k-anonymity, default 5) are suppressed, with the shares that would give them away. Pure."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

DEFAULT_MIN_GROUP = 5


def small(n: int | None, k: int) -> bool:
    """A group of 1..k-1 people (0 is no one and may be shown)."""
    return n is not None and 0 < n < k


def public_figures(summary: Mapping[str, Any], k: int = DEFAULT_MIN_GROUP) -> dict[str, Any]:
    """The summary as the report publishes it: every count of registrations, pool or panel members
    in one group (a stratum value, a region) that is below `k` becomes None, and so do its share
    and its reply rate. Whether the panel is within the quota band stays (the band is public)."""
    s = copy.deepcopy(dict(summary))
    for c in s.get("composition", []):
        for key in ("pool", "panel"):
            if small(c[key], k):
                c[key] = c[f"{key}_share"] = None
    for r in s.get("per_region", []):
        if small(r["registrations"], k):
            r["registrations"] = r["reply_rate"] = None
        if small(r["panel"], k):
            r["panel"] = None
    s["min_group"] = k
    return s
