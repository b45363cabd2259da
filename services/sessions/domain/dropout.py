"""Drop-out rules: each member's attendance over the sessions held, how many they missed in a row
up to the latest, and who the assembly's rule (missed N held sessions in a row) calls a drop-out
or at risk. A member who joined the panel later (a replacement) is judged only on the sessions
held after they joined."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

DEFAULT_MISSED_IN_A_ROW = 2  # two held sessions in a row missed: most assemblies follow up after one
MAX_MISSED_IN_A_ROW = 20


@dataclass(frozen=True)
class HeldSession:
    id: uuid.UUID
    held_at: datetime


@dataclass(frozen=True)
class MemberHistory:
    member_id: uuid.UUID
    marks: tuple[bool | None, ...]  # per held session in time order: present, absent, None (not yet a member)
    attended: int
    missed: int
    missed_in_a_row: int  # up to the latest held session


def histories(roster: Iterable[uuid.UUID], held: Sequence[HeldSession],
              present: Mapping[tuple[uuid.UUID, uuid.UUID], bool],
              joined: Mapping[uuid.UUID, datetime] | None = None) -> list[MemberHistory]:
    """Each roster member's history, in the order of `roster`. `present[(session, member)]` is a
    mark; a member without one at a held session was absent (as the session's count says)."""
    joined = joined or {}
    out = []
    for mid in roster:
        since = joined.get(mid)
        marks = tuple(None if since is not None and s.held_at <= since else present.get((s.id, mid), False)
                      for s in held)
        in_a_row = 0
        for mark in reversed(marks):
            if mark is not False:
                break
            in_a_row += 1
        out.append(MemberHistory(mid, marks, sum(1 for x in marks if x), sum(1 for x in marks if x is False),
                                 in_a_row))
    return out


def dropouts(history: Iterable[MemberHistory], missed_in_a_row: int) -> list[MemberHistory]:
    """Members the rule calls drop-outs: they missed at least `missed_in_a_row` held sessions in a row."""
    return [h for h in history if h.missed_in_a_row >= missed_in_a_row]


def at_risk(history: Iterable[MemberHistory], missed_in_a_row: int) -> list[MemberHistory]:
    """Members who missed the latest held session(s) but not yet as many as the rule."""
    return [h for h in history if 0 < h.missed_in_a_row < missed_in_a_row]


def rule_problem(value: str | int | None) -> str | None:
    """Why a rule's number is not usable (a stable code), or None."""
    try:
        n = int(str(value).strip())
    except ValueError:
        return "number"
    return None if 1 <= n <= MAX_MISSED_IN_A_ROW else "number"
