"""The evaluation's API: the members' surveys (the secretariat opens and closes each stage's
survey; a member answers once, anonymously) and the evaluation pack (JSON, CSV). Its pages are in
pages/evaluation.py."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends
from fastapi.responses import Response
from pydantic import BaseModel, Field

from services.reporting.api import today
from services.reporting.domain.evaluation import MAX_OPEN, pack_rows
from services.reporting.handlers import surveys as sv
from services.reporting.views import evaluation as ev
from shared.auth import AUDITOR, FACILITATOR, MEMBER, ORGANISER, Principal, allow
from shared.openapi import errors
from shared.runtime import RuntimeDep

router = APIRouter(tags=["evaluation"])
Stage = Literal["start", "middle", "end"]


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


async def load_pack(rt, assembly_id: uuid.UUID) -> dict:
    async with rt.transaction() as tx:
        return await ev.evaluation_pack(tx, assembly_id, k=rt.settings.report_min_group,
                                        response_days=rt.settings.report_response_days, today=today())


# The downloads are pages (a browser's session or a bearer token), linked from the evaluation page.
@router.get("/assemblies/{assembly_id}/evaluation.json", summary="The evaluation pack (JSON download)",
            responses=errors(404))
async def evaluation_json(assembly_id: uuid.UUID, rt: RuntimeDep,
                          who: Principal = Depends(allow(ORGANISER, AUDITOR, page=True))) -> dict:
    return await load_pack(rt, assembly_id)


@router.get("/assemblies/{assembly_id}/evaluation.csv", summary="The evaluation pack (CSV: section, figure, value)",
            responses=errors(404))
async def evaluation_csv(assembly_id: uuid.UUID, rt: RuntimeDep,
                         who: Principal = Depends(allow(ORGANISER, AUDITOR, page=True))) -> Response:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(("section", "figure", "value"))
    writer.writerows(pack_rows(await load_pack(rt, assembly_id)))
    return Response(buf.getvalue(), media_type="text/csv; charset=utf-8", headers={
        "content-disposition": f'attachment; filename="evaluation-{assembly_id}.csv"'})
