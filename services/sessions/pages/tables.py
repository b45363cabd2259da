"""Table plans' pages: the secretariat makes, re-makes (at live check-in) and publishes a session's
plan with the seating needs; a facilitator's phone page (printable) lists the tables per round, or
just theirs; a member sees their table in each round. Members appear by number and the start of
their id, as on the attendance sheet (sessions holds no names)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.sessions.api import session_scope
from services.sessions.domain.tables_form import read_plan_form
from services.sessions.handlers import tables as h
from services.sessions.pages import _session, pages
from services.sessions.views import load_session
from services.sessions.views import tables as v
from shared.auth import AUDITOR, FACILITATOR, MEMBER, ORGANISER, Principal, allow
from shared.openapi import errors
from shared.problems import DomainError
from shared.runtime import RuntimeDep
from shared.ui import N_, service_url

router = APIRouter(tags=["pages"])

PLAN_PROBLEMS = {
    "number": N_("Enter a whole number in the range shown"),
    "sizes": N_("The smallest table cannot be larger than the largest"),
    "seat": N_("Choose whom to seat"),
    "priority": N_("Choose what comes first"),
    "language_line": N_("Write one member per line: their number and a language code, for example 12 en"),
    "member": N_("Write the members' numbers from the attendance sheet, for example 3, 17"),
    "pair": N_("Write one pair per line: two different members' numbers, for example 3 17"),
}


def _form_defaults(plan, needs, roster) -> dict:
    """The form as last used (the current plan's settings and the needs), numbers for members."""
    number = {r["id"]: r["n"] for r in roster}
    s = plan.settings if plan else {}
    form = {k: "" if s.get(k) is None else str(s[k]) for k in
            ("rounds", "table_size", "min_size", "max_size", "facilitators", "accessible_tables", "seed")}
    if not plan:
        form.update(rounds="3", table_size="8", min_size="6", max_size="10", seed="0")
    form["seat"] = s.get("seat", "roster")
    form["priority"] = s.get("priority", "no_repeats")
    form["languages"] = "\n".join(f"{number[m]} {lang}" for m, (lang, _) in needs.items() if lang and m in number)
    form["accessible"] = ", ".join(str(number[m]) for m, (_, acc) in needs.items() if acc and m in number)
    by_id = {str(r["id"]): r["n"] for r in roster}
    form["keep_apart"] = "\n".join(f"{by_id.get(a, a)} {by_id.get(b, b)}" for a, b in s.get("keep_apart", []))
    return form


def _seated(rounds, roster) -> list[list[list[dict]]]:
    """Each round's tables with their members as the roster shows them (number, id start)."""
    by_id = {str(r["id"]): r for r in roster}
    return [[sorted((by_id.get(i, {"n": "?", "ref": i[:8].upper()}) for i in table), key=lambda r: str(r["n"]))
             for table in tables] for tables in rounds or []]


async def _plan_page(rt, request: Request, who: Principal, session_id: uuid.UUID, form: dict | None = None,
                     problems=(), refused=None, status: int = 200) -> Response:
    s, roster, marks = await _session(rt, request, session_id)
    async with rt.transaction() as tx:
        plan = await v.load_plan(tx, session_id)
        needs = await v.needs_of(tx, s.assembly_id)
    _ = pages.gettext(request)
    by_field: dict[str, str] = {}
    for field, kind in problems:
        by_field.setdefault(field, _(PLAN_PROBLEMS[kind]))
    return pages.render(request, "tables_plan.html", {
        "s": s, "plan": plan, "roster_size": len(roster), "checked_in": sum(1 for x in marks.values() if x),
        "form": form or _form_defaults(plan, needs, roster), "by_field": by_field,
        "errors": [{"field": f, "message": m} for f, m in by_field.items()], "refused": refused,
        "seat_options": [("checked_in", _("The members checked in so far")), ("roster", _("The whole panel"))],
        "priority_options": [("no_repeats", _("Nobody meets anyone twice, where that can be done")),
                             ("mix", _("Each table as mixed as possible, some members may meet twice"))],
        "done": request.query_params.get("done")}, who=who, status=status)


@router.get("/sessions/{session_id}/tables/plan", summary="Make, re-make and publish a table plan (HTML)",
            responses=errors(404))
async def plan_page(session_id: uuid.UUID, rt: RuntimeDep, request: Request,
                    who: Principal = Depends(allow(ORGANISER, scope=session_scope, page=True))) -> Response:
    return await _plan_page(rt, request, who, session_id)


@router.post("/sessions/{session_id}/tables/plan", summary="Make or re-make a table plan (HTML form)",
             responses=errors(404, 409, 422))
async def make_plan(session_id: uuid.UUID, rt: RuntimeDep, request: Request,
                    who: Principal = Depends(allow(ORGANISER, scope=session_scope, page=True))) -> Response:
    s, roster, _marks = await _session(rt, request, session_id)
    form = {k: str(x) for k, x in (await request.form()).items() if k != "csrf_token"}
    values, problems = read_plan_form(form, roster)
    if problems:
        return await _plan_page(rt, request, who, session_id, form, problems, status=422)
    needs = values.pop("needs")
    try:
        async with rt.transaction() as tx:
            await h.set_needs(tx, s.assembly_id, needs)
            await h.make_plan(tx, session_id, **values)
    except DomainError as exc:
        r = pages.refusal(request, exc)
        return await _plan_page(rt, request, who, session_id, form, refused=r, status=r["status"])
    return pages.redirect(request, service_url(request, f"/sessions/{session_id}/tables/plan?done=planned"))


@router.post("/sessions/{session_id}/tables/publish", summary="Publish the table plan (HTML form)",
             responses=errors(404, 409))
async def publish(session_id: uuid.UUID, rt: RuntimeDep, request: Request,
                  who: Principal = Depends(allow(ORGANISER, scope=session_scope, page=True))) -> Response:
    try:
        async with rt.transaction() as tx:
            await h.publish_plan(tx, session_id)
    except DomainError as exc:
        r = pages.refusal(request, exc)
        return await _plan_page(rt, request, who, session_id, refused=r, status=r["status"])
    return pages.redirect(request, service_url(request, f"/sessions/{session_id}/tables/plan?done=published"))


@router.get("/sessions/{session_id}/tables", summary="The table plan per round, for facilitators (HTML, printable)",
            responses=errors(404))
async def tables_page(session_id: uuid.UUID, rt: RuntimeDep, request: Request,
                      who: Principal = Depends(allow(ORGANISER, FACILITATOR, AUDITOR, scope=session_scope,
                                                     page=True))) -> Response:
    s, roster, _marks = await _session(rt, request, session_id)
    async with rt.transaction() as tx:
        plan = await v.load_plan(tx, session_id)
    rounds = plan.published_rounds if plan else None
    count = len(rounds[0]) if rounds else 0
    raw = request.query_params.get("table", "")
    table = int(raw) if raw.isdigit() and 1 <= int(raw) <= count else None
    return pages.render(request, "tables.html", {
        "s": s, "plan": plan, "rounds": _seated(rounds, roster), "count": count, "table": table,
        "can_plan": ORGANISER in who.roles_in(s.assembly_id)}, who=who)


@router.get("/sessions/{session_id}/tables/print", summary="The table plan to print: one page per table and round "
            "(HTML, print CSS)", responses=errors(404))
async def tables_print(session_id: uuid.UUID, rt: RuntimeDep, request: Request,
                       who: Principal = Depends(allow(ORGANISER, FACILITATOR, AUDITOR, scope=session_scope,
                                                      page=True))) -> Response:
    s, roster, _marks = await _session(rt, request, session_id)
    async with rt.transaction() as tx:
        plan = await v.load_plan(tx, session_id)
    rounds = _seated(plan.published_rounds if plan else None, roster)
    sheets = [{"round": r, "table": t, "members": members}
              for r, tables in enumerate(rounds, 1) for t, members in enumerate(tables, 1)]
    return pages.render(request, "tables_print.html", {"s": s, "plan": plan, "sheets": sheets}, who=who)


@router.get("/sessions/{session_id}/my-table", summary="A member's table in each round (HTML)", responses=errors(404))
async def my_table(session_id: uuid.UUID, rt: RuntimeDep, request: Request,
                   who: Principal = Depends(allow(MEMBER, scope=session_scope, page=True))) -> Response:
    async with rt.transaction() as tx:
        s = await load_session(tx, session_id)
        plan = await v.load_plan(tx, session_id)
    request.state.assembly_id = s.assembly_id
    rounds = plan.published_rounds if plan else None
    mine = v.tables_of(rounds, who.member_id) if rounds and who.member_id else []
    return pages.render(request, "my_table.html", {"s": s, "published": bool(rounds), "mine": mine}, who=who)
