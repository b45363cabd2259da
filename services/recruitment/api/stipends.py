"""Recruitment's API for places and stipends: a member confirms or declines their place and reads
their stipend statement and files claims; the secretariat sets the rates; registrars approve
claims (two different people), see receipts and export payments (docs/stipends.md)."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends, Path
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from services.recruitment import models as m
from services.recruitment.domain.stipends import MAX_ORE, MAX_RECEIPT_BYTES, Rates
from services.recruitment.handlers import stipends as h
from services.recruitment.views import stipends as v
from shared.auth import AUDITOR, MEMBER, ORGANISER, REGISTRAR, Principal, allow, scope_from
from shared.openapi import errors
from shared.problems import invalid, not_found
from shared.runtime import RuntimeDep

router = APIRouter(tags=["stipends"])
claim_scope = scope_from(m.stipend_claims, "claim_id", "claim")
CSV_RESPONSE = {200: {"content": {"text/csv": {}}, "description": "The payment file (CSV; docs/stipends.md)"}}


class In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PlaceIn(In):
    answer: Literal["confirmed", "declined"] = Field(description="declined asks sortition to replace you")


class PlaceOut(BaseModel):
    answer: Literal["confirmed", "declined"] | None
    answered_at: datetime | None = None


class RatesIO(In):
    session_ore: int = Field(ge=0, le=MAX_ORE, description="Paid per session attended, in øre")
    travel_cap_ore: int = Field(0, ge=0, le=MAX_ORE, description="Most a travel claim pays per session (0: none)")
    childcare_cap_ore: int = Field(0, ge=0, le=MAX_ORE, description="Most a childcare claim pays per session (0: none)")


class LineOut(BaseModel):
    kind: Literal["session", "travel", "childcare"]
    ref: str = Field(description="The session's id (a stipend) or the claim's id")
    session_id: str
    amount_ore: int
    status: Literal["present", "absent", "pending", "approved", "rejected"]
    paid: bool


class LedgerOut(BaseModel):
    member_id: str
    earned_ore: int
    paid_ore: int
    due_ore: int
    sessions_present: int
    lines: list[LineOut]


class StipendsOut(BaseModel):
    rates: RatesIO
    sessions_held: int
    incomplete: list[str] = Field(description="Held sessions whose attendance is still arriving from sessions")
    earned_ore: int
    paid_ore: int
    due_ore: int
    ledgers: list[LedgerOut]


class ClaimIn(In):
    session_id: uuid.UUID
    kind: Literal["travel", "childcare"]
    amount_ore: int = Field(ge=1, le=MAX_ORE)
    receipt_base64: str = Field(min_length=4, max_length=(MAX_RECEIPT_BYTES * 4) // 3 + 4,
                                description="The receipt (PDF, JPEG or PNG, at most 5 MB), base64-encoded")


class ClaimOut(BaseModel):
    id: uuid.UUID
    member_id: uuid.UUID
    session_id: uuid.UUID
    kind: str
    amount_ore: int
    status: Literal["pending", "approved", "rejected"]
    approvals: int = Field(description="Approvals so far (two different staff approve a claim)")
    receipt_sha256: str
    submitted_at: datetime
    reason: str | None = None


class DecisionOut(BaseModel):
    id: uuid.UUID
    status: Literal["pending", "approved", "rejected"]
    approvals: int


class RejectIn(In):
    reason: str = Field(min_length=1, max_length=500, description="What the member reads: why, and what to do")


class PaymentOut(BaseModel):
    id: uuid.UUID
    number: int
    payees: int
    total_ore: int
    created_at: datetime | None = None


def _rates(r: Rates) -> RatesIO:
    return RatesIO(session_ore=r.session_ore, travel_cap_ore=r.travel_cap_ore, childcare_cap_ore=r.childcare_cap_ore)


def _claim_out(c: dict) -> ClaimOut:
    return ClaimOut(approvals=len(c["approvals"]), **{k: c[k] for k in ClaimOut.model_fields if k in c and k != "approvals"})


def stipends_out(state: dict) -> StipendsOut:
    books = sorted(state["books"].values(), key=lambda b: b.member_id)
    return StipendsOut(rates=_rates(state["rates"]),
                       sessions_held=sum(1 for s in state["sessions"] if s["held_at"] is not None),
                       incomplete=state["incomplete"], earned_ore=sum(b.earned_ore for b in books),
                       paid_ore=sum(b.paid_ore for b in books), due_ore=sum(b.due_ore for b in books),
                       ledgers=[LedgerOut(**v.book_out(b)) for b in books])


# ---- the member --------------------------------------------------------------------------------


@router.get("/assemblies/{assembly_id}/my-place", response_model=PlaceOut, tags=["members"],
            summary="Whether I have confirmed or declined my place")
async def my_place(assembly_id: uuid.UUID, rt: RuntimeDep, who: Principal = Depends(allow(MEMBER))) -> PlaceOut:
    async with rt.transaction() as tx:
        p = await v.place(tx, who.member_id)
    return PlaceOut(**(p or {"answer": None}))


@router.post("/assemblies/{assembly_id}/my-place", response_model=PlaceOut, tags=["members"], responses=errors(403),
             summary="Confirm or decline my place (a decline asks sortition for a replacement)")
async def answer_place(assembly_id: uuid.UUID, body: PlaceIn, rt: RuntimeDep,
                       who: Principal = Depends(allow(MEMBER))) -> PlaceOut:
    async with rt.transaction() as tx:
        return PlaceOut(**await h.answer(tx, assembly_id, who.member_id, body.answer))


@router.get("/assemblies/{assembly_id}/my-stipend", response_model=LedgerOut, tags=["members"],
            summary="My stipend statement: each session and claim, what is paid and what is due")
async def my_stipend(assembly_id: uuid.UUID, rt: RuntimeDep, who: Principal = Depends(allow(MEMBER))) -> LedgerOut:
    async with rt.transaction() as tx:
        state = await v.book(tx, assembly_id, who.member_id)
    return LedgerOut(**v.book_out(state["books"][str(who.member_id)]))


def decode_receipt(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise invalid("receipt_base64 is not base64: encode the file's bytes", [
            {"field": "receipt_base64", "problem": "not base64"}]) from None


@router.post("/assemblies/{assembly_id}/my-claims", response_model=ClaimOut, status_code=201, tags=["members"],
             responses=errors(404), summary="Claim travel or childcare for a session I attended, with the receipt")
async def submit_claim(assembly_id: uuid.UUID, body: ClaimIn, rt: RuntimeDep,
                       who: Principal = Depends(allow(MEMBER))) -> ClaimOut:
    receipt = decode_receipt(body.receipt_base64)
    async with rt.transaction() as tx:
        claim_id = await h.submit_claim(tx, assembly_id, who.member_id, session_id=body.session_id, kind=body.kind,
                                        amount_ore=body.amount_ore, receipt=receipt)
        [c] = [c for c in await v.claims(tx, assembly_id, who.member_id) if c["id"] == claim_id]
    return _claim_out(c)


@router.get("/assemblies/{assembly_id}/my-claims", response_model=list[ClaimOut], tags=["members"],
            summary="My claims and where each stands")
async def my_claims(assembly_id: uuid.UUID, rt: RuntimeDep, who: Principal = Depends(allow(MEMBER))) -> list[ClaimOut]:
    async with rt.transaction() as tx:
        return [_claim_out(c) for c in await v.claims(tx, assembly_id, who.member_id)]


# ---- staff -------------------------------------------------------------------------------------


@router.get("/assemblies/{assembly_id}/stipends/rates", response_model=RatesIO, summary="What the assembly pays")
async def get_rates(assembly_id: uuid.UUID, rt: RuntimeDep,
                    who: Principal = Depends(allow(ORGANISER, REGISTRAR, AUDITOR))) -> RatesIO:
    async with rt.transaction() as tx:
        return _rates(await v.rates(tx, assembly_id))


@router.put("/assemblies/{assembly_id}/stipends/rates", response_model=RatesIO,
            summary="Set what the assembly pays (held sessions keep the rate they were held at)")
async def put_rates(assembly_id: uuid.UUID, body: RatesIO, rt: RuntimeDep,
                    who: Principal = Depends(allow(ORGANISER))) -> RatesIO:
    async with rt.transaction() as tx:
        return _rates(await h.set_rates(tx, assembly_id, Rates(body.session_ore, body.travel_cap_ore,
                                                                body.childcare_cap_ore)))


@router.get("/assemblies/{assembly_id}/stipends", response_model=StipendsOut,
            summary="Every member's ledger: sessions attended, claims, paid and due (member ids, no names)")
async def stipends(assembly_id: uuid.UUID, rt: RuntimeDep,
                   who: Principal = Depends(allow(ORGANISER, REGISTRAR, AUDITOR))) -> StipendsOut:
    async with rt.transaction() as tx:
        return stipends_out(await v.book(tx, assembly_id))


@router.get("/assemblies/{assembly_id}/claims", response_model=list[ClaimOut], summary="The members' claims")
async def claims(assembly_id: uuid.UUID, rt: RuntimeDep,
                 who: Principal = Depends(allow(ORGANISER, REGISTRAR, AUDITOR))) -> list[ClaimOut]:
    async with rt.transaction() as tx:
        return [_claim_out(c) for c in await v.claims(tx, assembly_id)]


@router.get("/claims/{claim_id}/receipt", summary="A claim's receipt as the member uploaded it",
            response_class=Response, responses={200: {"content": {"application/pdf": {}, "image/jpeg": {},
                                                                  "image/png": {}}}})
async def receipt(claim_id: uuid.UUID, rt: RuntimeDep,
                  who: Principal = Depends(allow(REGISTRAR, scope=claim_scope))) -> Response:
    async with rt.transaction() as tx:
        data, media = await v.receipt(tx, claim_id)
    return Response(data, media_type=media, headers={"content-disposition": "inline", "cache-control": "no-store",
                                                     "x-content-type-options": "nosniff"})


@router.post("/claims/{claim_id}/approve", response_model=DecisionOut,
             summary="Approve a claim: the first approval leaves it pending, a second by someone else approves it")
async def approve(claim_id: uuid.UUID, rt: RuntimeDep,
                  who: Principal = Depends(allow(REGISTRAR, scope=claim_scope))) -> DecisionOut:
    async with rt.transaction() as tx:
        return DecisionOut(**await h.approve_claim(tx, claim_id, who.actor))


@router.post("/claims/{claim_id}/reject", response_model=DecisionOut, summary="Reject a claim, saying why")
async def reject(claim_id: uuid.UUID, body: RejectIn, rt: RuntimeDep,
                 who: Principal = Depends(allow(REGISTRAR, scope=claim_scope))) -> DecisionOut:
    async with rt.transaction() as tx:
        return DecisionOut(**await h.reject_claim(tx, claim_id, who.actor, body.reason))


@router.post("/assemblies/{assembly_id}/stipends/payments", status_code=201, response_class=Response,
             responses={**CSV_RESPONSE, **errors(409)},
             summary="Pay what is due: a new payment and its file for the agency's payment system (CSV)")
async def export_payment(assembly_id: uuid.UUID, rt: RuntimeDep,
                         who: Principal = Depends(allow(REGISTRAR))) -> Response:
    async with rt.transaction() as tx:
        payment, text = await h.export_payment(tx, assembly_id, who.actor)
    return payment_response(text, payment["number"], status=201)


def payment_response(text: str, number: int, status: int = 200) -> Response:
    return Response(text.encode("utf-8-sig"), status_code=status, media_type="text/csv; charset=utf-8",
                    headers={"content-disposition": f'attachment; filename="payment-{number}.csv"',
                             "cache-control": "no-store", "x-payment-number": str(number)})


@router.get("/assemblies/{assembly_id}/stipends/payments", response_model=list[PaymentOut],
            summary="The payments exported so far")
async def payments(assembly_id: uuid.UUID, rt: RuntimeDep,
                   who: Principal = Depends(allow(ORGANISER, REGISTRAR, AUDITOR))) -> list[PaymentOut]:
    async with rt.transaction() as tx:
        return [PaymentOut(**p) for p in await v.payments(tx, assembly_id)]


@router.get("/assemblies/{assembly_id}/stipends/payments/{number}", response_class=Response,
            responses=CSV_RESPONSE, summary="A payment's file again (CSV)")
async def payment(assembly_id: uuid.UUID, rt: RuntimeDep, number: int = Path(ge=1, le=1_000_000),
                  who: Principal = Depends(allow(REGISTRAR))) -> Response:
    async with rt.transaction() as tx:
        found = [p for p in await v.payments(tx, assembly_id) if p["number"] == number]
        if not found:
            raise not_found("payment")
        text = await h.payment_file(tx, found[0]["id"], number)
    return payment_response(text, number)
