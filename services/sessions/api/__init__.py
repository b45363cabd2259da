"""Sessions' HTTP API: roster, agenda, attendance."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from services.sessions import handlers as h
from services.sessions import views as v
from services.sessions import models as m
from shared.auth import AUDITOR, FACILITATOR, MEMBER, ORGANISER, Principal, allow, scope_from
from shared.runtime import RuntimeDep

router = APIRouter(tags=["sessions"])
session_scope = scope_from(m.sessions, "session_id", "session")


class SessionIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    starts_at: datetime
    mode: Literal["physical", "digital", "hybrid"] = "physical"
    phase: Literal["learning", "hearing", "values", "vision", "recommendations", "voting", "other"] = "learning"
    duration_hours: float = Field(6.0, gt=0, le=72)


class SessionOut(SessionIn):
    id: uuid.UUID
    held: bool = False


class AttendanceRecord(BaseModel):
    member_id: uuid.UUID
    present: bool


class AttendanceIn(BaseModel):
    records: list[AttendanceRecord] = Field(min_length=1, max_length=5000)


class HeldOut(BaseModel):
    session_id: uuid.UUID
    present: int
    absent: int


@router.get("/assemblies/{assembly_id}/roster", summary="Active panel members (pseudonymous ids)")
async def roster(assembly_id: uuid.UUID, rt: RuntimeDep,
        who: Principal = Depends(allow(ORGANISER, FACILITATOR, AUDITOR))) -> dict:
    async with rt.transaction() as tx:
        members = sorted(str(x) for x in await v.active_roster(tx, assembly_id))
    return {"assembly_id": assembly_id, "members": members}


@router.post("/assemblies/{assembly_id}/sessions", status_code=201, response_model=SessionOut)
async def schedule(assembly_id: uuid.UUID, body: SessionIn, rt: RuntimeDep,
        who: Principal = Depends(allow(ORGANISER))) -> SessionOut:
    async with rt.transaction() as tx:
        sid = await h.schedule(tx, assembly_id, **body.model_dump())
    return SessionOut(id=sid, **body.model_dump())


@router.get("/assemblies/{assembly_id}/sessions", response_model=list[SessionOut])
async def list_sessions(assembly_id: uuid.UUID, rt: RuntimeDep,
        who: Principal = Depends(allow(ORGANISER, FACILITATOR, AUDITOR, MEMBER))) -> list[SessionOut]:
    async with rt.transaction() as tx:
        return [SessionOut(**s) for s in await v.agenda(tx, assembly_id)]


@router.post("/sessions/{session_id}/attendance", summary="Record attendance (check-in) for members")
async def attendance(session_id: uuid.UUID, body: AttendanceIn, rt: RuntimeDep,
                     who: Principal = Depends(allow(ORGANISER, FACILITATOR, scope=session_scope))) -> dict:
    async with rt.transaction() as tx:
        n = await h.record_attendance(tx, session_id, [(r.member_id, r.present) for r in body.records])
    return {"recorded": n}


@router.post("/sessions/{session_id}/held", response_model=HeldOut, summary="Close attendance: the session was held")
async def held(session_id: uuid.UUID, rt: RuntimeDep,
               who: Principal = Depends(allow(ORGANISER, FACILITATOR, scope=session_scope))) -> HeldOut:
    async with rt.transaction() as tx:
        return HeldOut(**await h.hold(tx, session_id))
