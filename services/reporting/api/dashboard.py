"""The secretariat's live figures as JSON (the dashboard page shows them; pages/dashboard.py)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends

from services.reporting.views import dashboard as dv
from shared.auth import AUDITOR, FACILITATOR, ORGANISER, REGISTRAR, Principal, allow
from shared.openapi import errors
from shared.runtime import RuntimeDep

router = APIRouter(tags=["evaluation"])


@router.get("/assemblies/{assembly_id}/live", summary="The secretariat's live figures (JSON; no results while open)",
            responses=errors(404))
async def live(assembly_id: uuid.UUID, rt: RuntimeDep,
               who: Principal = Depends(allow(ORGANISER, REGISTRAR, FACILITATOR, AUDITOR))) -> dict:
    async with rt.transaction() as tx:
        return await dv.live(tx, assembly_id)
