"""The staff's table-plan form: numbers, and members named by their number on the roster or the
start of their id (as on the attendance sheet); parsed into plan settings and needs, with the
problems to show beside each field (no I/O)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence

LANGUAGE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})?$")  # a BCP 47-ish tag: en, ar, de-ch
SEATS = ("checked_in", "roster")
PRIORITIES = ("no_repeats", "mix")

# field -> (smallest, largest, default; None = may be empty)
NUMBERS = {"rounds": (1, 12, 3), "table_size": (2, 30, 8), "min_size": (2, 30, 6), "max_size": (2, 30, 10),
           "facilitators": (1, 500, None), "accessible_tables": (0, 500, None), "seed": (0, 2**31 - 1, 0)}


def member_lookup(roster: Sequence[Mapping]) -> dict[str, uuid.UUID]:
    """'12', 'A1B2C3D4' (any case) and the full id all name the same member."""
    out: dict[str, uuid.UUID] = {}
    for r in roster:
        out[str(r["n"])] = r["id"]
        out[r["ref"].lower()] = r["id"]
        out[str(r["id"]).lower()] = r["id"]
    return out


def _words(text: str) -> list[str]:
    return [w for w in re.split(r"[\s,;]+", text.strip().lower()) if w]


def read_plan_form(form: Mapping[str, str], roster: Sequence[Mapping]) -> tuple[dict, list[tuple[str, str]]]:
    """(values, problems): values has the plan's settings plus `needs` {member: (language, accessible)}
    and `keep_apart` [(a, b)]; problems are (field, kind) pairs."""
    values: dict = {}
    problems: list[tuple[str, str]] = []
    for name, (lo, hi, default) in NUMBERS.items():
        raw = (form.get(name) or "").strip()
        if not raw:
            if default is None:
                values[name] = None
                continue
            values[name] = default
            continue
        if not raw.isdigit() or not lo <= int(raw) <= hi:
            problems.append((name, "number"))
            continue
        values[name] = int(raw)
    if not problems and values["min_size"] > values["max_size"]:
        problems.append(("min_size", "sizes"))
    seat = form.get("seat") or "checked_in"
    if seat not in SEATS:
        problems.append(("seat", "seat"))
    values["seat"] = seat
    priority = form.get("priority") or "no_repeats"
    if priority not in PRIORITIES:
        problems.append(("priority", "priority"))
    values["priority"] = priority
    who = member_lookup(roster)
    needs: dict[uuid.UUID, list] = {}
    for line in (form.get("languages") or "").splitlines():
        words = _words(line)
        if not words:
            continue
        if len(words) != 2 or words[0] not in who or not LANGUAGE.match(words[1]):
            problems.append(("languages", "language_line"))
            continue
        needs.setdefault(who[words[0]], [None, False])[0] = words[1]
    for word in _words(form.get("accessible") or ""):
        if word not in who:
            problems.append(("accessible", "member"))
            continue
        needs.setdefault(who[word], [None, False])[1] = True
    values["needs"] = {m: (lang, acc) for m, (lang, acc) in needs.items()}
    pairs = []
    for line in (form.get("keep_apart") or "").splitlines():
        words = _words(line)
        if not words:
            continue
        if len(words) != 2 or any(w not in who for w in words) or who[words[0]] == who[words[1]]:
            problems.append(("keep_apart", "pair"))
            continue
        pairs.append((who[words[0]], who[words[1]]))
    values["keep_apart"] = pairs
    return values, problems
