"""Recruitment's API for panel members: selection letters with login codes (registrars), a member's
sign-in with that code for a member token, and the issuer's public keys."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from services.recruitment.api import count_refusal, limit_public
from services.recruitment.domain.codes import CodeRefused
from services.recruitment.handlers import members as h
from services.recruitment.views import members as members_reads
from shared.auth import FACILITATOR, ORGANISER, PUBLIC, REGISTRAR, Principal, allow
from shared.auth.keys import member_jwks, mint_member_token
from shared.openapi import errors
from shared.runtime import RuntimeDep

router = APIRouter()


# ---- panel members ---------------------------------------------------------------------------


class MemberLetter(BaseModel):
    member_id: uuid.UUID
    name: str
    address: str
    email: str | None = None
    phone: str | None = None
    contact: str | None = Field(None, description="E-mail and phone as one line")
    region: str
    code: str


class MemberLettersOut(BaseModel):
    count: int
    letters: list[MemberLetter] = Field(description="For the mail merge: each login code is shown here once only")


class MemberLoginIn(BaseModel):
    code: str = Field(min_length=1, max_length=64, description="The login code from the selection letter")


class MemberTokenOut(BaseModel):
    access_token: str
    token_type: str = "Bearer"
    expires_in: int
    assembly_id: uuid.UUID
    member_id: uuid.UUID


class MemberNeeds(BaseModel):
    member_id: uuid.UUID
    name: str
    region: str
    needs: dict[str, str] = Field(description="{language | accessibility | diet | childcare: what they wrote}")


class PanelNeedsOut(BaseModel):
    members: int = Field(description="Active members of the panel (not withdrawn)")
    erased: int = Field(description="Members whose personal data is erased: their needs are unknown")
    with_needs: int = Field(description="Members who stated at least one need")
    counts: dict[str, int] = Field(description="Per need the questionnaire asks: how many members stated one")
    people: list[MemberNeeds] | None = Field(None, description="Who needs what: registrars only (null for others)")


@router.get("/assemblies/{assembly_id}/member-needs", response_model=PanelNeedsOut, tags=["members"],
            responses=errors(404),
            summary="The panel's needs for planning the sessions: counts for organisers and facilitators, "
                    "who needs what for registrars")
async def member_needs(assembly_id: uuid.UUID, rt: RuntimeDep,
                       who: Principal = Depends(allow(REGISTRAR, ORGANISER, FACILITATOR))) -> PanelNeedsOut:
    async with rt.transaction() as tx:
        found = await members_reads.panel_needs(tx, assembly_id, detail=REGISTRAR in who.roles_in(assembly_id))
    return PanelNeedsOut(**found)


@router.post("/assemblies/{assembly_id}/member-letters", status_code=201, response_model=MemberLettersOut,
             tags=["members"], summary="Login codes for panel members who have none yet (selection letters)")
async def member_letters(assembly_id: uuid.UUID, rt: RuntimeDep,
                         who: Principal = Depends(allow(REGISTRAR))) -> MemberLettersOut:
    async with rt.transaction() as tx:
        letters = await h.issue_member_letters(tx, assembly_id)
    return MemberLettersOut(count=len(letters), letters=letters)


@router.post("/assemblies/{assembly_id}/members/{member_id}/letter", status_code=201, response_model=MemberLetter,
             tags=["members"], summary="A new login code for a member who lost theirs (the old code stops working)")
async def reissue_member_letter(assembly_id: uuid.UUID, member_id: uuid.UUID, rt: RuntimeDep,
                                who: Principal = Depends(allow(REGISTRAR))) -> MemberLetter:
    async with rt.transaction() as tx:
        return MemberLetter(**await h.reissue_member_letter(tx, assembly_id, member_id))


@router.post("/member-login", response_model=MemberTokenOut, tags=["public", "members"], responses=errors(404, 429),
             summary="A panel member exchanges the login code from their letter for a member token (rate-limited)")
async def member_login(body: MemberLoginIn, request: Request, rt: RuntimeDep,
                       who: Principal = Depends(allow(PUBLIC))) -> MemberTokenOut:
    s = rt.settings
    ip = await limit_public(rt, request, body.code, per_code=s.member_login_attempts_per_code)
    try:
        async with rt.transaction() as tx:
            assembly_id, member_id = await h.member_login(tx, code=body.code)
    except CodeRefused:
        await count_refusal(rt, ip)
        raise
    token = mint_member_token(s.secret_key, issuer=s.auth_member_issuer, audience=s.auth_audience,
                              assembly_id=assembly_id, member_id=member_id, minutes=s.member_token_minutes)
    return MemberTokenOut(access_token=token, expires_in=s.member_token_minutes * 60, assembly_id=assembly_id,
                          member_id=member_id)


@router.get("/.well-known/jwks.json", tags=["public", "members"], summary="Public keys of the members' token issuer")
async def member_jwks_endpoint(rt: RuntimeDep, who: Principal = Depends(allow(PUBLIC))) -> dict:
    return member_jwks(rt.settings.secret_key)
