"""Attendance and drop-out's HTTP API: each member's attendance over the sessions held with who the
assembly's rule calls a drop-out or at risk, setting the rule, and the secretariat's confirmed
replacement requests to sortition."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from services.sessions.domain.dropout import MAX_MISSED_IN_A_ROW, at_risk, dropouts
from services.sessions.handlers import dropout as h
from services.sessions.views import dropout as v
from shared.auth import AUDITOR, FACILITATOR, ORGANISER, Principal, allow
from shared.openapi import errors
from shared.runtime import RuntimeDep

router = APIRouter(tags=["attendance"])


class MemberAttendanceOut(BaseModel):
    member_id: uuid.UUID
    marks: list[bool | None] = Field(description="Per held session in time order: present, absent, or null (joined later)")
    attended: int
    missed: int
    missed_in_a_row: int
    replacement_requested: bool


class AttendanceOut(BaseModel):
    assembly_id: uuid.UUID
    sessions_held: list[uuid.UUID]
    missed_in_a_row: int = Field(description="The assembly's drop-out rule")
    members: list[MemberAttendanceOut]
    dropouts: list[uuid.UUID]
    at_risk: list[uuid.UUID]


class RuleIn(BaseModel):
    missed_in_a_row: int = Field(ge=1, le=MAX_MISSED_IN_A_ROW,
                                 description="A member who missed this many held sessions in a row is a drop-out")


class ReplacementsIn(BaseModel):
    members: list[uuid.UUID] = Field(min_length=1, max_length=500)


class ReplacementsOut(BaseModel):
    members: list[uuid.UUID]
    missed_in_a_row: int


@router.get("/assemblies/{assembly_id}/attendance", response_model=AttendanceOut, responses=errors(404),
            summary="Each member's attendance over the sessions held; drop-outs and members at risk by the rule")
async def attendance(assembly_id: uuid.UUID, rt: RuntimeDep,
                     who: Principal = Depends(allow(ORGANISER, FACILITATOR, AUDITOR))) -> dict:
    async with rt.transaction() as tx:
        n = await v.rule(tx, assembly_id)
        held, history = await v.member_histories(tx, assembly_id)
        asked = await v.requested(tx, assembly_id)
    return {"assembly_id": assembly_id, "sessions_held": [s.id for s in held], "missed_in_a_row": n,
            "members": [{**x.__dict__, "marks": list(x.marks), "replacement_requested": x.member_id in asked}
                        for x in history],
            "dropouts": [x.member_id for x in dropouts(history, n)], "at_risk": [x.member_id for x in at_risk(history, n)]}


@router.put("/assemblies/{assembly_id}/dropout-rule", status_code=204, responses=errors(422),
            summary="Set the drop-out rule: missed this many held sessions in a row (default 2)")
async def set_rule(assembly_id: uuid.UUID, body: RuleIn, rt: RuntimeDep,
                   who: Principal = Depends(allow(ORGANISER))) -> None:
    async with rt.transaction() as tx:
        await h.set_rule(tx, assembly_id, body.missed_in_a_row)


@router.post("/assemblies/{assembly_id}/replacement-requests", status_code=201, response_model=ReplacementsOut,
             responses=errors(409, 422),
             summary="Confirm drop-outs by the rule: sortition draws their replacements (replacement-requested)")
async def request_replacements(assembly_id: uuid.UUID, body: ReplacementsIn, rt: RuntimeDep,
                               who: Principal = Depends(allow(ORGANISER))) -> dict:
    async with rt.transaction() as tx:
        return await h.request_replacements(tx, assembly_id, body.members)
