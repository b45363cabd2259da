"""Check-in's HTTP API: a facilitator checks a member in by the personal code from the portal, a
member reads their code and checks themselves in online, staff open a session's online check-in
and correct a mark with a reason. Codes travel in bodies only, never in a path or query."""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from services.sessions.api import session_scope
from services.sessions.domain.checkin import NOTE_MAX, checkin_code
from services.sessions.handlers import checkin as h
from shared.auth import FACILITATOR, MEMBER, ORGANISER, Principal, allow
from shared.openapi import errors
from shared.runtime import Runtime, RuntimeDep
from shared.ui import service_url

router = APIRouter(tags=["check-in"])


class CodeIn(BaseModel):
    code: str = Field(min_length=1, max_length=300, description="The member's check-in code (or the address its QR "
                                                                  "code holds: the code is in the fragment)")


class CheckedInOut(BaseModel):
    member_id: uuid.UUID
    already: bool = Field(description="The member was checked in before (nothing changed)")


class MyCodeOut(BaseModel):
    code: str
    url: str = Field(description="What the QR code holds: the facilitator's door page, the code in its fragment")


class CorrectionIn(BaseModel):
    member_id: uuid.UUID
    present: bool
    reason: Literal["mistake", "was_there", "left", "other"] = Field(
        description="mistake: marked by mistake; was_there: was there but not checked in; left: left before it "
                    "really began; other: say why in the note")
    note: str = Field("", max_length=NOTE_MAX, description="Needed for reason other; kept out of the audit trail")


class CorrectionOut(BaseModel):
    member_id: uuid.UUID
    present_before: bool | None
    present: bool


def checkin_key(rt: Runtime) -> bytes:
    return rt.settings.secret_key.encode()


def door_url(request: Request, rt: Runtime, assembly_id: uuid.UUID, code: str) -> str:
    """The console's door page of the assembly with the code in the fragment (which no server sees)."""
    origin = rt.settings.public_url.rstrip("/")
    if not origin:
        proto = request.headers.get("x-forwarded-proto", request.url.scheme)
        host = request.headers.get("x-forwarded-host", request.headers.get("host", request.url.netloc))
        origin = f"{proto}://{host}"
    return f"{origin}{service_url(request, f'/assemblies/{assembly_id}/door', 'sessions')}#{code}"


@router.post("/sessions/{session_id}/check-ins", response_model=CheckedInOut, responses=errors(404, 409, 422),
             summary="Check a member in at the door by their personal code")
async def check_in(session_id: uuid.UUID, body: CodeIn, rt: RuntimeDep,
                   who: Principal = Depends(allow(ORGANISER, FACILITATOR, scope=session_scope))) -> dict:
    async with rt.transaction() as tx:
        return await h.check_in_by_code(tx, session_id, body.code, key=checkin_key(rt))


@router.get("/assemblies/{assembly_id}/my-check-in-code", response_model=MyCodeOut, responses=errors(404),
            summary="The signed-in member's personal check-in code (and what their QR code holds)")
async def my_check_in_code(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                           who: Principal = Depends(allow(MEMBER))) -> dict:
    code = checkin_code(checkin_key(rt), assembly_id, who.member_id)
    return {"code": code, "url": door_url(request, rt, assembly_id, code)}


@router.post("/sessions/{session_id}/my-check-in", response_model=CheckedInOut, responses=errors(403, 404, 409),
             summary="The signed-in member checks in to a digital or hybrid session while its check-in is open")
async def my_check_in(session_id: uuid.UUID, rt: RuntimeDep,
                      who: Principal = Depends(allow(MEMBER, scope=session_scope))) -> dict:
    async with rt.transaction() as tx:
        return await h.check_in_online(tx, session_id, who.member_id)


@router.post("/sessions/{session_id}/online-check-in", status_code=204, responses=errors(404, 409),
             summary="Open a digital or hybrid session's online check-in now (it opens by itself 30 minutes "
                     "before the start)")
async def open_online(session_id: uuid.UUID, rt: RuntimeDep,
                      who: Principal = Depends(allow(ORGANISER, FACILITATOR, scope=session_scope))) -> None:
    async with rt.transaction() as tx:
        await h.open_online(tx, session_id)


@router.post("/sessions/{session_id}/attendance-corrections", status_code=201, response_model=CorrectionOut,
             responses=errors(404, 409, 422), summary="Correct a member's mark, with a reason (audited)")
async def correct(session_id: uuid.UUID, body: CorrectionIn, rt: RuntimeDep,
                  who: Principal = Depends(allow(ORGANISER, FACILITATOR, scope=session_scope))) -> dict:
    async with rt.transaction() as tx:
        return await h.correct(tx, session_id, body.member_id, present=body.present, reason=body.reason,
                               note=body.note, actor=who.actor)
