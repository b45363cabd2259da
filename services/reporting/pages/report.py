"""The handover report, live (staff), with the action that publishes it as a new version."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.reporting.api import report_links, today
from services.reporting.api.publication import publish_version
from services.reporting.pages import pages
from services.reporting.views.evaluation import report_summary
from services.reporting.views.publication import published_reports
from services.reporting.views.report import report_values
from shared.auth import AUDITOR, FACILITATOR, ORGANISER, Principal, allow
from shared.openapi import errors
from shared.runtime import RuntimeDep
from shared.ui import N_, service_url

router = APIRouter(tags=["pages"])

LANGUAGES_IN_TEXT = {"da": N_("Danish"), "en": N_("English")}  # as a word in a sentence


async def _report_page(request: Request, rt, who: Principal, assembly_id: uuid.UUID, *, errors_: list | None = None,
                       status: int = 200, note: str = "") -> Response:
    lang = pages.locale(request)
    async with rt.transaction() as tx:
        summary = await report_summary(tx, assembly_id, k=rt.settings.report_min_group,
                                       response_days=rt.settings.report_response_days, today=today())
        published = await published_reports(tx, assembly_id)
    errors_ = errors_ or []
    return pages.render(request, "report.html", {
        **report_values(summary, lang, min_group=rt.settings.report_min_group,
                        links=report_links(request, assembly_id)),
        "published": published, "errors": errors_, "note": note,
        "by_field": {e["field"]: e["message"] for e in errors_},
        "may_publish": bool(who.global_roles) or ORGANISER in who.roles_in(assembly_id),
        "just_published": request.query_params.get("published") == "1"},
        who=who, status=status)


@router.get("/assemblies/{assembly_id}/report", summary="The handover report, live (HTML)", responses=errors(404))
async def report(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                 who: Principal = Depends(allow(ORGANISER, FACILITATOR, AUDITOR, page=True))) -> Response:
    return await _report_page(request, rt, who, assembly_id)


@router.post("/assemblies/{assembly_id}/report", summary="Publish a new version of the report (HTML form)",
             responses=errors(404, 422))
async def publish_report(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                         who: Principal = Depends(allow(ORGANISER, page=True))) -> Response:
    """Freezes the report as a new version (Danish and English, HTML and PDF), hashes it and
    announces it (report-published), like POST .../report/publish; asks for a confirmation first."""
    form = await request.form()
    note = str(form.get("note") or "").strip()
    _ = pages.gettext(request)
    problems = []
    if form.get("confirm") != "true":
        problems.append({"field": "confirm", "message": _("Tick the box to confirm that you have checked the report")})
    if len(note) > 2000:
        problems.append({"field": "note", "message": _("Shorten the note to at most 2,000 characters")})
    if problems:
        return await _report_page(request, rt, who, assembly_id, status=422, errors_=problems, note=note)
    await publish_version(request, rt, assembly_id, note)
    return pages.redirect(request, service_url(request, f"/assemblies/{assembly_id}/report?published=1"))
