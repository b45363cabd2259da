"""Recruitment's API for registration: a citizen registers or withdraws with the code of the
letter (public, rate-limited); the registrations as each role may see them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from services.recruitment.api import count_refusal, limit_public
from services.recruitment.domain.codes import CodeRefused
from services.recruitment.domain.contact import MAX_EMAIL, MAX_PHONE, from_text
from services.recruitment.handlers import registration as h
from services.recruitment.views import registration as v
from shared.auth import AUDITOR, MEMBER, ORGANISER, PUBLIC, REGISTRAR, Principal, allow
from shared.openapi import errors
from shared.problems import invalid
from shared.runtime import Runtime, RuntimeDep

router = APIRouter()


Short = Annotated[str, Field(max_length=300)]


class RegistrationIn(BaseModel):
    code: str = Field(min_length=1, max_length=64)
    consent: bool
    consent_version: str | None = Field(None, max_length=40, description="The version of the consent text shown "
                                        "(domain/consent.py); the current one if omitted")
    language: Literal["da", "en"] = Field("da", description="The language the consent text was read in")
    answers: dict[str, str] = Field(default_factory=dict, max_length=50,
                                    description="The strata questions: {category: value}; every one the "
                                                "questionnaire asks (GET /assemblies/{id}/questionnaire)")
    attitudes: dict[str, Short] = Field(default_factory=dict, max_length=20,
                                        description="The optional attitude questions: {key: value}")
    needs: dict[str, Short] = Field(default_factory=dict, max_length=4,
                                    description="What the person needs if drawn, for the needs the questionnaire "
                                                "asks: {language | accessibility | diet | childcare: text}")
    email: str | None = Field(None, max_length=MAX_EMAIL, description="An e-mail address, to reach the person if drawn")
    phone: str | None = Field(None, max_length=MAX_PHONE, description="A phone number (digits, spaces, dashes, "
                                                                      "brackets, a leading +), to reach them if drawn")
    contact: str | None = Field(None, max_length=200, json_schema_extra={"deprecated": True},
                                description="Deprecated: an e-mail address and/or a phone number in one text "
                                            "(separated by a comma); send `email` and `phone` instead")


class RegistrationOut(BaseModel):
    status: str
    message: str
    reference: str | None = Field(None, description="The receipt's reference: the start of the registration's id")
    registered_at: datetime | None = None
    consent_version: str | None = None


async def _register(rt: Runtime, request: Request, body: RegistrationIn) -> dict:
    s = rt.settings
    email, phone = body.email, body.phone
    if body.contact and not (email or phone):  # the old single text: read into the two fields, or refused
        email, phone, rest = from_text(body.contact)
        if rest:
            raise invalid("contact must be an e-mail address and/or a phone number: send them as email and phone",
                          [{"field": "contact", "problem": "neither an e-mail address nor a phone number: "
                                                           "use the fields email and phone"}])
    ip = await limit_public(rt, request, body.code, per_code=s.register_attempts_per_code)
    try:
        async with rt.transaction() as tx:
            return await h.register(tx, code=body.code, consent=body.consent, answers=body.answers,
                                    email=email, phone=phone, secret=s.secret_key, consent_version=body.consent_version,
                                    lang=body.language, attitudes=body.attitudes, needs=body.needs)
    except CodeRefused:
        await count_refusal(rt, ip)
        raise


def receipt_reference(respondent_id: uuid.UUID) -> str:
    """The registration's reference on the receipt: the start of its pseudonymous id."""
    return str(respondent_id)[:8].upper()


@router.post("/registrations", status_code=201, response_model=RegistrationOut, tags=["public"], responses=errors(404, 429),
             summary="Register with the code from the invitation letter (public, rate-limited)")
async def register(body: RegistrationIn, request: Request, rt: RuntimeDep,
        who: Principal = Depends(allow(PUBLIC))) -> RegistrationOut:
    receipt = await _register(rt, request, body)
    return RegistrationOut(status="registered", message="Thank you — you are in the pool for the draw.",
                           reference=receipt_reference(receipt["respondent_id"]),
                           registered_at=receipt["registered_at"], consent_version=receipt["consent_version"])


class WithdrawalIn(BaseModel):
    code: str = Field(min_length=1, max_length=64)


@router.post("/withdrawals", response_model=RegistrationOut, tags=["public"], responses=errors(404, 429),
             summary="Withdraw a registration with the code from the letter (public, rate-limited)")
async def withdraw(body: WithdrawalIn, request: Request, rt: RuntimeDep,
        who: Principal = Depends(allow(PUBLIC))) -> RegistrationOut:
    ip = await limit_public(rt, request, body.code, per_code=rt.settings.register_attempts_per_code)
    try:
        async with rt.transaction() as tx:
            await h.withdraw(tx, code=body.code)
    except CodeRefused:
        await count_refusal(rt, ip)
        raise
    return RegistrationOut(status="withdrawn", message="You have left the pool; your answers are deleted.")


# ---- registrations: what leaves depends on the role -------------------------------------------


class RegistrationPseudonymous(BaseModel):
    """For organisers and auditors: no personal data."""

    respondent_id: uuid.UUID
    region: str
    features: dict[str, str]
    withdrawn: bool


class RegistrationFull(RegistrationPseudonymous):
    """For registrars, who write to people: name, address and contact too (opened from the
    identity vault; None and `erased` once the person's data key was deleted)."""

    name: str | None
    address: str | None
    email: str | None = None
    phone: str | None = None
    contact: str | None = Field(None, description="E-mail and phone as one line (and an old free-text contact's rest)")
    erased: bool = False


@router.get("/assemblies/{assembly_id}/registrations", tags=["registrations"],
            response_model=list[RegistrationFull] | list[RegistrationPseudonymous],
            summary="Registrations: registrars see names and contact details, organisers and auditors do not")
async def list_registrations(assembly_id: uuid.UUID, rt: RuntimeDep,
                             who: Principal = Depends(allow(REGISTRAR, ORGANISER, AUDITOR))) -> list:
    registrar = REGISTRAR in who.roles_in(assembly_id)
    async with rt.transaction() as tx:
        rows = await v.registrations(tx, assembly_id, identities=registrar)
    model = RegistrationFull if registrar else RegistrationPseudonymous
    return [model(respondent_id=r["id"], withdrawn=r["withdrawn_at"] is not None, **r) for r in rows]


@router.get("/assemblies/{assembly_id}/members/me", response_model=RegistrationFull, tags=["members"],
            summary="A member's own registration, as recruitment holds it")
async def own_registration(assembly_id: uuid.UUID, rt: RuntimeDep,
                           who: Principal = Depends(allow(MEMBER))) -> RegistrationFull:
    async with rt.transaction() as tx:
        r = await v.own_registration(tx, assembly_id, who.member_id)
    return RegistrationFull(respondent_id=r["id"], withdrawn=r["withdrawn_at"] is not None, **r)
