"""The programme's forms, read without I/O: where a session is held (rows of region and venue, the
online link, capacity), an agenda item (phase, title, minutes, speakers, place), an expert or a
stakeholder, a document's link or file, a member's witness request and the secretariat's answer.
Each reader returns (values, problems); problems are (field, kind) pairs the page words in the
reader's language."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping

from services.sessions.domain.programme import (
    DOCUMENT_KINDS, EXPERT_KINDS, ITEM_PHASES, MAX_DOCUMENT_BYTES, MAX_VENUES, WITNESS_ANSWERS, check_venues,
    web_link)
from shared.problems import InvalidInput

Problems = list[tuple[str, str]]


def _text(form: Mapping[str, str], field: str, most: int, problems: Problems, *, required: bool = True) -> str:
    value = (form.get(field) or "").strip()
    if required and not value:
        problems.append((field, "missing"))
    elif len(value) > most:
        problems.append((field, "too_long"))
    return value


def _whole(form: Mapping[str, str], field: str, lo: int, hi: int, problems: Problems, *,
           required: bool = True) -> int | None:
    raw = (form.get(field) or "").strip()
    if not raw and not required:
        return None
    if not raw.isdigit() or not lo <= int(raw) <= hi:
        problems.append((field, "number"))
        return None
    return int(raw)


def _choice(form: Mapping[str, str], field: str, allowed: Iterable[str], problems: Problems) -> str:
    value = form.get(field) or ""
    if value not in allowed:
        problems.append((field, "choose"))
    return value


def read_setting_form(form: Mapping[str, str], mode: str) -> tuple[dict, Problems]:
    """Venues from rows `region_<i>`/`venue_<i>` (empty rows skipped), `online_url`, `capacity`;
    checked against the session's mode (a venue for physical and hybrid, a link for digital and
    hybrid)."""
    problems: Problems = []
    venues: list[tuple[str, str]] = []
    rows: list[int] = []  # the form's row of each venue (empty rows are skipped)
    for i in range(MAX_VENUES):
        region = (form.get(f"region_{i}") or "").strip()
        venue = (form.get(f"venue_{i}") or "").strip()
        if not region and not venue:
            continue
        if not region:
            problems.append((f"region_{i}", "region_missing"))
        elif len(region) > 100:
            problems.append((f"region_{i}", "too_long"))
        if not venue:
            problems.append((f"venue_{i}", "venue_missing"))
        elif len(venue) > 300:
            problems.append((f"venue_{i}", "too_long"))
        venues.append((region, venue))
        rows.append(i)
    online = (form.get("online_url") or "").strip() or None
    if online is not None:
        try:
            online = web_link(online, "online_url")
        except InvalidInput:
            problems.append(("online_url", "link"))
    capacity = _whole(form, "capacity", 1, 100_000, problems, required=False)
    if not problems:
        try:
            check_venues(mode, venues, online)
        except InvalidInput as exc:
            problem = exc.details[0]["problem"] if exc.details else ""
            if exc.details and exc.details[0]["field"] == "online_url":
                problems.append(("online_url", "link_needed"))
            elif problem == "region twice":
                regions = [r.casefold() for r, _ in venues]
                twice = next(i for i, r in enumerate(regions) if regions.index(r) != i)
                problems.append((f"region_{rows[twice]}", "region_twice"))
            else:
                problems.append(("region_0", "venue_needed"))
    return {"venues": venues, "online_url": online, "capacity": capacity}, problems


def read_speakers(values: Iterable[str], known: Iterable[uuid.UUID]) -> list[uuid.UUID]:
    """The ticked experts that exist (anything else is ignored: the boxes come from the page)."""
    known = set(known)
    out = []
    for raw in values:
        try:
            x = uuid.UUID(str(raw))
        except ValueError:
            continue
        if x in known and x not in out:
            out.append(x)
    return out


def read_item_form(form: Mapping[str, str], *, with_position: bool = False) -> tuple[dict, Problems]:
    """An agenda item's phase, title, minutes and description (and its place on the agenda)."""
    problems: Problems = []
    values = {"phase": _choice(form, "phase", ITEM_PHASES, problems),
              "title": _text(form, "title", 200, problems),
              "minutes": _whole(form, "minutes", 1, 720, problems),
              "description": _text(form, "description", 4000, problems, required=False)}
    if with_position:
        values["position"] = _whole(form, "position", 1, 500, problems, required=False)
    return values, problems


def read_expert_form(form: Mapping[str, str]) -> tuple[dict, Problems]:
    problems: Problems = []
    return {"kind": _choice(form, "kind", EXPERT_KINDS, problems),
            "name": _text(form, "name", 200, problems),
            "affiliation": _text(form, "affiliation", 200, problems),
            "interests": _text(form, "interests", 4000, problems)}, problems


def read_link_form(form: Mapping[str, str]) -> tuple[dict, Problems]:
    problems: Problems = []
    values = {"kind": _choice(form, "link_kind", DOCUMENT_KINDS, problems),
              "title": _text(form, "link_title", 200, problems),
              "url": _text(form, "url", 2000, problems)}
    if values["url"] and not any(f == "url" for f, _ in problems):
        try:
            values["url"] = web_link(values["url"])
        except InvalidInput:
            problems.append(("url", "link"))
    return values, problems


def read_upload_form(form: Mapping[str, str], filename: str | None, size: int) -> tuple[dict, Problems]:
    """A file's kind and title; `size` is what was read (at most MAX_DOCUMENT_BYTES + 1)."""
    problems: Problems = []
    values = {"kind": _choice(form, "file_kind", DOCUMENT_KINDS, problems),
              "title": _text(form, "file_title", 200, problems)}
    if not filename:
        problems.append(("file", "file_missing"))
    elif size == 0:
        problems.append(("file", "file_empty"))
    elif size > MAX_DOCUMENT_BYTES:
        problems.append(("file", "file_too_large"))
    return values, problems


def read_witness_form(form: Mapping[str, str], sessions: Iterable[uuid.UUID]) -> tuple[dict, Problems]:
    """Whom the member wants to hear, why, and (optionally) at which of the assembly's sessions."""
    problems: Problems = []
    values = {"wanted": _text(form, "wanted", 300, problems), "reason": _text(form, "reason", 2000, problems),
              "session_id": None}
    raw = (form.get("session_id") or "").strip()
    if raw:
        known = {str(s): s for s in sessions}
        if raw not in known:
            problems.append(("session_id", "choose"))
        else:
            values["session_id"] = known[raw]
    return values, problems


def read_answer_form(form: Mapping[str, str], field_suffix: str) -> tuple[dict, Problems]:
    """The secretariat's answer to one request (the fields carry the request's id as a suffix)."""
    problems: Problems = []
    status = form.get("status") or ""
    if status not in WITNESS_ANSWERS:
        problems.append((f"status-{field_suffix}", "choose"))
    answer = (form.get("answer") or "").strip()
    if len(answer) > 2000:
        problems.append((f"answer-{field_suffix}", "too_long"))
    return {"status": status, "answer": answer}, problems
