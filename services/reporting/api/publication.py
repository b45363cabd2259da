"""Publishing the handover report (a new immutable version: Danish and English, HTML and PDF,
hashed; the published documents are served by pages/publication.py)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Body, Depends, Request
from pydantic import BaseModel, Field

from services.reporting.api import report_links, today
from services.reporting.handlers import publication as h
from services.reporting.views.evaluation import report_summary
from shared.auth import ORGANISER, Principal, allow
from shared.runtime import RuntimeDep

router = APIRouter(tags=["reporting"])


async def publish_version(request: Request, rt, assembly_id: uuid.UUID, note: str) -> dict:
    async with rt.transaction() as tx:
        summary = await report_summary(tx, assembly_id, k=rt.settings.report_min_group,
                                       response_days=rt.settings.report_response_days, today=today())
        return await h.publish(tx, assembly_id, summary=summary, min_group=rt.settings.report_min_group,
                               links=report_links(request, assembly_id), note=note)


class PublishIn(BaseModel):
    note: str = Field("", max_length=2000, description="Why this version is published (a correction: what was wrong)")


@router.post("/assemblies/{assembly_id}/report/publish", status_code=201,
             summary="Publish a new version of the report (Danish and English, HTML and PDF)")
async def publish(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                  body: PublishIn = Body(default_factory=PublishIn),
                  who: Principal = Depends(allow(ORGANISER))) -> dict:
    """Freezes the report as it stands into version n+1 (never changed afterwards) and answers
    with its number, the version it corrects and each document's sha256."""
    return await publish_version(request, rt, assembly_id, body.note.strip())
