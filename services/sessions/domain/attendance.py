"""Attendance rules: who may be recorded, and the counts a held session reports."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping


def unknown_members(records: Iterable[uuid.UUID], roster: set[uuid.UUID]) -> list[uuid.UUID]:
    return [m for m in records if m not in roster]


def held_counts(roster: set[uuid.UUID], present: Mapping[uuid.UUID, bool]) -> tuple[int, int]:
    """(present, absent): a roster member without a record counts as absent."""
    here = sum(1 for m in roster if present.get(m, False))
    return here, len(roster) - here
