"""Reporting's HTTP API: the summary (JSON) and what the report prints of the other services'
public addresses. Publishing, the authority's responses, the evaluation and the live figures have
their routes in the modules beside this one; the pages are in pages/."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timezone

from fastapi import APIRouter, Depends, Request

from services.reporting import views as v
from shared.auth import AUDITOR, FACILITATOR, ORGANISER, Principal, allow
from shared.runtime import RuntimeDep
from shared.ui.pages import SERVICE_PREFIXES
from shared.ui.signin import public_base

router = APIRouter(tags=["reporting"])


def report_links(request: Request, assembly_id: uuid.UUID) -> dict:
    """Absolute public addresses the printed report names (for the verify commands)."""
    base = public_base(request)
    return {"draw": f"{base}{SERVICE_PREFIXES['sortition']}/assemblies/{assembly_id}/draw",
            "board": f"{base}{SERVICE_PREFIXES['voting']}/assemblies/{assembly_id}/voting/board/export.json",
            "versions": f"{base}{SERVICE_PREFIXES['reporting']}/assemblies/{assembly_id}/report/versions",
            "followup": f"{base}{SERVICE_PREFIXES['reporting']}/assemblies/{assembly_id}/followup",
            # each service's audit trail export (auditor or organiser of the assembly; shared/runtime.py)
            "audit": {svc: f"{base}{prefix}/assemblies/{assembly_id}/audit" for svc, prefix in SERVICE_PREFIXES.items()}}


@router.get("/assemblies/{assembly_id}/summary", summary="Figures counted from events")
async def summary(assembly_id: uuid.UUID, rt: RuntimeDep,
                  who: Principal = Depends(allow(ORGANISER, FACILITATOR, AUDITOR))) -> dict:
    async with rt.transaction() as tx:
        return await v.summary(tx, assembly_id)


def today() -> date:
    return datetime.now(timezone.utc).date()
