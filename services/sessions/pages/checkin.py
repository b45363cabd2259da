"""Check-in's pages: the door on a facilitator's phone (type the member's code, or scan the QR code
from their portal: the code arrives in the address's fragment, which no server sees, and a small
script moves it into the form), opening a session's online check-in, staff's corrections with a
reason, and the member's own page with their QR code and online check-in. Members appear by
number and the start of their id, as on the attendance sheet."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import segno
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.sessions.api import session_scope
from services.sessions.api.checkin import checkin_key, door_url
from services.sessions.domain.checkin import NOTE_MAX, checkin_code, correction_problems, online_refusal
from services.sessions.domain.session_form import LOCAL
from services.sessions.handlers import checkin as h
from services.sessions.pages import CORRECTION_PROBLEMS, REASON_NAMES, _session, pages
from services.sessions.views import agenda, load_session
from services.sessions.views import checkin as v
from shared.auth import FACILITATOR, MEMBER, ORGANISER, Principal, allow
from shared.openapi import errors
from shared.problems import DomainError
from shared.runtime import RuntimeDep
from shared.ui import N_, service_url

router = APIRouter(tags=["pages"])

DOOR_REFUSALS = {
    "code_unreadable": N_("A check-in code has 10 letters and digits, for example K7QM4-XRT2P. Check the code and "
                          "try again."),
    "code_unknown": N_("No member of this assembly has this code. Check the code and try again, or find the "
                       "member on the attendance sheet."),
    "member_left": N_("This code belongs to a member who has left the panel."),
    "session_held": N_("This session is closed: attendance can no longer change."),
    "not_online": N_("This session takes place at the venue only."),
}
ONLINE_STATES = {
    "not_online": N_("At the venue: check in at the door with your code"),
    "not_open_yet": N_("Online check-in opens 30 minutes before the start"),
    "over": N_("The session is over"),
    "session_held": N_("The session is closed"),
}


def _number(roster: list[dict], member_id) -> dict | None:
    return next((r for r in roster if r["id"] == member_id), None)


@router.get("/assemblies/{assembly_id}/door", summary="Check-in at the door: choose the session (HTML)",
            responses=errors(404))
async def door_choose(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                      who: Principal = Depends(allow(ORGANISER, FACILITATOR, page=True))) -> Response:
    async with rt.transaction() as tx:
        open_ = [s for s in await agenda(tx, assembly_id) if not s["held"]]
    today = datetime.now(timezone.utc).astimezone(LOCAL).date()
    todays = [s for s in open_ if s["starts_at"].astimezone(LOCAL).date() == today]
    if len(todays) == 1:  # the browser keeps the address's fragment (a scanned code) across the redirect
        return pages.redirect(request, service_url(request, f"/sessions/{todays[0]['id']}/door"))
    return pages.render(request, "door_choose.html", {"assembly_id": assembly_id, "sessions": open_}, who=who)


async def _door_page(rt, request: Request, who: Principal, session_id: uuid.UUID, *, error: str | None = None,
                     code: str = "", status: int = 200) -> Response:
    s, roster, marks = await _session(rt, request, session_id)
    async with rt.transaction() as tx:
        opened = await v.online_opened(tx, session_id)
    raw = request.query_params.get("in", "")
    arrived = next((r for r in roster if str(r["n"]) == raw), None) if raw.isdigit() else None
    return pages.render(request, "door.html", {
        "s": s, "roster_size": len(roster), "present": sum(1 for r in roster if marks.get(r["id"]) is True),
        "arrived": arrived, "again": request.query_params.get("again") == "1", "error": error, "code": code,
        "opened": opened, "done": request.query_params.get("done")}, who=who, status=status)


@router.get("/sessions/{session_id}/door", summary="Check-in at the door by code, on a phone (HTML)",
            responses=errors(404))
async def door(session_id: uuid.UUID, rt: RuntimeDep, request: Request,
               who: Principal = Depends(allow(ORGANISER, FACILITATOR, scope=session_scope, page=True))) -> Response:
    return await _door_page(rt, request, who, session_id)


@router.post("/sessions/{session_id}/door", summary="Check a member in by their code (HTML form)",
             responses=errors(404, 409, 422))
async def door_check_in(session_id: uuid.UUID, rt: RuntimeDep, request: Request,
                        who: Principal = Depends(allow(ORGANISER, FACILITATOR, scope=session_scope,
                                                       page=True))) -> Response:
    code = str((await request.form()).get("code") or "")[:300]
    try:
        async with rt.transaction() as tx:
            done = await h.check_in_by_code(tx, session_id, code, key=checkin_key(rt))
    except DomainError as exc:
        if exc.code not in DOOR_REFUSALS:
            raise
        _ = pages.gettext(request)
        status = 422 if exc.kind == "invalid_input" else 409
        return await _door_page(rt, request, who, session_id, error=_(DOOR_REFUSALS[exc.code]), code=code,
                                status=status)
    _s, roster, _marks = await _session(rt, request, session_id)
    r = _number(roster, done["member_id"])
    query = f"in={r['n'] if r else ''}" + ("&again=1" if done["already"] else "")
    return pages.redirect(request, service_url(request, f"/sessions/{session_id}/door?{query}"))


@router.post("/sessions/{session_id}/door/online", summary="Open the session's online check-in now (HTML form)",
             responses=errors(404, 409))
async def door_open_online(session_id: uuid.UUID, rt: RuntimeDep, request: Request,
                           who: Principal = Depends(allow(ORGANISER, FACILITATOR, scope=session_scope,
                                                          page=True))) -> Response:
    async with rt.transaction() as tx:
        await h.open_online(tx, session_id)
    return pages.redirect(request, service_url(request, f"/sessions/{session_id}/door?done=online"))


# ---- corrections ------------------------------------------------------------------------------


async def _corrections_page(rt, request: Request, who: Principal, session_id: uuid.UUID, form: dict | None = None,
                            problems=(), refused=None, status: int = 200) -> Response:
    s, roster, marks = await _session(rt, request, session_id)
    async with rt.transaction() as tx:
        rows = await v.corrections_of(tx, session_id)
    _ = pages.gettext(request)
    by_field: dict[str, str] = {}
    for field, kind in problems:
        by_field.setdefault(field, _(CORRECTION_PROBLEMS[kind]))
    made = [{"member": _number(roster, r.member_id) or {"n": "–", "ref": str(r.member_id)[:8].upper()},
             "before": r.present_before, "present": r.present, "reason": _(REASON_NAMES[r.reason]), "note": r.note,
             "at": r.at} for r in rows]
    return pages.render(request, "corrections.html", {
        "s": s, "form": form or {}, "by_field": by_field, "refused": refused, "made": made,
        "errors": [{"field": f, "message": m} for f, m in by_field.items()],
        "reason_options": [(k, _(x)) for k, x in REASON_NAMES.items()],
        "present_options": [("present", _("Present")), ("absent", _("Absent"))], "note_max": NOTE_MAX,
        "done": request.query_params.get("done")}, who=who, status=status)


@router.get("/sessions/{session_id}/corrections", summary="Correct a member's mark with a reason (HTML)",
            responses=errors(404))
async def corrections(session_id: uuid.UUID, rt: RuntimeDep, request: Request,
                      who: Principal = Depends(allow(ORGANISER, FACILITATOR, scope=session_scope,
                                                     page=True))) -> Response:
    return await _corrections_page(rt, request, who, session_id)


@router.post("/sessions/{session_id}/corrections", summary="Correct a member's mark with a reason (HTML form)",
             responses=errors(404, 409, 422))
async def correct(session_id: uuid.UUID, rt: RuntimeDep, request: Request,
                  who: Principal = Depends(allow(ORGANISER, FACILITATOR, scope=session_scope, page=True))) -> Response:
    _s, roster, _marks = await _session(rt, request, session_id)
    form = {k: str(x)[:1000] for k, x in (await request.form()).items() if k != "csrf_token"}
    problems: list[tuple[str, str]] = []
    raw = form.get("member", "").strip()
    member = next((r for r in roster if str(r["n"]) == raw), None)
    if member is None:
        problems.append(("member", "member"))
    if form.get("present") not in ("present", "absent"):
        problems.append(("present", "present"))
    problems += correction_problems(form.get("reason"), form.get("note"))
    if problems:
        return await _corrections_page(rt, request, who, session_id, form, problems, status=422)
    try:
        async with rt.transaction() as tx:
            await h.correct(tx, session_id, member["id"], present=form["present"] == "present",
                            reason=form["reason"], note=form.get("note", ""), actor=who.actor)
    except DomainError as exc:
        r = pages.refusal(request, exc)
        return await _corrections_page(rt, request, who, session_id, form, refused=r, status=r["status"])
    return pages.redirect(request, service_url(request, f"/sessions/{session_id}/corrections?done=1"))


# ---- the member's own page ----------------------------------------------------------------------


@router.get("/assemblies/{assembly_id}/my-check-in", summary="A member's check-in code as a QR code, and online "
            "check-in (HTML)", responses=errors(404))
async def my_check_in(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                      who: Principal = Depends(allow(MEMBER, page=True))) -> Response:
    code = checkin_code(checkin_key(rt), assembly_id, who.member_id)
    _ = pages.gettext(request)
    qr = segno.make(door_url(request, rt, assembly_id, code), error="m").svg_inline(
        scale=1, border=4, omitsize=True, svgclass="bt-qr", title=_("QR code with your check-in code"))
    qr = qr.replace("<svg ", '<svg role="img" ', 1)
    async with rt.transaction() as tx:
        sessions = await v.my_sessions(tx, assembly_id, who.member_id)
    now = datetime.now(timezone.utc)
    for x in sessions:
        x["refusal"] = online_refusal(mode=x["mode"], starts_at=x["starts_at"], duration_hours=x["duration_hours"],
                                      now=now, opened=x["opened"], held=x["held"])
        x["state"] = _(ONLINE_STATES[x["refusal"]]) if x["refusal"] else ""
    held = [x for x in sessions if x["held"]]
    return pages.render(request, "my_check_in.html", {
        "assembly_id": assembly_id, "code": code, "qr": qr, "sessions": sessions,
        "held": len(held), "attended": sum(1 for x in held if x["present"]),
        "done": request.query_params.get("done")}, who=who)


@router.post("/sessions/{session_id}/check-in/online", summary="A member checks in to an online session (HTML form)",
             responses=errors(403, 404, 409))
async def my_online_check_in(session_id: uuid.UUID, rt: RuntimeDep, request: Request,
                             who: Principal = Depends(allow(MEMBER, scope=session_scope, page=True))) -> Response:
    async with rt.transaction() as tx:
        s = await load_session(tx, session_id)
        await h.check_in_online(tx, session_id, who.member_id)
    return pages.redirect(request, service_url(request, f"/assemblies/{s.assembly_id}/my-check-in?done=online"))
