"""Recruitment's page of registrations per stratum against the quotas (chart and CSV)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.recruitment import views as v
from services.recruitment.domain.replies import count_features, stratum_report
from services.recruitment.pages import pages
from services.recruitment.views import registration as registration_reads
from shared.auth import AUDITOR, ORGANISER, REGISTRAR, Principal, allow
from shared.openapi import errors
from shared.runtime import Runtime, RuntimeDep
from shared.ui import N_, label

router = APIRouter(tags=["pages"])
REPLY_STATUS = {"short": N_("Too few to fill the quota"), "low": N_("Below the quota's share"), "ok": N_("On track")}


async def _replies(rt: Runtime, assembly_id: uuid.UUID) -> tuple:
    async with rt.transaction() as tx:
        assembly = await v.load_assembly(tx, assembly_id)
        features = await registration_reads.registered_features(tx, assembly_id)
        stats = await v.stats(tx, assembly_id)
    report = stratum_report(assembly.strata, assembly.panel_size, count_features(features), len(features))
    return assembly, report, stats


@router.get("/assemblies/{assembly_id}/replies", summary="Registrations per stratum against the quotas (HTML)",
            responses=errors(404))
async def replies_page(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                       who: Principal = Depends(allow(ORGANISER, REGISTRAR, AUDITOR, page=True))) -> Response:
    assembly, report, stats = await _replies(rt, assembly_id)
    return pages.render(request, "replies.html", {"assembly": assembly, "report": report, "stats": stats,
                                                  "status_names": REPLY_STATUS}, who=who)


@router.get("/assemblies/{assembly_id}/replies.csv", summary="Registrations per stratum against the quotas (CSV)",
            responses=errors(404))
async def replies_csv(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                      who: Principal = Depends(allow(ORGANISER, REGISTRAR, AUDITOR, page=True))) -> Response:
    assembly, report, _stats = await _replies(rt, assembly_id)
    _ = pages.gettext(request)
    header = [_("Category"), _("Value"), _("Code"), _("Registrations"), _("Share of registrations"),
              _("Quota minimum"), _("Quota maximum"), _("Status")]
    lang = pages.locale(request)
    body = [[label(_, c), label(_, c, r.value, assembly.regions, assembly.strata, lang), r.value, r.registrations, f"{r.share:.4f}",
             r.quota_min, r.quota_max, _(REPLY_STATUS[r.status])] for c, rs in report for r in rs]
    return pages.csv(request, f"registrations-{assembly_id}.csv", header, body)
