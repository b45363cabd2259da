"""Reporting's pages: the console's home (the assemblies a person works on), the secretariat's
dashboard per assembly (where the process stands, what to do next, live figures from events), the
handover report (live, with the publish action) and the published report, the panel members'
portal home, and staff sign-in (shared/ui/signin.py)."""

from __future__ import annotations

import uuid
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from services.reporting import handlers as h
from services.reporting import views as v
from services.reporting.api import render_report, report_values
from services.reporting.domain.progress import current_step, steps
from shared.auth import AUDITOR, FACILITATOR, MEMBER, ORGANISER, PUBLIC, REGISTRAR, Principal, allow
from shared.openapi import errors
from shared.runtime import RuntimeDep
from shared.ui import N_, Pages, service_url
from shared.ui.signin import signin_router

pages = Pages("reporting", Path(__file__).parent / "templates")
router = APIRouter(tags=["pages"])
router.include_router(signin_router(pages))

STEP_NAMES = {"recruitment": N_("Recruitment"), "pool": N_("Pool"), "draw": N_("Draw"),
              "sessions": N_("Sessions"), "voting": N_("Voting"), "report": N_("Report")}
NEXT_STEP = {
    "recruitment": N_("Import the register extract and send the invitation letters."),
    "pool": N_("Watch the registrations against the quotas, send reminders where replies are few, then freeze the pool."),
    "draw": N_("Collect the seed commitments, reveal the seeds and run the draw in public."),
    "sessions": N_("Send the selection letters, schedule the sessions and record attendance."),
    "voting": N_("Open the final ballot for the recommendations, then close it to count."),
    "report": N_("Check the report and publish it."),
    None: N_("The report is published. Record the authority's responses as they come."),
}
# Where each step is done: (the link's text, the owning service, the page's path)
STEP_PAGES = {
    "recruitment": (N_("Go to recruitment"), "recruitment", "/assemblies/{aid}/recruitment"),
    "pool": (N_("Go to recruitment"), "recruitment", "/assemblies/{aid}/recruitment"),
    "draw": (N_("Go to the draw"), "sortition", "/assemblies/{aid}/draw"),
    "sessions": (N_("Go to the sessions"), "sessions", "/assemblies/{aid}/calendar"),
    "voting": (N_("Go to the ballots"), "voting", "/assemblies/{aid}/voting"),
    "report": (N_("Go to the report"), "reporting", "/assemblies/{aid}/report"),
}


@router.get("/", summary="The console's home (HTML)")
async def home(rt: RuntimeDep, request: Request, who: Principal = Depends(allow(PUBLIC, page=True))) -> Response:
    if who.member_id is not None:
        aid = next(iter(who.assemblies))
        return pages.redirect(request, service_url(request, f"/assemblies/{aid}/portal"))
    assemblies = []
    if not who.anonymous:
        async with rt.transaction() as tx:
            assemblies = await v.assemblies(tx, None if who.global_roles else who.assemblies)
    return pages.render(request, "home.html", {"assemblies": assemblies}, who=who)


@router.get("/assemblies/{assembly_id}/dashboard", summary="The secretariat's dashboard (HTML)", responses=errors(404))
async def dashboard(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                    who: Principal = Depends(allow(ORGANISER, REGISTRAR, FACILITATOR, AUDITOR, page=True))) -> Response:
    async with rt.transaction() as tx:
        summary = await v.summary(tx, assembly_id)
        is_published = await v.published(tx, assembly_id)
    progress = steps(summary, published=is_published)
    current = current_step(progress)
    return pages.render(request, "dashboard.html", {
        "s": summary, "progress": progress, "step_names": STEP_NAMES, "next_step": NEXT_STEP[current],
        "next_link": None if current not in STEP_PAGES else (
            STEP_PAGES[current][0], service_url(request, STEP_PAGES[current][2].format(aid=assembly_id),
                                               STEP_PAGES[current][1])),
        "current": current, "assembly_id": assembly_id}, who=who)


@router.get("/assemblies/{assembly_id}/portal", summary="A panel member's home (HTML)", responses=errors(404))
async def portal(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                 who: Principal = Depends(allow(MEMBER, page=True))) -> Response:
    async with rt.transaction() as tx:
        portal = await v.member_portal(tx, assembly_id, who.member_id)
    return pages.render(request, "portal.html", {"p": portal}, who=who)


# ---- the handover report ------------------------------------------------------------------------

LANGUAGES_IN_TEXT = {"da": N_("Danish"), "en": N_("English")}  # as a word in a sentence


async def _report_page(request: Request, rt, who: Principal, assembly_id: uuid.UUID, *, errors_: list | None = None,
                       status: int = 200) -> Response:
    lang, _ = pages.locale(request), pages.gettext(request)
    async with rt.transaction() as tx:
        summary = await v.summary(tx, assembly_id)
        published = await v.published_reports(tx, assembly_id)
    errors_ = errors_ or []
    return pages.render(request, "report.html", {
        **report_values(summary, lang), "published": published, "errors": errors_,
        "by_field": {e["field"]: e["message"] for e in errors_},
        "may_publish": bool(who.global_roles) or ORGANISER in who.roles_in(assembly_id),
        "language_name": _(LANGUAGES_IN_TEXT[lang]), "just_published": request.query_params.get("published") == "1"},
        who=who, status=status)


@router.get("/assemblies/{assembly_id}/report", summary="The handover report, live (HTML)", responses=errors(404))
async def report(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                 who: Principal = Depends(allow(ORGANISER, FACILITATOR, AUDITOR, page=True))) -> Response:
    return await _report_page(request, rt, who, assembly_id)


@router.post("/assemblies/{assembly_id}/report", summary="Publish the handover report (HTML form)",
             responses=errors(404, 422))
async def publish_report(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                         who: Principal = Depends(allow(ORGANISER, page=True))) -> Response:
    """Freezes the report in the page's language as one self-contained document, hashes it and
    announces it (report-published), like POST .../report/publish; asks for a confirmation first."""
    form = await request.form()
    if form.get("confirm") != "true":
        _ = pages.gettext(request)
        return await _report_page(request, rt, who, assembly_id, status=422, errors_=[
            {"field": "confirm", "message": _("Tick the box to confirm that you have checked the report")}])
    async with rt.transaction() as tx:
        html = render_report(await v.summary(tx, assembly_id), pages.locale(request))
        await h.publish(tx, assembly_id, html)
    return pages.redirect(request, service_url(request, f"/assemblies/{assembly_id}/report?published=1"))


@router.get("/assemblies/{assembly_id}/report/published", response_class=HTMLResponse, responses=errors(404),
            summary="The published report (public): the document exactly as it was frozen and hashed")
async def published_report(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                           who: Principal = Depends(allow(PUBLIC, page=True))) -> Response:
    async with rt.transaction() as tx:
        html = await v.published_report(tx, assembly_id)
    response = HTMLResponse(html, headers={"content-security-policy": "default-src 'none'; style-src 'unsafe-inline'"})
    pages.finish(request, response)
    return response
