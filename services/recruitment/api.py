"""Recruitment's HTTP API: assemblies, the register extract, invitations, and public registration."""

from __future__ import annotations

import io
import tempfile
import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from services.recruitment import handlers as h
from services.recruitment import views as v
from services.recruitment import printing
from services.recruitment.domain.codes import CodeRefused
from shared.auth import AUDITOR, FACILITATOR, MEMBER, OPERATOR, ORGANISER, PUBLIC, REGISTRAR, Principal, allow
from shared.auth.keys import member_jwks, mint_member_token
from shared.errors import ApiError
from shared.openapi import errors
from shared.problems import invalid
from shared.runtime import Runtime, RuntimeDep
from shared.ui import service_url

router = APIRouter()
MAX_EXTRACT_BYTES = 1024 * 1024 * 1024  # a national extract of ~10 million lines; it streams


class Region(BaseModel):
    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    name: str = Field(min_length=1, max_length=200)
    population: int = Field(gt=0, le=10**10)


class Labels(BaseModel):
    """A value's name as people read it, per language (shown instead of the code)."""

    da: str | None = Field(None, min_length=1, max_length=100)
    en: str | None = Field(None, min_length=1, max_length=100)


class Quota(BaseModel):
    value: str = Field(min_length=1, max_length=100)
    min: int = Field(ge=0, le=1_000_000)
    max: int = Field(ge=0, le=1_000_000)
    labels: Labels | None = Field(None, description="Names in Danish and English, for values the catalogue does not know")


class Stratum(BaseModel):
    category: str = Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")
    quotas: list[Quota] = Field(min_length=1)


class LetterDetails(BaseModel):
    """What the invitation letters say about the assembly (all optional; the invitations page warns
    about what is missing before letters go to print)."""

    commissioner: str | None = Field(None, min_length=1, max_length=200, description="Who asked for the assembly")
    remit: str | None = Field(None, min_length=1, max_length=2000, description="The assembly's task, in Danish")
    remit_en: str | None = Field(None, min_length=1, max_length=2000, description="The task in English")
    session_dates: list[date] = Field(default_factory=list, max_length=40)
    stipend_ore: int | None = Field(None, ge=0, le=10_000_000, description="Stipend per session day, in øre")
    reply_by: date | None = Field(None, description="The date to register by, as printed in the letters")


class AssemblyIn(LetterDetails):
    name: str = Field(min_length=1, max_length=200)
    panel_size: int = Field(ge=1, le=5000)
    regions: list[Region] = Field(min_length=1)
    strata: list[Stratum] = Field(min_length=1)


class AssemblyOut(AssemblyIn):
    id: uuid.UUID


class ImportOut(BaseModel):
    imported: int


class InvitationsIn(BaseModel):
    count: int = Field(gt=0, le=1_000_000)
    seed: int | None = Field(None, ge=0, lt=2**62, description="Fix for a reproducible sample; random if omitted")
    letters: Literal["json", "zip"] = Field(
        "json", description="json: the letters in the response; zip: the print house's PDF and merge CSV (and, for "
                            "the Digital Post channel, its batch file) as application/zip (docs/letters.md)")
    language: Literal["da", "en"] = "da"
    channel: Literal["print", "digital-post"] = "print"


class Letter(BaseModel):
    letter_id: uuid.UUID
    name: str
    address: str
    region: str
    code: str


class InvitationsOut(BaseModel):
    batch_id: uuid.UUID
    count: int
    per_region: dict[str, int]
    letters: list[Letter] = Field(description="For the mail merge; codes are not stored in clear and cannot be fetched again")


class RegistrationIn(BaseModel):
    code: str = Field(min_length=1, max_length=64)
    consent: bool
    consent_version: str | None = Field(None, max_length=40, description="The version of the consent text shown "
                                        "(domain/consent.py); the current one if omitted")
    language: Literal["da", "en"] = Field("da", description="The language the consent text was read in")
    answers: dict[str, str] = Field(default_factory=dict)
    contact: str | None = Field(None, max_length=200)


class RegistrationOut(BaseModel):
    status: str
    message: str
    reference: str | None = Field(None, description="The receipt's reference: the start of the registration's id")
    registered_at: datetime | None = None
    consent_version: str | None = None


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def limit_public(rt: Runtime, request: Request, code: str, *, per_code: int) -> str:
    """Rate limits of the flows whose credential is a code from a letter: per address, globally,
    per address for refused codes, and per code. Returns the client address."""
    s = rt.settings
    ip, window = client_ip(request), s.register_window_seconds
    await rt.limiter.hit("registration", "global", limit=s.register_limit_global, window=window)
    await rt.limiter.hit("registration", ip, limit=s.register_limit_per_ip, window=window)
    if await rt.limiter.peek("failed_code", ip) >= s.register_failures_per_ip:
        raise ApiError(429, f"too many unknown or used codes from this address; try again in {window} s",
                       headers={"Retry-After": str(window)})
    await rt.limiter.hit("code", code.upper().replace("-", "").replace(" ", ""), limit=per_code, window=window * 60)
    return ip


def letter_urls(request: Request, rt: Runtime) -> tuple[str, str]:
    """The registration and withdrawal pages' addresses as printed in letters: the console's
    public origin (settings), else the origin the request came through (the proxy's forwarded
    host), with recruitment's prefix behind the one origin."""
    origin = rt.settings.public_url.rstrip("/")
    if not origin:
        proto = request.headers.get("x-forwarded-proto", request.url.scheme)
        host = request.headers.get("x-forwarded-host", request.headers.get("host", request.url.netloc))
        origin = f"{proto}://{host}"
    return origin + service_url(request, "/register"), origin + service_url(request, "/withdraw")


async def letter_pack_response(request: Request, rt: Runtime, batch_id: uuid.UUID, assembly, letters: list[dict], *,
                         lang: str, channel: str, kind: str = "invitation", invited: int | None = None) -> Response:
    """A batch's letters as the ZIP for the print house (and Digital Post): named by the batch only."""
    register_url, withdraw_url = letter_urls(request, rt)
    details = {k: getattr(assembly, k) for k in ("name", "panel_size", "commissioner", "remit", "remit_en",
                                                  "session_dates", "stipend_ore", "reply_by")}
    recipients = {str(x["letter_id"]): x["person_ref"] for x in letters} if channel == "digital-post" else None
    body = await run_in_threadpool(  # Typst takes a while per thousand letters: not on the event loop
        printing.letter_pack, batch_id, details, letters, register_url=register_url, withdraw_url=withdraw_url,
        lang=lang, kind=kind, invited=invited, recipients=recipients)
    return Response(body, status_code=201, media_type="application/zip",
                    headers={"content-disposition": f'attachment; filename="letters-{batch_id}.zip"',
                             "cache-control": "no-store"})


async def count_refusal(rt: Runtime, ip: str) -> None:
    s = rt.settings
    await rt.limiter.hit("failed_code", ip, limit=s.register_failures_per_ip + 1_000_000, window=s.register_window_seconds)


async def _register(rt: Runtime, request: Request, body: RegistrationIn) -> dict:
    s = rt.settings
    ip = await limit_public(rt, request, body.code, per_code=s.register_attempts_per_code)
    try:
        async with rt.transaction() as tx:
            return await h.register(tx, code=body.code, consent=body.consent, answers=body.answers,
                                    contact=body.contact, secret=s.secret_key, consent_version=body.consent_version,
                                    lang=body.language)
    except CodeRefused:
        await count_refusal(rt, ip)
        raise


def receipt_reference(respondent_id: uuid.UUID) -> str:
    """The registration's reference on the receipt: the start of its pseudonymous id."""
    return str(respondent_id)[:8].upper()


@router.post("/assemblies", status_code=201, response_model=AssemblyOut, response_model_exclude_none=True,
             tags=["assemblies"])
async def create_assembly(body: AssemblyIn, rt: RuntimeDep,
        who: Principal = Depends(allow(OPERATOR))) -> AssemblyOut:
    data = body.model_dump(exclude_none=True)
    async with rt.transaction() as tx:
        assembly_id = await h.create_assembly(tx, **body.model_dump(exclude_none=True, mode="json"))
    return AssemblyOut(id=assembly_id, **data)


def assembly_out(a) -> AssemblyOut:
    return AssemblyOut(id=a.id, name=a.name, panel_size=a.panel_size, regions=a.regions, strata=a.strata,
                       **{k: getattr(a, k) for k in LetterDetails.model_fields})


@router.get("/assemblies/{assembly_id}", response_model=AssemblyOut, response_model_exclude_none=True, tags=["assemblies"])
async def get_assembly(assembly_id: uuid.UUID, rt: RuntimeDep,
        who: Principal = Depends(allow(ORGANISER, REGISTRAR, FACILITATOR, AUDITOR))) -> AssemblyOut:
    async with rt.transaction() as tx:
        a = await v.load_assembly(tx, assembly_id)
    return assembly_out(a)


@router.put("/assemblies/{assembly_id}/letter-details", response_model=AssemblyOut, response_model_exclude_none=True,
            tags=["assemblies"], summary="What the invitation letters say: commissioner, remit, dates, stipend, reply-by")
async def set_letter_details(assembly_id: uuid.UUID, body: LetterDetails, rt: RuntimeDep,
                             who: Principal = Depends(allow(ORGANISER))) -> AssemblyOut:
    async with rt.transaction() as tx:
        await h.set_letter_details(tx, assembly_id, body.model_dump(mode="json"))
        a = await v.load_assembly(tx, assembly_id)
    return assembly_out(a)


class ValueNames(BaseModel):
    category: str = Field(min_length=1, max_length=64)
    value: str = Field(min_length=1, max_length=100)
    labels: Labels = Field(description="The value's names; one left out (or empty) is removed")


class ValueNamesIn(BaseModel):
    names: list[ValueNames] = Field(min_length=1, max_length=1000)


@router.put("/assemblies/{assembly_id}/value-names", response_model=AssemblyOut, response_model_exclude_none=True,
            tags=["assemblies"], summary="Name the quota values in Danish and English (what people read; the quotas stay)")
async def name_values(assembly_id: uuid.UUID, body: ValueNamesIn, rt: RuntimeDep,
                      who: Principal = Depends(allow(ORGANISER))) -> AssemblyOut:
    async with rt.transaction() as tx:
        await h.name_values(tx, assembly_id, [n.model_dump(exclude_none=True) for n in body.names])
        a = await v.load_assembly(tx, assembly_id)
    return assembly_out(a)


@router.get("/assemblies/{assembly_id}/stats", tags=["assemblies"])
async def assembly_stats(assembly_id: uuid.UUID, rt: RuntimeDep,
        who: Principal = Depends(allow(ORGANISER, REGISTRAR, AUDITOR))) -> dict:
    async with rt.transaction() as tx:
        return await v.stats(tx, assembly_id)


async def spool_body(request: Request) -> tempfile.SpooledTemporaryFile:
    """The request's body as it streams in, in a file (memory up to 8 MiB, then disk), refused
    with 413 beyond MAX_EXTRACT_BYTES."""
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 2**20)
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_EXTRACT_BYTES:
            spool.close()
            raise ApiError(413, f"the extract is larger than {MAX_EXTRACT_BYTES // 2**20} MiB; split it into parts")
        spool.write(chunk)
    spool.seek(0)
    return spool


def extract_text(binary) -> io.TextIOWrapper:
    """A register extract's file as UTF-8 text (a byte-order mark is skipped), for the csv module."""
    return io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")


@router.post("/assemblies/{assembly_id}/register-extract", status_code=201, response_model=ImportOut, responses=errors(413, 415),
             tags=["invitations"],
             summary="Import a population-register extract (CSV: person_id,name,address,region[,age_band,gender]; streamed)")
async def import_register(assembly_id: uuid.UUID, request: Request, rt: RuntimeDep,
        who: Principal = Depends(allow(REGISTRAR))) -> ImportOut:
    if not request.headers.get("content-type", "").startswith("text/csv"):
        raise ApiError(415, "send the extract as a CSV body with Content-Type: text/csv")
    with await spool_body(request) as spool:
        try:
            async with rt.transaction() as tx:
                n = await h.import_register(tx, assembly_id, extract_text(spool))
        except UnicodeDecodeError as exc:
            raise invalid("the extract must be UTF-8 text") from exc
    return ImportOut(imported=n)


Rate = Annotated[float, Field(ge=0.001, le=1, allow_inf_nan=False)]
StratumValue = Annotated[str, Field(pattern=r"^[A-Za-z0-9_+-]{1,32}$")]


class ReplyRatesIn(BaseModel):
    """Expected reply rates as shares (0.025 for 2.5 %): overall, and per region, age band and
    gender where the assembly knows better; each stratum's oversampling factor is the overall
    rate over its own (docs/letters.md)."""

    expected: Rate
    region: dict[StratumValue, Rate] = Field(default_factory=dict, max_length=200)
    age_band: dict[StratumValue, Rate] = Field(default_factory=dict, max_length=200)
    gender: dict[StratumValue, Rate] = Field(default_factory=dict, max_length=200)


class SampleStratum(BaseModel):
    region: str
    age_band: str
    gender: str
    population: float = Field(description="The census population the stratum stands for (region's population x "
                                          "the stratum's share of the region in the extract)")
    available: int = Field(description="People of the extract not yet invited")
    reply_rate: float
    factor: float = Field(description="Oversampling factor: the overall expected rate over the stratum's")
    letters: int
    expected: float = Field(description="Expected registrations: letters x reply rate")


class SamplePlanOut(BaseModel):
    count: int
    rates: dict
    strata: list[SampleStratum]


@router.put("/assemblies/{assembly_id}/reply-rates", response_model=ReplyRatesIn, tags=["invitations"],
            responses=errors(422),
            summary="Expected reply rates per stratum: the invitation sample's oversampling factors")
async def set_reply_rates(assembly_id: uuid.UUID, body: ReplyRatesIn, rt: RuntimeDep,
                          who: Principal = Depends(allow(ORGANISER, REGISTRAR))) -> ReplyRatesIn:
    async with rt.transaction() as tx:
        stored = await h.set_reply_rates(tx, assembly_id, body.model_dump())
    return ReplyRatesIn(**{"region": {}, "age_band": {}, "gender": {}, **stored})


@router.get("/assemblies/{assembly_id}/invitation-plan", response_model=SamplePlanOut, tags=["invitations"],
            responses=errors(422),
            summary="The invitation sample's letters and expected pool per stratum for `count` letters (nothing is drawn)")
async def invitation_plan(assembly_id: uuid.UUID, rt: RuntimeDep, count: int = Query(ge=1, le=1_000_000),
                          who: Principal = Depends(allow(ORGANISER, REGISTRAR, AUDITOR))) -> SamplePlanOut:
    async with rt.transaction() as tx:
        strata, rates = await v.sample_plan(tx, assembly_id, count)
    return SamplePlanOut(count=sum(x.letters for x in strata), rates=rates.as_json(), strata=[
        SampleStratum(region=x.cell[0], age_band=x.cell[1], gender=x.cell[2], population=round(x.population, 1),
                      available=x.available, reply_rate=x.rate, factor=round(x.factor, 4), letters=x.letters,
                      expected=round(x.expected, 2)) for x in strata])


ZIP_RESPONSE = {201: {"content": {"application/zip": {}},
                      "description": "With letters=zip: the batch's letters-<batch>.pdf and merge-<batch>.csv (docs/letters.md)"}}


@router.post("/assemblies/{assembly_id}/invitation-batches", status_code=201, response_model=InvitationsOut,
             tags=["invitations"], responses=ZIP_RESPONSE,
             summary="Draw the invitation sample across regions and issue single-use codes (letters as JSON or PDF)")
async def send_invitations(assembly_id: uuid.UUID, body: InvitationsIn, request: Request, rt: RuntimeDep,
        who: Principal = Depends(allow(REGISTRAR))) -> InvitationsOut | Response:
    async with rt.transaction() as tx:
        batch_id, per_region, letters = await h.send_invitations(tx, assembly_id, body.count, body.seed)
        assembly = await v.load_assembly(tx, assembly_id) if body.letters == "zip" else None
    if assembly is not None:
        return await letter_pack_response(request, rt, batch_id, assembly, letters, lang=body.language,
                                    channel=body.channel)
    return InvitationsOut(batch_id=batch_id, count=len(letters), per_region=per_region, letters=letters)


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


# ---- panel members ---------------------------------------------------------------------------


class MemberLetter(BaseModel):
    member_id: uuid.UUID
    name: str
    address: str
    contact: str | None
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
    contact: str | None
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
