"""Sessions' pages for staff: an assembly's calendar, scheduling a session, the attendance sheet a
facilitator fills in on a phone at the door, and closing a session as held (after a confirmation).
Each page has the same policy as the API route beside it; writes go through the same handlers.

The roster is pseudonymous here (sessions never holds names): a member is shown by number and the
start of their id, which the registrar's selection letters (CSV) carry."""

from __future__ import annotations

import uuid
from itertools import groupby
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.sessions import handlers as h
from services.sessions.handlers import checkin as hc
from services.sessions import views as v
from services.sessions.api import session_scope
from services.sessions.domain.checkin import NOTE_MAX, correction_problems
from services.sessions.domain.session_form import MODES, PHASES, read_attendance_form, read_schedule_form
from shared.auth import AUDITOR, FACILITATOR, ORGANISER, Principal, allow
from shared.openapi import errors
from shared.runtime import RuntimeDep
from shared.ui import N_, Formats, Pages, service_url

pages = Pages("sessions", Path(__file__).parent.parent / "templates")
router = APIRouter(tags=["pages"])

PHASE_NAMES = {"learning": N_("Learning"), "hearing": N_("Hearing"), "values": N_("Values"), "vision": N_("Vision"),
               "recommendations": N_("Recommendations"), "voting": N_("Voting"), "other": N_("Other")}
MODE_NAMES = {"physical": N_("At the venue"), "digital": N_("Online"), "hybrid": N_("At the venue and online")}
SCHEDULE_PROBLEMS = {
    "title_missing": N_("Enter the session's title"),
    "title_too_long": N_("The title can have at most 200 characters"),
    "date": N_("Enter the date as year-month-day, for example 2027-03-06"),
    "time": N_("Enter the start time as hours and minutes, for example 09:30"),
    "duration": N_("Enter the duration in hours, more than 0 and at most 72, for example 6,5"),
    "mode": N_("Choose where the session takes place"),
    "phase": N_("Choose the session's phase"),
}

REASON_NAMES = {"mistake": N_("Marked by mistake"), "was_there": N_("Was there, but not checked in"),
                "left": N_("Left before the session really began"), "other": N_("Another reason (write it below)")}
CORRECTION_PROBLEMS = {
    "member": N_("Write the member's number from the attendance sheet, for example 12"),
    "present": N_("Choose present or absent"),
    "reason": N_("Choose a reason"),
    "note_missing": N_("Write the reason"),
    "note_too_long": N_("The note can have at most 200 characters"),
}


def _names(_):
    return ({k: _(x) for k, x in PHASE_NAMES.items()}, {k: _(x) for k, x in MODE_NAMES.items()})


def _numbered(roster) -> list[dict]:
    """The roster in a stable order (by id), numbered from 1."""
    return [{"id": mid, "n": i, "ref": str(mid)[:8].upper()} for i, mid in enumerate(sorted(roster, key=str), start=1)]


async def _agenda(rt, assembly_id: uuid.UUID) -> tuple[list[dict], dict, set]:
    """The assembly's sessions, the attendance marked at each, and the panel now."""
    async with rt.transaction() as tx:
        return (await v.agenda(tx, assembly_id), await v.attendance_counts(tx, assembly_id),
                await v.active_roster(tx, assembly_id))


@router.get("/assemblies/{assembly_id}/calendar", summary="An assembly's sessions, by month (HTML)", responses=errors(404))
async def calendar(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                   who: Principal = Depends(allow(ORGANISER, FACILITATOR, AUDITOR, page=True))) -> Response:
    sessions, counts, roster = await _agenda(rt, assembly_id)
    fmt = Formats(pages.locale(request))
    months = [(key, list(group)) for key, group in groupby(sessions, key=lambda s: fmt.month(s["starts_at"]))]
    roles = who.roles_in(assembly_id)
    phases, modes = _names(pages.gettext(request))
    return pages.render(request, "calendar.html", {
        "assembly_id": assembly_id, "months": months, "counts": counts, "roster_size": len(roster),
        "can_schedule": ORGANISER in roles, "can_record": bool(roles & {ORGANISER, FACILITATOR}),
        "phases": phases, "modes": modes, "done": request.query_params.get("done")}, who=who)


@router.get("/assemblies/{assembly_id}/attendance.csv", summary="Attendance per session (CSV)", responses=errors(404))
async def attendance_csv(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                         who: Principal = Depends(allow(ORGANISER, FACILITATOR, AUDITOR, page=True))) -> Response:
    sessions, counts, _roster = await _agenda(rt, assembly_id)
    _ = pages.gettext(request)
    phases, modes = _names(_)
    header = [_("Session"), _("Starts at"), _("Duration in hours"), _("Phase"), _("Where"), _("Held"), _("present"),
              _("absent")]
    rows_ = [[x["title"], x["starts_at"].isoformat(), x["duration_hours"], phases[x["phase"]], modes[x["mode"]],
              _("Yes") if x["held"] else _("No"), counts.get(x["id"], {}).get("present", 0),
              counts.get(x["id"], {}).get("absent", 0)] for x in sessions]
    return pages.csv(request, f"attendance-{assembly_id}.csv", header, rows_)


def _schedule_page(request: Request, who: Principal, assembly_id: uuid.UUID, form: dict, problems=(),
                   status: int = 200) -> Response:
    _ = pages.gettext(request)
    by_field: dict[str, str] = {}
    for field, kind in problems:
        by_field.setdefault(field, _(SCHEDULE_PROBLEMS[kind]))
    phases, modes = _names(_)
    return pages.render(request, "schedule.html", {
        "assembly_id": assembly_id, "form": form, "by_field": by_field,
        "errors": [{"field": f, "message": m} for f, m in by_field.items()],
        "phase_options": [(p, phases[p]) for p in PHASES], "mode_options": [(m, modes[m]) for m in MODES]},
        who=who, status=status)


@router.get("/assemblies/{assembly_id}/calendar/new", summary="Schedule a session: the form (HTML)", responses=errors(404))
async def schedule_page(assembly_id: uuid.UUID, request: Request,
                        who: Principal = Depends(allow(ORGANISER, page=True))) -> Response:
    return _schedule_page(request, who, assembly_id, {"duration_hours": "6"})


@router.post("/assemblies/{assembly_id}/calendar/new", summary="Schedule a session (HTML form)", responses=errors(422))
async def schedule(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                   who: Principal = Depends(allow(ORGANISER, page=True))) -> Response:
    form = {k: str(x) for k, x in (await request.form()).items() if k != "csrf_token"}
    values, problems = read_schedule_form(form)
    if problems:
        return _schedule_page(request, who, assembly_id, form, problems, status=422)
    async with rt.transaction() as tx:
        await h.schedule(tx, assembly_id, **values)
    return pages.redirect(request, service_url(request, f"/assemblies/{assembly_id}/calendar?done=scheduled"))


async def _session(rt, request: Request, session_id: uuid.UUID):
    async with rt.transaction() as tx:
        s = await v.load_session(tx, session_id)
        roster = await v.active_roster(tx, s.assembly_id)
        marks = await v.attendance_marks(tx, session_id)
    request.state.assembly_id = s.assembly_id  # the assembly's menu
    return s, _numbered(roster), marks


def _sheet(request: Request, who: Principal, s, roster, marks, *, form: dict | None = None, error: str | None = None,
           problems=(), saved: str | None = None, status: int = 200) -> Response:
    """The attendance sheet; once the session is closed, a change needs a reason (a correction)."""
    _ = pages.gettext(request)
    by_field: dict[str, str] = {}
    for field, kind in problems:
        by_field.setdefault(field, _(CORRECTION_PROBLEMS[kind]))
    errors_ = ([{"field": "roster", "message": error}] if error else []) + [
        {"field": f, "message": m} for f, m in by_field.items()]
    shown = dict(marks)
    for r in roster:  # what the person chose stays chosen when the page comes back with a problem
        choice = (form or {}).get(f"m_{r['id']}")
        if choice in ("present", "absent"):
            shown[r["id"]] = choice == "present"
    return pages.render(request, "check_in.html", {
        "s": s, "roster": roster, "marks": shown, "errors": errors_, "by_field": by_field, "form": form or {},
        "reason_options": [(k, _(x)) for k, x in REASON_NAMES.items()], "note_max": NOTE_MAX,
        "saved": saved, "corrected": request.query_params.get("corrected")}, who=who, status=status)


@router.get("/sessions/{session_id}/check-in", summary="The attendance sheet of a session (HTML)", responses=errors(404))
async def check_in_page(session_id: uuid.UUID, rt: RuntimeDep, request: Request,
                        who: Principal = Depends(allow(ORGANISER, FACILITATOR, scope=session_scope, page=True))) -> Response:
    s, roster, marks = await _session(rt, request, session_id)
    return _sheet(request, who, s, roster, marks, saved=request.query_params.get("saved"))


@router.post("/sessions/{session_id}/check-in", summary="Record attendance from the sheet (HTML form); after the close, "
             "changes with a reason (audited)", responses=errors(404, 409, 422))
async def check_in(session_id: uuid.UUID, rt: RuntimeDep, request: Request,
                   who: Principal = Depends(allow(ORGANISER, FACILITATOR, scope=session_scope, page=True))) -> Response:
    s, roster, marks = await _session(rt, request, session_id)
    form = {k: str(x)[:1000] for k, x in (await request.form()).items() if k != "csrf_token"}
    records = read_attendance_form(form, [r["id"] for r in roster])
    _ = pages.gettext(request)
    if s.held_at is not None:  # closed: only changes, each a correction with the reason
        changed = [(mid, present) for mid, present in records if marks.get(mid) is not present]
        problems = correction_problems(form.get("reason"), form.get("note"))
        error = None if changed else _("Change at least one member's mark")
        if problems or error:
            return _sheet(request, who, s, roster, marks, form=form, error=error, problems=problems, status=422)
        async with rt.transaction() as tx:
            for mid, present in changed:
                await hc.correct(tx, session_id, mid, present=present, reason=form["reason"],
                                 note=form.get("note", ""), actor=who.actor)
        return pages.redirect(request, service_url(
            request, f"/sessions/{session_id}/check-in?saved={len(changed)}&corrected=1"))
    if not records:
        return _sheet(request, who, s, roster, marks, error=_("Mark at least one member as present or absent"),
                      status=422)
    async with rt.transaction() as tx:
        await h.record_attendance(tx, session_id, records)
    return pages.redirect(request, service_url(request, f"/sessions/{session_id}/check-in?saved={len(records)}"))


@router.get("/sessions/{session_id}/close", summary="Close a session as held: confirm (HTML)", responses=errors(404))
async def close_page(session_id: uuid.UUID, rt: RuntimeDep, request: Request,
                     who: Principal = Depends(allow(ORGANISER, FACILITATOR, scope=session_scope, page=True))) -> Response:
    s, roster, marks = await _session(rt, request, session_id)
    present = sum(1 for r in roster if marks.get(r["id"]) is True)
    unmarked = sum(1 for r in roster if r["id"] not in marks)
    return pages.render(request, "close.html", {"s": s, "present": present, "absent": len(roster) - present,
                                                "unmarked": unmarked, "roster_size": len(roster)}, who=who)


@router.post("/sessions/{session_id}/close", summary="Close a session as held (HTML form)", responses=errors(404, 409))
async def close(session_id: uuid.UUID, rt: RuntimeDep, request: Request,
                who: Principal = Depends(allow(ORGANISER, FACILITATOR, scope=session_scope, page=True))) -> Response:
    async with rt.transaction() as tx:
        s = await v.load_session(tx, session_id)
        await h.hold(tx, session_id)
    return pages.redirect(request, service_url(request, f"/assemblies/{s.assembly_id}/calendar?done=held"))
