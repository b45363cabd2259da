"""The evaluation's pages: a member's survey (answered in the portal) and the evaluation pack with
the secretariat's controls to open and close each stage's survey."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.reporting.api.evaluation import Stage, load_pack
from services.reporting.domain.evaluation import MAX_OPEN, SCALE, SCALE_NAMES, STAGE_NAMES, clean_answers, questions
from services.reporting.handlers import surveys as sv
from services.reporting.pages import pages
from services.reporting.views import evaluation as ev
from shared.auth import FACILITATOR, MEMBER, ORGANISER, AUDITOR, Principal, allow
from shared.openapi import errors
from shared.problems import Conflict, Forbidden
from shared.runtime import RuntimeDep
from shared.ui import N_, service_url

router = APIRouter(tags=["evaluation"])
STATE_NAMES = {"not_started": N_("Not opened"), "open": N_("Open"), "closed": N_("Closed")}


async def _survey_page(request: Request, rt, who: Principal, assembly_id: uuid.UUID, stage: str, *,
                       form: dict | None = None, errors_: list | None = None, status: int = 200) -> Response:
    async with rt.transaction() as tx:
        await ev.require_assembly(tx, assembly_id)
        mine = {s["stage"]: s for s in await ev.member_surveys(tx, assembly_id, who.member_id)}
    errors_ = errors_ or []
    return pages.render(request, "survey.html", {
        "assembly_id": assembly_id, "stage": stage, "stage_name": STAGE_NAMES[stage], "open": stage in mine,
        "answered": mine.get(stage, {}).get("answered", False), "questions": questions(stage),
        "scale": SCALE, "scale_names": SCALE_NAMES, "max_open": MAX_OPEN, "form": form or {},
        "errors": errors_, "by_field": {e["field"]: e["message"] for e in errors_},
        "min_group": rt.settings.report_min_group}, who=who, status=status)


@router.get("/assemblies/{assembly_id}/surveys/{stage}", summary="A member survey (HTML form)", responses=errors(404))
async def survey_page(assembly_id: uuid.UUID, stage: Stage, rt: RuntimeDep, request: Request,
                      who: Principal = Depends(allow(MEMBER, page=True))) -> Response:
    return await _survey_page(request, rt, who, assembly_id, stage)


@router.post("/assemblies/{assembly_id}/surveys/{stage}", summary="Answer a member survey (HTML form)",
             responses=errors(404, 409, 422))
async def survey_post(assembly_id: uuid.UUID, stage: Stage, rt: RuntimeDep, request: Request,
                      who: Principal = Depends(allow(MEMBER, page=True))) -> Response:
    form = {k: str(x) for k, x in (await request.form()).items() if k != "csrf_token"}
    _ = pages.gettext(request)
    _kept, bad = clean_answers(stage, form)
    if bad:
        problems = [{"field": b["field"], "message": _("Choose one of the five answers, or none") if b["field"] in {
            q.id for q in questions(stage) if q.kind == "likert"} else _(
            "Shorten the answer to at most %(n)s characters", n=MAX_OPEN)} for b in bad]
        return await _survey_page(request, rt, who, assembly_id, stage, form=form, errors_=problems, status=422)
    try:
        async with rt.transaction() as tx:
            await sv.answer(tx, assembly_id, stage, who.member_id, form)
    except (Conflict, Forbidden):
        return await _survey_page(request, rt, who, assembly_id, stage, status=409)
    return pages.redirect(request, service_url(request, f"/assemblies/{assembly_id}/portal?survey=thanks"))


async def _evaluation_page(request: Request, rt, who: Principal, assembly_id: uuid.UUID, *,
                           status: int = 200, problem: str | None = None) -> Response:
    p = await load_pack(rt, assembly_id)
    async with rt.transaction() as tx:
        states = await ev.surveys(tx, assembly_id)
    return pages.render(request, "evaluation.html", {
        "p": p, "states": states, "stage_names": STAGE_NAMES, "state_names": STATE_NAMES,
        "questions": {s["stage"]: {q.id: q for q in questions(s["stage"])} for s in states},
        "assembly_id": assembly_id, "problem": problem,
        "may_manage": bool(who.global_roles) or ORGANISER in who.roles_in(assembly_id)}, who=who, status=status)


@router.get("/assemblies/{assembly_id}/evaluation", summary="The evaluation pack and the member surveys (HTML)",
            responses=errors(404))
async def evaluation_page(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                          who: Principal = Depends(allow(ORGANISER, FACILITATOR, AUDITOR, page=True))) -> Response:
    return await _evaluation_page(request, rt, who, assembly_id)


@router.post("/assemblies/{assembly_id}/evaluation", summary="Open or close a member survey (HTML form)",
             responses=errors(404, 409, 422))
async def evaluation_post(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                          who: Principal = Depends(allow(ORGANISER, page=True))) -> Response:
    form = await request.form()
    _ = pages.gettext(request)
    stage, action = str(form.get("stage") or ""), str(form.get("action") or "")
    if stage not in STAGE_NAMES or action not in ("open", "close"):
        return await _evaluation_page(request, rt, who, assembly_id, status=422,
                                      problem=_("Choose a survey and whether to open or close it"))
    try:
        async with rt.transaction() as tx:
            await (sv.open_survey if action == "open" else sv.close_survey)(tx, assembly_id, stage)
    except Conflict:
        return await _evaluation_page(request, rt, who, assembly_id, status=409, problem=_("The survey is open already") if action == "open" else _("The survey is not open"))
    return pages.redirect(request, service_url(request, f"/assemblies/{assembly_id}/evaluation?{action}={stage}"))
