"""Recruitment's API for the waves after the first batch: the targeted second wave (its plan, then
its letters), reminders, and the returned letters (docs/letters.md)."""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from services.recruitment import views as v
from services.recruitment.api.invitations import ZIP_RESPONSE, InvitationsOut, Letter, letter_pack_response
from services.recruitment.domain.waves import DEFAULT_POOL_FACTOR
from services.recruitment.handlers import waves as h
from shared.auth import AUDITOR, ORGANISER, REGISTRAR, Principal, allow
from shared.errors import ApiError
from shared.openapi import errors
from shared.problems import invalid
from shared.runtime import RuntimeDep

router = APIRouter(tags=["invitations"])
MAX_RETURNS_BYTES = 10 * 1024 * 1024


class WaveRowOut(BaseModel):
    region: str
    seats: int = Field(description="Panel seats the region should get: its quota minimum or its population share")
    target: int = Field(description="Registrations the pool should hold: ceil(pool factor x seats)")
    registered: int
    delivered: int = Field(description="Letters sent there so far, less the returned ones")
    reply_rate: float
    observed: bool = Field(description="The region's own reply rate (else the expected rate)")
    gap: int
    available: int = Field(description="People of the register there not yet invited")
    letters: int = Field(description="min(ceil(gap / reply rate), available)")
    capped: bool


class WavePlanOut(BaseModel):
    pool_factor: float
    expected_rate: float
    letters: int
    rows: list[WaveRowOut]


class LetterOptions(BaseModel):
    letters: Literal["json", "zip"] = "json"
    language: Literal["da", "en"] = "da"
    channel: Literal["print", "digital-post"] = "print"


class SecondWaveIn(LetterOptions):
    pool_factor: float = Field(DEFAULT_POOL_FACTOR, ge=1, le=100)
    expected_rate: float | None = Field(None, gt=0, le=1, description="For regions without a reply yet")
    seed: int | None = Field(None, ge=0, lt=2**62)


class SecondWaveOut(InvitationsOut):
    plan: WavePlanOut


class RemindersOut(BaseModel):
    batch_id: uuid.UUID
    count: int
    letters: list[Letter] = Field(description="Each with a second code (the first letter's still works)")


class ReturnedOut(BaseModel):
    marked: int
    already: int = Field(description="Booked as returned before")
    unknown: int = Field(description="No letter of this assembly has this id")


def plan_out(rows, pool_factor: float, expected_rate: float) -> WavePlanOut:
    return WavePlanOut(pool_factor=pool_factor, expected_rate=expected_rate, letters=sum(r.letters for r in rows),
                       rows=[WaveRowOut(**r.__dict__) for r in rows])


@router.get("/assemblies/{assembly_id}/second-wave", response_model=WavePlanOut,
            summary="The targeted second wave's letters per region, computed from the pool's gap to the quotas")
async def second_wave_plan(assembly_id: uuid.UUID, rt: RuntimeDep,
                           pool_factor: float = Query(DEFAULT_POOL_FACTOR, ge=1, le=100),
                           expected_rate: float | None = Query(None, gt=0, le=1),
                           who: Principal = Depends(allow(ORGANISER, REGISTRAR, AUDITOR))) -> WavePlanOut:
    async with rt.transaction() as tx:
        rows, rate = await h.plan_second_wave(tx, assembly_id, pool_factor, expected_rate)
    return plan_out(rows, pool_factor, rate)


@router.post("/assemblies/{assembly_id}/second-wave-batches", status_code=201, response_model=SecondWaveOut,
             responses={**ZIP_RESPONSE, **errors(409)},
             summary="Send the targeted second wave: its letters per region as the plan says")
async def send_second_wave(assembly_id: uuid.UUID, body: SecondWaveIn, request: Request, rt: RuntimeDep,
                           who: Principal = Depends(allow(REGISTRAR))) -> SecondWaveOut | Response:
    async with rt.transaction() as tx:
        batch_id, per_region, letters, rows, rate = await h.send_second_wave(tx, assembly_id, body.pool_factor, body.seed,
                                                                       body.expected_rate)
        assembly = await v.load_assembly(tx, assembly_id)
    if body.letters == "zip":
        return await letter_pack_response(request, rt, batch_id, assembly, letters, lang=body.language,
                                          channel=body.channel)
    plan = plan_out(rows, body.pool_factor, rate)
    return SecondWaveOut(batch_id=batch_id, count=len(letters), per_region=per_region, letters=letters, plan=plan)


@router.post("/assemblies/{assembly_id}/reminder-batches", status_code=201, response_model=RemindersOut,
             responses={**ZIP_RESPONSE, **errors(409)},
             summary="Reminder letters to everyone invited who has not replied (letters returned are left out)")
async def send_reminders(assembly_id: uuid.UUID, body: LetterOptions, request: Request, rt: RuntimeDep,
                         who: Principal = Depends(allow(REGISTRAR))) -> RemindersOut | Response:
    async with rt.transaction() as tx:
        batch_id, letters = await h.send_reminders(tx, assembly_id)
        assembly = await v.load_assembly(tx, assembly_id)
    if body.letters == "zip":
        return await letter_pack_response(request, rt, batch_id, assembly, letters, lang=body.language,
                                          channel=body.channel, kind="reminder")
    return RemindersOut(batch_id=batch_id, count=len(letters), letters=letters)


@router.post("/assemblies/{assembly_id}/returned-letters", response_model=ReturnedOut, responses=errors(413, 415),
             summary="Book returned (undeliverable) letters: CSV letter_id[,reason], the id or the printed reference")
async def returned_letters(assembly_id: uuid.UUID, request: Request, rt: RuntimeDep,
                           who: Principal = Depends(allow(REGISTRAR))) -> ReturnedOut:
    if not request.headers.get("content-type", "").startswith("text/csv"):
        raise ApiError(415, "send the returned letters as a CSV body with Content-Type: text/csv")
    raw = await request.body()
    if len(raw) > MAX_RETURNS_BYTES:
        raise ApiError(413, f"the file is larger than {MAX_RETURNS_BYTES // 2**20} MiB; split it into parts")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise invalid("the file must be UTF-8 text") from exc
    async with rt.transaction() as tx:
        return ReturnedOut(**await h.mark_returned(tx, assembly_id, text))
