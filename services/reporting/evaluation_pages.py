"""The evaluation's routes, API and pages: the members' surveys (a member answers in the portal;
the secretariat opens and closes each stage's survey), the evaluation pack (page, JSON, CSV) and
the secretariat's live figures (JSON; the dashboard page shows them)."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from services.reporting import evaluation_views as ev
from services.reporting import surveys as sv
from services.reporting.api import today
from services.reporting.domain.evaluation import (MAX_OPEN, SCALE, SCALE_NAMES, STAGE_NAMES, clean_answers,
                                                  pack_rows, questions)
from services.reporting.pages import pages
from shared.auth import AUDITOR, FACILITATOR, MEMBER, ORGANISER, REGISTRAR, Principal, allow
from shared.openapi import errors
from shared.problems import Conflict, Forbidden
from shared.runtime import RuntimeDep
from shared.ui import N_, service_url

router = APIRouter(tags=["evaluation"])
Stage = Literal["start", "middle", "end"]
STATE_NAMES = {"not_started": N_("Not opened"), "open": N_("Open"), "closed": N_("Closed")}


# ---- API ------------------------------------------------------------------------------------


@router.get("/assemblies/{assembly_id}/surveys", summary="The member surveys' states and how many answered",
            responses=errors(404))
async def survey_states(assembly_id: uuid.UUID, rt: RuntimeDep,
                        who: Principal = Depends(allow(ORGANISER, FACILITATOR, AUDITOR))) -> list[dict]:
    async with rt.transaction() as tx:
        await ev.require_assembly(tx, assembly_id)
        return await ev.surveys(tx, assembly_id)


@router.post("/assemblies/{assembly_id}/surveys/{stage}/open", summary="Open a stage's member survey",
             responses=errors(404, 409))
async def open_survey(assembly_id: uuid.UUID, stage: Stage, rt: RuntimeDep,
                      who: Principal = Depends(allow(ORGANISER))) -> dict:
    async with rt.transaction() as tx:
        return await sv.open_survey(tx, assembly_id, stage)


@router.post("/assemblies/{assembly_id}/surveys/{stage}/close",
             summary="Close a stage's member survey (its figures then appear in the evaluation pack)",
             responses=errors(404, 409))
async def close_survey(assembly_id: uuid.UUID, stage: Stage, rt: RuntimeDep,
                       who: Principal = Depends(allow(ORGANISER))) -> dict:
    async with rt.transaction() as tx:
        return await sv.close_survey(tx, assembly_id, stage)


class AnswersIn(BaseModel):
    answers: dict[Annotated[str, Field(max_length=40)],
                  Annotated[int, Field(ge=1, le=5)] | Annotated[str, Field(max_length=MAX_OPEN)]] = Field(
        default_factory=dict, max_length=40,
        description="Question id -> 1..5 (Likert) or text (open); a question left out is skipped")


@router.post("/assemblies/{assembly_id}/surveys/{stage}/answers", status_code=201,
             summary="A panel member answers an open survey, once and anonymously", responses=errors(404, 409))
async def answer_survey(assembly_id: uuid.UUID, stage: Stage, rt: RuntimeDep,
                        body: AnswersIn = Body(default_factory=AnswersIn),
                        who: Principal = Depends(allow(MEMBER))) -> dict:
    """The answers are kept without the member's id or the time; that the member has answered is
    kept apart (docs/evaluation.md)."""
    async with rt.transaction() as tx:
        await sv.answer(tx, assembly_id, stage, who.member_id, dict(body.answers))
    return {"stage": stage, "answered": True}


async def _pack(rt, assembly_id: uuid.UUID) -> dict:
    async with rt.transaction() as tx:
        return await ev.evaluation_pack(tx, assembly_id, k=rt.settings.report_min_group,
                                        response_days=rt.settings.report_response_days, today=today())


# The downloads are pages (a browser's session or a bearer token), linked from the evaluation page.
@router.get("/assemblies/{assembly_id}/evaluation.json", summary="The evaluation pack (JSON download)",
            responses=errors(404))
async def evaluation_json(assembly_id: uuid.UUID, rt: RuntimeDep,
                          who: Principal = Depends(allow(ORGANISER, AUDITOR, page=True))) -> dict:
    return await _pack(rt, assembly_id)


@router.get("/assemblies/{assembly_id}/evaluation.csv", summary="The evaluation pack (CSV: section, figure, value)",
            responses=errors(404))
async def evaluation_csv(assembly_id: uuid.UUID, rt: RuntimeDep,
                         who: Principal = Depends(allow(ORGANISER, AUDITOR, page=True))) -> Response:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(("section", "figure", "value"))
    writer.writerows(pack_rows(await _pack(rt, assembly_id)))
    return Response(buf.getvalue(), media_type="text/csv; charset=utf-8", headers={
        "content-disposition": f'attachment; filename="evaluation-{assembly_id}.csv"'})


@router.get("/assemblies/{assembly_id}/live", summary="The secretariat's live figures (JSON; no results while open)",
            responses=errors(404))
async def live(assembly_id: uuid.UUID, rt: RuntimeDep,
               who: Principal = Depends(allow(ORGANISER, REGISTRAR, FACILITATOR, AUDITOR))) -> dict:
    async with rt.transaction() as tx:
        return await ev.live(tx, assembly_id)


# ---- pages ----------------------------------------------------------------------------------


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
    p = await _pack(rt, assembly_id)
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
