"""The staff's forms for sessions, read without I/O: the schedule form (a local date and time in
Copenhagen, a duration with a Danish or English decimal mark) and the attendance sheet (one
present/absent choice per roster member, none assumed). Problems are (field, kind) pairs the page
words in the reader's language."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

LOCAL = ZoneInfo("Europe/Copenhagen")
MODES = ("physical", "digital", "hybrid")
PHASES = ("learning", "hearing", "values", "vision", "recommendations", "voting", "other")


def read_schedule_form(form: Mapping[str, str]) -> tuple[dict, list[tuple[str, str]]]:
    """The API's SessionIn fields from the form, and what is wrong with it."""
    problems: list[tuple[str, str]] = []
    title = (form.get("title") or "").strip()
    if not title:
        problems.append(("title", "title_missing"))
    elif len(title) > 200:
        problems.append(("title", "title_too_long"))
    when, found = read_when_form(form)
    problems += found
    mode = form.get("mode") or ""
    if mode not in MODES:
        problems.append(("mode", "mode"))
    phase = form.get("phase") or ""
    if phase not in PHASES:
        problems.append(("phase", "phase"))
    return {"title": title, "mode": mode, "phase": phase, **when}, problems


def read_when_form(form: Mapping[str, str]) -> tuple[dict, list[tuple[str, str]]]:
    """When a session is held: `starts_at` (UTC, from a local date and time) and `duration_hours`."""
    problems: list[tuple[str, str]] = []
    day = when = None
    try:
        day = date.fromisoformat((form.get("date") or "").strip())
    except ValueError:
        problems.append(("date", "date"))
    raw_time = (form.get("time") or "").strip().replace(".", ":")
    raw_time = "0" + raw_time if len(raw_time) == 4 else raw_time  # 9:30
    try:
        when = time.fromisoformat(raw_time) if len(raw_time) == 5 else None
    except ValueError:
        when = None
    if when is None:
        problems.append(("time", "time"))
    try:
        hours = float((form.get("duration_hours") or "").strip().replace(",", "."))
    except ValueError:
        hours = -1.0
    if not 0 < hours <= 72 or hours != hours:
        problems.append(("duration_hours", "duration"))
    starts_at = None
    if day is not None and when is not None:
        starts_at = datetime.combine(day, when, tzinfo=LOCAL).astimezone(timezone.utc)
    return {"starts_at": starts_at, "duration_hours": hours}, problems


def read_attendance_form(form: Mapping[str, str], roster: list[uuid.UUID]) -> list[tuple[uuid.UUID, bool]]:
    """(member, present) for every roster member the sheet marks (`m_<member id>` = present |
    absent); members left unmarked are not recorded (they count as absent when the session is
    closed), and anything that is not a roster member is ignored."""
    records = []
    for member in roster:
        choice = form.get(f"m_{member}")
        if choice in ("present", "absent"):
            records.append((member, choice == "present"))
    return records
