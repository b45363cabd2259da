"""Attendance and drop-out's page for staff: the panel's composition against the quotas at every
session (a chart), the drop-out rule with the members it calls drop-outs (the secretariat confirms
their replacement, which sortition draws) and those at risk, and each member's attendance (also
as CSV). Members appear by number and the start of their id, as on the attendance sheet."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.sessions.domain.composition import composition, composition_chart
from services.sessions.domain.dropout import MAX_MISSED_IN_A_ROW, at_risk, dropouts, rule_problem
from services.sessions.handlers import dropout as h
from services.sessions.pages import _numbered, pages
from services.sessions.views import dropout as v
from shared.auth import AUDITOR, FACILITATOR, ORGANISER, Principal, allow
from shared.openapi import errors
from shared.problems import DomainError
from shared.runtime import RuntimeDep
from shared.ui import service_url
from shared.ui.i18n import label

router = APIRouter(tags=["pages"])


async def _overview(rt, assembly_id: uuid.UUID) -> dict:
    async with rt.transaction() as tx:
        n = await v.rule(tx, assembly_id)
        held, history = await v.member_histories(tx, assembly_id)
        asked = await v.requested(tx, assembly_id)
        quotas = await v.quotas(tx, assembly_id)
        features = await v.features(tx, assembly_id)
        arrivals = await v.sessions_with_arrivals(tx, assembly_id)
    return {"n": n, "held": held, "history": history, "asked": asked, "quotas": quotas, "features": features,
            "arrivals": arrivals}


def _charts(request: Request, o: dict) -> list[dict]:
    q = o["quotas"]
    if q is None or not o["arrivals"]:
        return []
    _ = pages.gettext(request)
    lang = pages.locale(request)
    names = [_("Session %(n)s", n=i + 1) for i in range(len(o["arrivals"]))]
    out = []
    for i, c in enumerate(composition(q.strata, q.panel_size, o["features"], [s["present"] for s in o["arrivals"]])):
        title = label(_, c["category"], None, q.regions, q.strata, lang)
        svg = composition_chart(title, c["rows"], names, band_text=_("Quota"), chart_id=f"composition-{i}",
                                label=lambda value, cat=c["category"]: label(_, cat, value, q.regions, q.strata, lang))
        outside = [{"value": label(_, c["category"], r["value"], q.regions, q.strata, lang), "session": names[j]}
                   for r in c["rows"] for j, x in enumerate(r["outside"]) if x]
        out.append({"title": title, "svg": svg, "rows": c["rows"], "outside": outside,
                    "labels": {r["value"]: label(_, c["category"], r["value"], q.regions, q.strata, lang)
                               for r in c["rows"]}})
    return out


async def _page(rt, request: Request, who: Principal, assembly_id: uuid.UUID, *, problem: str | None = None,
                refused=None, status: int = 200) -> Response:
    o = await _overview(rt, assembly_id)
    numbered = {r["id"]: r for r in _numbered([x.member_id for x in o["history"]])}
    rows = [{**numbered[x.member_id], "h": x, "asked": x.member_id in o["asked"]} for x in o["history"]]
    by_id = {r["id"]: r for r in rows}
    return pages.render(request, "dropouts.html", {
        "assembly_id": assembly_id, "n": o["n"], "max_n": MAX_MISSED_IN_A_ROW, "held": len(o["held"]), "rows": rows,
        "dropouts": [by_id[x.member_id] for x in dropouts(o["history"], o["n"])],
        "at_risk": [by_id[x.member_id] for x in at_risk(o["history"], o["n"])],
        "charts": _charts(request, o), "sessions": o["arrivals"], "has_quotas": o["quotas"] is not None,
        "can_decide": ORGANISER in who.roles_in(assembly_id) or bool(who.global_roles), "problem": problem,
        "refused": refused, "done": request.query_params.get("done")}, who=who, status=status)


@router.get("/assemblies/{assembly_id}/drop-outs", summary="Attendance, drop-outs and the panel's composition at "
            "each session (HTML)", responses=errors(404))
async def dropouts_page(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                        who: Principal = Depends(allow(ORGANISER, FACILITATOR, AUDITOR, page=True))) -> Response:
    return await _page(rt, request, who, assembly_id)


@router.post("/assemblies/{assembly_id}/drop-outs/rule", summary="Set the drop-out rule (HTML form)",
             responses=errors(422))
async def set_rule(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                   who: Principal = Depends(allow(ORGANISER, page=True))) -> Response:
    raw = str((await request.form()).get("missed_in_a_row") or "")[:20]
    if rule_problem(raw):
        _ = pages.gettext(request)
        return await _page(rt, request, who, assembly_id, status=422,
                           problem=_("Enter a whole number from 1 to %(n)s", n=MAX_MISSED_IN_A_ROW))
    async with rt.transaction() as tx:
        await h.set_rule(tx, assembly_id, int(raw.strip()))
    return pages.redirect(request, service_url(request, f"/assemblies/{assembly_id}/drop-outs?done=rule"))


@router.post("/assemblies/{assembly_id}/drop-outs/replace", summary="Confirm drop-outs: request their replacement "
             "from sortition (HTML form)", responses=errors(409, 422))
async def replace(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                  who: Principal = Depends(allow(ORGANISER, page=True))) -> Response:
    form = await request.form()
    chosen = []
    for raw in form.getlist("member")[:500]:
        try:
            chosen.append(uuid.UUID(str(raw)))
        except ValueError:
            pass
    _ = pages.gettext(request)
    if not chosen or form.get("confirm") != "yes":
        return await _page(rt, request, who, assembly_id, status=422, problem=_(
            "Choose the members to replace, and confirm that you have checked they have dropped out"))
    try:
        async with rt.transaction() as tx:
            await h.request_replacements(tx, assembly_id, chosen)
    except DomainError as exc:
        r = pages.refusal(request, exc)
        return await _page(rt, request, who, assembly_id, refused=r, status=r["status"])
    return pages.redirect(request, service_url(request, f"/assemblies/{assembly_id}/drop-outs?done=requested"))


@router.get("/assemblies/{assembly_id}/member-attendance.csv", summary="Each member's attendance (CSV)",
            responses=errors(404))
async def member_attendance_csv(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                                who: Principal = Depends(allow(ORGANISER, FACILITATOR, AUDITOR, page=True))) -> Response:
    o = await _overview(rt, assembly_id)
    _ = pages.gettext(request)
    numbered = {r["id"]: r for r in _numbered([x.member_id for x in o["history"]])}
    header = [_("Member"), _("Member id"), *[_("Session %(n)s", n=i + 1) for i in range(len(o["held"]))],
              _("Attended"), _("Missed"), _("Missed in a row"), _("Replacement requested")]
    mark = {True: _("present"), False: _("absent"), None: ""}
    rows = [[numbered[x.member_id]["n"], str(x.member_id), *[mark[m] for m in x.marks], x.attended, x.missed,
             x.missed_in_a_row, _("Yes") if x.member_id in o["asked"] else _("No")] for x in o["history"]]
    return pages.csv(request, f"member-attendance-{assembly_id}.csv", header, rows)
