"""Reporting's HTTP API: the summary (JSON) and publishing the handover report (a new immutable
version: Danish and English, HTML and PDF, hashed; the report's pages are in pages.py)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timezone
from typing import Literal

from fastapi import APIRouter, Body, Depends, Request
from pydantic import BaseModel, Field

from services.reporting import handlers as h
from services.reporting import views as v
from shared.auth import AUDITOR, FACILITATOR, ORGANISER, Principal, allow
from shared.runtime import RuntimeDep
from shared.ui.pages import SERVICE_PREFIXES
from shared.ui.signin import public_base

router = APIRouter(tags=["reporting"])


def report_links(request: Request, assembly_id: uuid.UUID) -> dict[str, str]:
    """Absolute public addresses the printed report names (for the verify commands)."""
    base = public_base(request)
    return {"draw": f"{base}{SERVICE_PREFIXES['sortition']}/assemblies/{assembly_id}/draw",
            "board": f"{base}{SERVICE_PREFIXES['voting']}/assemblies/{assembly_id}/voting/board/export.json",
            "versions": f"{base}{SERVICE_PREFIXES['reporting']}/assemblies/{assembly_id}/report/versions",
            "followup": f"{base}{SERVICE_PREFIXES['reporting']}/assemblies/{assembly_id}/followup"}


async def publish_version(request: Request, rt, assembly_id: uuid.UUID, note: str) -> dict:
    async with rt.transaction() as tx:
        return await h.publish(tx, assembly_id, summary=await v.summary(tx, assembly_id),
                               min_group=rt.settings.report_min_group, links=report_links(request, assembly_id),
                               note=note)


class PublishIn(BaseModel):
    note: str = Field("", max_length=2000, description="Why this version is published (a correction: what was wrong)")


@router.get("/assemblies/{assembly_id}/summary", summary="Figures counted from events")
async def summary(assembly_id: uuid.UUID, rt: RuntimeDep,
                  who: Principal = Depends(allow(ORGANISER, FACILITATOR, AUDITOR))) -> dict:
    async with rt.transaction() as tx:
        return await v.summary(tx, assembly_id)


@router.post("/assemblies/{assembly_id}/report/publish", status_code=201,
             summary="Publish a new version of the report (Danish and English, HTML and PDF)")
async def publish(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                  body: PublishIn = Body(default_factory=PublishIn),
                  who: Principal = Depends(allow(ORGANISER))) -> dict:
    """Freezes the report as it stands into version n+1 (never changed afterwards) and answers
    with its number, the version it corrects and each document's sha256."""
    return await publish_version(request, rt, assembly_id, body.note.strip())


class ResponseIn(BaseModel):
    ballot_id: uuid.UUID = Field(description="The ballot the recommendation was adopted on")
    question_id: str = Field(max_length=100, description="The recommendation's question on that ballot, e.g. q3")
    response: Literal["accepted", "partly", "rejected", "under_consideration"]
    implementation: Literal["not_started", "in_progress", "implemented", "abandoned"] | None = None
    reasoning: str = Field(max_length=5000)
    responsible_body: str = Field(max_length=200, description="An office, not a person")
    answered_on: date
    deadline: date | None = None
    links: list[str] = Field([], max_length=10)


@router.post("/assemblies/{assembly_id}/responses", status_code=201,
             summary="Record the authority's response to an adopted recommendation (or an update on it)")
async def record_response(assembly_id: uuid.UUID, body: ResponseIn, rt: RuntimeDep,
                          who: Principal = Depends(allow(ORGANISER))) -> dict:
    """Kept beside the earlier entries of the recommendation (its history), shown on the public
    follow-up page, announced (recommendation-response-recorded) and audited."""
    async with rt.transaction() as tx:
        return await h.record_response(tx, assembly_id, **body.model_dump())


def today() -> date:
    return datetime.now(timezone.utc).date()
