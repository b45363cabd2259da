"""Reporting's pages: the console's home (the assemblies a person works on), the secretariat's
dashboard per assembly (where the process stands, what to do next, live figures from events), the
handover report (live, with the publish action) and the published report, the panel members'
portal home, and staff sign-in (shared/ui/signin.py)."""

from __future__ import annotations

import hashlib
import uuid
from datetime import date
from pathlib import Path
from typing import Literal

from fastapi import APIRouter, Depends, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, Response

from services.reporting import evaluation_views as ev
from services.reporting import views as v
from services.reporting import handlers as h
from services.reporting.api import publish_version, report_links, today
from services.reporting.document import report_values
from services.reporting.domain.evaluation import STAGE_NAMES
from services.reporting.domain.followup import check_response
from services.reporting.domain.progress import current_step, steps
from shared.auth import AUDITOR, FACILITATOR, MEMBER, ORGANISER, PUBLIC, REGISTRAR, Principal, allow
from shared.openapi import errors
from shared.problems import NotFound, not_found
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
    None: (N_("Record a response"), "reporting", "/assemblies/{aid}/followup/record"),
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
        live = await ev.live(tx, assembly_id)
    progress = steps(summary, published=is_published)
    current = current_step(progress)
    return pages.render(request, "dashboard.html", {
        "s": summary, "progress": progress, "step_names": STEP_NAMES, "next_step": NEXT_STEP[current],
        "next_link": None if current not in STEP_PAGES else (
            STEP_PAGES[current][0], service_url(request, STEP_PAGES[current][2].format(aid=assembly_id),
                                               STEP_PAGES[current][1])),
        "current": current, "assembly_id": assembly_id, "live": live}, who=who)


@router.get("/assemblies/{assembly_id}/portal", summary="A panel member's home (HTML)", responses=errors(404))
async def portal(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                 who: Principal = Depends(allow(MEMBER, page=True))) -> Response:
    async with rt.transaction() as tx:
        portal = await v.member_portal(tx, assembly_id, who.member_id)
        surveys = await ev.member_surveys(tx, assembly_id, who.member_id) if portal["role"] == "member" else []
    return pages.render(request, "portal.html", {"p": portal, "surveys": surveys, "stage_names": STAGE_NAMES},
                        who=who)


# ---- the handover report ------------------------------------------------------------------------

LANGUAGES_IN_TEXT = {"da": N_("Danish"), "en": N_("English")}  # as a word in a sentence


async def _report_page(request: Request, rt, who: Principal, assembly_id: uuid.UUID, *, errors_: list | None = None,
                       status: int = 200, note: str = "") -> Response:
    lang = pages.locale(request)
    async with rt.transaction() as tx:
        summary = await v.summary(tx, assembly_id)
        published = await v.published_reports(tx, assembly_id)
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


def _document(body: bytes, name: str, version: int, assembly_id: uuid.UUID, request: Request) -> Response:
    """A published document exactly as it was hashed: nothing of the session, cacheable for good
    (a version never changes); the newest version's address answers with the version it serves."""
    headers = {"x-report-version": str(version), "x-content-sha256": hashlib.sha256(body).hexdigest()}
    if name.endswith(".pdf"):
        headers["content-disposition"] = f'inline; filename="report-{assembly_id}-v{version}-{name}"'
        response = Response(body, media_type="application/pdf", headers=headers)
    else:
        headers["content-security-policy"] = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
        response = HTMLResponse(body, headers=headers)
    pages.finish(request, response)
    return response


@router.get("/assemblies/{assembly_id}/report/published", response_class=HTMLResponse, responses=errors(404),
            summary="The newest published report (public), in the page's language, exactly as it was hashed")
async def published_report(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                           who: Principal = Depends(allow(PUBLIC, page=True))) -> Response:
    return await _newest(rt, request, assembly_id, "html")


@router.get("/assemblies/{assembly_id}/report/published.pdf", responses=errors(404),
            summary="The newest published report as PDF (public), in the page's language")
async def published_report_pdf(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                               who: Principal = Depends(allow(PUBLIC, page=True))) -> Response:
    return await _newest(rt, request, assembly_id, "pdf")


async def _newest(rt, request: Request, assembly_id: uuid.UUID, kind: str) -> Response:
    name = f"{pages.locale(request)}.{kind}"
    async with rt.transaction() as tx:
        version, body = await v.published_document(tx, assembly_id, name)
    return _document(body, name, version, assembly_id, request)


@router.get("/assemblies/{assembly_id}/report/versions", summary="Every published version of the report (HTML, public)",
            responses=errors(404))
async def report_versions(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                          who: Principal = Depends(allow(PUBLIC, page=True))) -> Response:
    async with rt.transaction() as tx:
        name = (await v.assemblies(tx, {assembly_id}) or [{}])[0].get("name")
        versions = await v.published_reports(tx, assembly_id)
    if not versions:
        raise not_found("published report (none published yet)")
    return pages.render(request, "report_versions.html", {"name": name, "versions": versions,
                                                          "assembly_id": assembly_id}, who=who)


@router.get("/assemblies/{assembly_id}/report/versions/{version}/{document}", responses=errors(404),
            summary="One document of one published version (public, never changes): da.html, en.html, da.pdf, en.pdf")
async def report_version_document(assembly_id: uuid.UUID, document: Literal["da.html", "en.html", "da.pdf", "en.pdf"],
                                  rt: RuntimeDep, request: Request, version: int = PathParam(ge=1, le=1_000_000),
                                  who: Principal = Depends(allow(PUBLIC, page=True))) -> Response:
    async with rt.transaction() as tx:
        number, body = await v.published_document(tx, assembly_id, document, version)
    return _document(body, document, number, assembly_id, request)


# ---- follow-up: what the authority did with each recommendation ---------------------------------

RESPONSE_NAMES = {"accepted": N_("Accepted"), "partly": N_("Partly accepted"), "rejected": N_("Rejected"),
                  "under_consideration": N_("Under consideration")}
IMPLEMENTATION_NAMES = {"not_started": N_("Not started"), "in_progress": N_("In progress"),
                        "implemented": N_("Implemented"), "abandoned": N_("Abandoned")}
FIELD_MESSAGES = {
    "recommendation": N_("Choose the recommendation the answer is about"),
    "response": N_("Choose the authority's response"),
    "implementation": N_("Choose how far it is carried out, or leave it empty"),
    "reasoning": N_("Write the authority's reasoning (at most 5,000 characters)"),
    "responsible_body": N_("Name the body responsible: an office, not a person (at most 200 characters)"),
    "answered_on": N_("Enter the date of the answer as YYYY-MM-DD"),
    "deadline": N_("Enter the deadline as YYYY-MM-DD, not before the answer, or leave it empty"),
    "links": N_("Enter up to 10 web addresses starting with https://, one per line"),
}


def _names() -> dict:
    return {"response_names": RESPONSE_NAMES, "implementation_names": IMPLEMENTATION_NAMES}


@router.get("/assemblies/{assembly_id}/followup", summary="What the authority did with each recommendation (HTML, public)",
            responses=errors(404))
async def followup_page(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                        who: Principal = Depends(allow(PUBLIC, page=True))) -> Response:
    async with rt.transaction() as tx:
        f = await v.followup(tx, assembly_id, today())
    may_record = not who.anonymous and (bool(who.global_roles) or ORGANISER in who.roles_in(assembly_id))
    return pages.render(request, "followup.html", {"f": f, "may_record": may_record, "assembly_id": assembly_id,
                                                   **_names()}, who=who)


async def _record_page(request: Request, rt, who: Principal, assembly_id: uuid.UUID, *, form: dict | None = None,
                       errors_: list | None = None, status: int = 200) -> Response:
    async with rt.transaction() as tx:
        f = await v.followup(tx, assembly_id, today())
    errors_ = errors_ or []
    form = form or {"recommendation": request.query_params.get("rec", ""), "answered_on": today().isoformat()}
    return pages.render(request, "followup_record.html", {
        "f": f, "form": form, "errors": errors_, "by_field": {e["field"]: e["message"] for e in errors_},
        "assembly_id": assembly_id, **_names()}, who=who, status=status)


@router.get("/assemblies/{assembly_id}/followup/record", summary="Record the authority's response (HTML form)",
            responses=errors(404))
async def followup_record(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                          who: Principal = Depends(allow(ORGANISER, page=True))) -> Response:
    return await _record_page(request, rt, who, assembly_id)


def _date(text: str) -> date | None | bool:
    """None for empty, False for not a date."""
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return False


@router.post("/assemblies/{assembly_id}/followup/record", summary="Record the authority's response (HTML form)",
             responses=errors(404, 422))
async def followup_record_post(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                               who: Principal = Depends(allow(ORGANISER, page=True))) -> Response:
    form = {k: str(x) for k, x in (await request.form()).items() if k != "csrf_token"}
    _ = pages.gettext(request)
    ballot_id, _sep, question_id = form.get("recommendation", "").partition(":")
    try:
        ballot = uuid.UUID(ballot_id)
    except ValueError:
        ballot = None
    answered_on, deadline = _date(form.get("answered_on", "")), _date(form.get("deadline", ""))
    links = [x.strip() for x in form.get("links", "").splitlines() if x.strip()]
    fields = {"response": form.get("response", ""), "implementation": form.get("implementation") or None,
              "reasoning": form.get("reasoning", ""), "responsible_body": form.get("responsible_body", ""),
              "answered_on": answered_on or None, "deadline": deadline or None, "links": links}
    bad = {b["field"] for b in check_response(**fields)}
    if ballot is None or not question_id:
        bad.add("recommendation")
    if deadline is False:
        bad.add("deadline")
    if bad:
        problems = [{"field": k, "message": _(FIELD_MESSAGES[k])} for k in FIELD_MESSAGES if k in bad]
        return await _record_page(request, rt, who, assembly_id, form=form, errors_=problems, status=422)
    try:
        async with rt.transaction() as tx:
            await h.record_response(tx, assembly_id, ballot_id=ballot, question_id=question_id, **fields)
    except NotFound:
        return await _record_page(request, rt, who, assembly_id, form=form, status=422, errors_=[
            {"field": "recommendation", "message": _(FIELD_MESSAGES["recommendation"])}])
    return pages.redirect(request, service_url(request, f"/assemblies/{assembly_id}/followup?recorded=1"))
