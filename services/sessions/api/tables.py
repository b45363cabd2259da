"""Table plans' HTTP API: the seating needs staff set per member, making and re-making a session's
plan (at live check-in: only the members checked in), reading it, and publishing it."""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from services.sessions.api import session_scope
from services.sessions.handlers import tables as h
from services.sessions.views import tables as v
from shared.auth import AUDITOR, FACILITATOR, ORGANISER, Principal, allow
from shared.openapi import errors
from shared.problems import not_found
from shared.runtime import RuntimeDep

router = APIRouter(tags=["table plans"])


class NeedIn(BaseModel):
    member_id: uuid.UUID
    language: str | None = Field(None, pattern=r"^[a-z]{2,3}(-[a-z0-9]{2,8})?$",
                                 description="A language the member needs at the table (e.g. 'en'); members who "
                                             "need the same one are seated together")
    accessible: bool = Field(False, description="Needs a table at an accessible place")


class NeedsIn(BaseModel):
    needs: list[NeedIn] = Field(max_length=5000, description="Replaces the assembly's seating needs")


class PlanIn(BaseModel):
    rounds: int = Field(3, ge=1, le=12)
    table_size: int = Field(8, ge=2, le=30, description="The size aimed at")
    min_size: int = Field(6, ge=2, le=30)
    max_size: int = Field(10, ge=2, le=30)
    facilitators: int | None = Field(None, ge=1, le=500, description="At most this many tables")
    accessible_tables: int | None = Field(None, ge=0, le=500, description="Tables 1..N are at accessible places")
    seat: Literal["checked_in", "roster"] = Field(
        "checked_in", description="checked_in: only members checked in so far (re-plan at live check-in)")
    seed: int = Field(0, ge=0, le=2**31 - 1)
    keep_apart: list[tuple[uuid.UUID, uuid.UUID]] = Field([], max_length=500)
    priority: Literal["no_repeats", "mix"] = Field(
        "no_repeats", description="no_repeats: as few repeat meetings across rounds as possible, then each "
                                  "table's mix; mix: each table as close to the panel's mix as possible first, "
                                  "repeat meetings allowed at a price (on small panels with many rounds: more "
                                  "diverse tables, some members meeting twice)")


@router.get("/assemblies/{assembly_id}/table-needs", summary="Seating needs per member (language, accessible place)")
async def get_needs(assembly_id: uuid.UUID, rt: RuntimeDep, who: Principal = Depends(allow(ORGANISER))) -> dict:
    async with rt.transaction() as tx:
        needs = await v.needs_of(tx, assembly_id)
    return {"needs": [{"member_id": m, "language": lang, "accessible": acc}
                      for m, (lang, acc) in sorted(needs.items(), key=lambda x: str(x[0]))]}


@router.put("/assemblies/{assembly_id}/table-needs", responses=errors(422),
            summary="Replace the seating needs (they stay out of events and the audit trail's details)")
async def put_needs(assembly_id: uuid.UUID, body: NeedsIn, rt: RuntimeDep,
                    who: Principal = Depends(allow(ORGANISER))) -> dict:
    async with rt.transaction() as tx:
        n = await h.set_needs(tx, assembly_id, {x.member_id: (x.language, x.accessible) for x in body.needs})
    return {"members": n}


@router.post("/sessions/{session_id}/table-plan", status_code=201, responses=errors(404, 409, 422),
             summary="Make or re-make the session's table plan (not yet published)")
async def make_plan(session_id: uuid.UUID, body: PlanIn, rt: RuntimeDep,
                    who: Principal = Depends(allow(ORGANISER, scope=session_scope))) -> dict:
    async with rt.transaction() as tx:
        return await h.make_plan(tx, session_id, **body.model_dump())


@router.get("/sessions/{session_id}/table-plan", responses=errors(404), summary="The session's table plan")
async def get_plan(session_id: uuid.UUID, rt: RuntimeDep,
                   who: Principal = Depends(allow(ORGANISER, FACILITATOR, AUDITOR, scope=session_scope))) -> dict:
    async with rt.transaction() as tx:
        row = await v.load_plan(tx, session_id)
    if row is None:
        raise not_found("table plan")
    return v.plan_out(row)


@router.post("/sessions/{session_id}/table-plan/publish", responses=errors(404, 409),
             summary="Publish the plan to facilitators and members (table-plan-published)")
async def publish(session_id: uuid.UUID, rt: RuntimeDep,
                  who: Principal = Depends(allow(ORGANISER, scope=session_scope))) -> dict:
    async with rt.transaction() as tx:
        return await h.publish_plan(tx, session_id)
