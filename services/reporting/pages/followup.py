"""The follow-up: what the authority did with each recommendation (public), and the form on which
the secretariat records the authority's responses."""

from __future__ import annotations

import uuid
from datetime import date

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.reporting.api import today
from services.reporting.domain.followup import check_response
from services.reporting.handlers import followup as h
from services.reporting.pages import pages
from services.reporting.views import followup as v
from shared.auth import ORGANISER, PUBLIC, Principal, allow
from shared.openapi import errors
from shared.problems import NotFound
from shared.runtime import RuntimeDep
from shared.ui import N_, service_url

router = APIRouter(tags=["pages"])


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
