"""Recruitment's API for the first letters: the register extract's import (streamed), the expected
reply rates and the invitation sample's plan, and invitation batches (letters as JSON or the print
house's ZIP, which the waves reuse)."""

from __future__ import annotations

import io
import os
import tempfile
import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from services.recruitment import printing
from services.recruitment import views as v
from services.recruitment.handlers import invitations as h
from services.recruitment.views import invitations as invitations_reads
from shared.auth import AUDITOR, ORGANISER, REGISTRAR, Principal, allow
from shared.errors import ApiError
from shared.openapi import errors
from shared.problems import invalid
from shared.runtime import Runtime, RuntimeDep
from shared.ui import service_url

router = APIRouter()
MAX_EXTRACT_BYTES = 1024 * 1024 * 1024  # a national extract of ~10 million lines; it streams


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
    fd, path = tempfile.mkstemp(prefix="letter-pack-", suffix=".zip")  # on disk: a national wave is hundreds of MB
    os.close(fd)
    try:
        await run_in_threadpool(  # Typst takes a while per thousand letters: not on the event loop
            printing.letter_pack, path, batch_id, details, letters, register_url=register_url,
            withdraw_url=withdraw_url, lang=lang, kind=kind, invited=invited, recipients=recipients)
    except BaseException:
        os.unlink(path)
        raise
    return FileResponse(path, status_code=201, media_type="application/zip", filename=f"letters-{batch_id}.zip",
                        headers={"cache-control": "no-store"}, background=BackgroundTask(os.unlink, path))


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
        strata, rates = await invitations_reads.sample_plan(tx, assembly_id, count)
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
