"""Reporting's HTTP API: the summary (JSON), the handover report (HTML), publishing it."""

from __future__ import annotations

import uuid
from pathlib import Path

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from services.reporting import handlers as h
from services.reporting import views as v
from shared.auth import AUDITOR, FACILITATOR, ORGANISER, Principal, allow
from shared.runtime import RuntimeDep

router = APIRouter(tags=["reporting"])
_env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=select_autoescape())


def render_report(summary: dict) -> str:
    return _env.get_template("report.html").render(s=summary)


@router.get("/assemblies/{assembly_id}/summary", summary="Figures counted from events")
async def summary(assembly_id: uuid.UUID, rt: RuntimeDep,
                  who: Principal = Depends(allow(ORGANISER, FACILITATOR, AUDITOR))) -> dict:
    async with rt.transaction() as tx:
        return await v.summary(tx, assembly_id)


@router.get("/assemblies/{assembly_id}/report", response_class=HTMLResponse, summary="The handover report (live)")
async def report(assembly_id: uuid.UUID, rt: RuntimeDep,
                  who: Principal = Depends(allow(ORGANISER, FACILITATOR, AUDITOR))) -> HTMLResponse:
    async with rt.transaction() as tx:
        return HTMLResponse(render_report(await v.summary(tx, assembly_id)))


@router.post("/assemblies/{assembly_id}/report/publish", status_code=201, summary="Freeze and publish the report")
async def publish(assembly_id: uuid.UUID, rt: RuntimeDep,
                  who: Principal = Depends(allow(ORGANISER))) -> dict:
    async with rt.transaction() as tx:
        html = render_report(await v.summary(tx, assembly_id))
        return await h.publish(tx, assembly_id, html)
