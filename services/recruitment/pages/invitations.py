"""Recruitment's staff pages for the first letters: the register import (file upload, validation
report) and invitation batches with the sample's plan. Files with personal data leave only as
the answer to the registrar's POST: the codes in them exist in clear nowhere else."""

from __future__ import annotations

import secrets
import uuid

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.recruitment.api.invitations import MAX_EXTRACT_BYTES, extract_text, letter_pack_response
from services.recruitment.domain.letter_details import missing_details
from services.recruitment.domain.sample import margins
from services.recruitment.handlers import invitations as h
from services.recruitment.pages import DIMENSION_NAMES, _form, _overview, forget_once, pages, use_once
from services.recruitment.printing import LANGUAGES
from services.recruitment.views import invitations as v
from shared.auth import AUDITOR, ORGANISER, REGISTRAR, Principal, allow
from shared.openapi import errors
from shared.problems import Conflict, InvalidInput
from shared.runtime import Runtime, RuntimeDep
from shared.ui import N_, NP_

router = APIRouter(tags=["pages"])
REGISTER_PROBLEMS = {
    "missing_columns": N_("The file lacks the columns: %(value)s. The first line must be: person_id,name,address,region"),
    "empty_field": N_("Line %(line)s: a field is empty; every row needs person_id, name, address and region"),
    "unknown_region": N_("Line %(line)s: the region %(value)s is not one of the assembly's regions (%(regions)s)"),
    "bad_value": N_("Line %(line)s: the %(value)s column takes a code of letters, digits, +, - or _ (at most 32 characters), for example 18-29 or female"),
    "duplicate_person": N_("Line %(line)s: the same person_id appears twice in the file"),
    "no_rows": N_("The file has no people in it"),
    "not_utf8": N_("The file is not UTF-8 text. Save it as CSV UTF-8 and try again"),
    "no_file": N_("Choose the register extract file (CSV)"),
    "too_large": N_("The file is larger than %(mib)s MiB; split it into parts"),
    "already_imported": N_("Some people in this file were already imported for this assembly. Nothing was imported"),
}


def _import_page(request: Request, who: Principal, data: dict, *, problems=(), imported: int | None = None,
                 status: int = 200) -> Response:
    _ = pages.gettext(request)
    regions = ", ".join(r["code"] for r in data["assembly"].regions)
    report = [_(REGISTER_PROBLEMS[p["kind"]], line=p.get("line"), value=p.get("value", ""), regions=regions,
                mib=MAX_EXTRACT_BYTES // 2**20) for p in problems]
    return pages.render(request, "register_import.html", {**data, "report": report, "imported_now": imported},
                        who=who, status=status)


@router.get("/assemblies/{assembly_id}/register-import", summary="Import the register extract: the form (HTML)",
            responses=errors(404))
async def register_import_page(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                               who: Principal = Depends(allow(REGISTRAR, page=True))) -> Response:
    return _import_page(request, who, await _overview(rt, assembly_id))


@router.post("/assemblies/{assembly_id}/register-import", summary="Import the register extract (HTML form, file upload)",
             status_code=201, responses=errors(404, 409, 413, 422))
async def register_import(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                          who: Principal = Depends(allow(REGISTRAR, page=True))) -> Response:
    data = await _overview(rt, assembly_id)
    upload = (await request.form()).get("extract")
    if upload is None or isinstance(upload, str) or not upload.filename:
        return _import_page(request, who, data, problems=[{"kind": "no_file"}], status=422)
    upload.file.seek(0, 2)
    if upload.file.tell() > MAX_EXTRACT_BYTES:  # the upload streamed to a temporary file: its size, not its text
        return _import_page(request, who, data, problems=[{"kind": "too_large"}], status=413)
    upload.file.seek(0)
    try:
        async with rt.transaction() as tx:
            n = await h.import_register(tx, assembly_id, extract_text(upload.file))
    except UnicodeDecodeError:
        return _import_page(request, who, data, problems=[{"kind": "not_utf8"}], status=422)
    except InvalidInput as exc:
        return _import_page(request, who, data, problems=[d for d in exc.details if "kind" in d], status=422)
    except Conflict:
        return _import_page(request, who, data, problems=[{"kind": "already_imported"}], status=409)
    return _import_page(request, who, await _overview(rt, assembly_id), imported=n, status=201)


LETTER_DETAIL_NAMES = {"commissioner": N_("the commissioner"), "remit": N_("the remit"),
                       "session_dates": N_("the session dates"), "stipend_ore": N_("the stipend"),
                       "reply_by": N_("the date to reply by")}
INVITE_PROBLEMS = {
    "once": N_("This form was already used to send a batch. Reload the page to send another"),
    "count": N_("Enter the number of letters as a whole number above 0"),
    "too_many": NP_("Only %(n)s person in the register extract is not yet invited; send at most one",
                    "Only %(n)s people in the register extract are not yet invited; send at most that many"),
    "confirm": N_("Tick the box to confirm that the letters go to print"),
}


async def _sample_preview(rt: Runtime, assembly_id: uuid.UUID, data: dict, asked: str | None) -> dict:
    """The invitation sample's plan per stratum for the letters asked (`?plan=N`; else up to 10,000
    of those not yet invited): letters, expected reply rate and expected pool per value."""
    left = data["imported"] - data["invited"]
    count = int(asked) if asked and asked.isdigit() and 0 < len(asked) < 8 else min(left, 10_000)
    count = min(count, left)
    if count <= 0:
        return {"plan_count": 0, "plan": {}}
    async with rt.transaction() as tx:
        strata, rates = await v.sample_plan(tx, assembly_id, count, assembly=data["assembly"])
    population = sum(s.population for s in strata) or 1
    return {"plan_count": count, "plan": margins(strata), "plan_population": population,
            "plan_expected": sum(s.expected for s in strata), "plan_rates": rates}


def _invitations_page(request: Request, who: Principal, data: dict, assembly_id: uuid.UUID, *,
                      form: dict | None = None, problem: tuple[str, str, dict] | None = None,
                      status: int = 200) -> Response:
    _, n_ = pages.gettext(request), pages.ngettext(request)
    by_field = {}
    if problem:
        text = INVITE_PROBLEMS[problem[1]]
        by_field[problem[0]] = n_(*text, problem[2]["n"], **problem[2]) if isinstance(text, tuple) else _(text, **problem[2])
    missing = missing_details(data["assembly"]._mapping)
    return pages.render(request, "invitations.html", {
        **data, "form": form or {}, "by_field": by_field, "errors": [{"field": f, "message": m} for f, m in by_field.items()],
        "missing": [_(LETTER_DETAIL_NAMES[f]) for f in missing], "dimension_names": DIMENSION_NAMES,
        "can_send": REGISTRAR in who.roles_in(assembly_id), "once": secrets.token_urlsafe(16)}, who=who, status=status)


@router.get("/assemblies/{assembly_id}/invitations", summary="Invitation batches (HTML)", responses=errors(404))
async def invitations_page(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                           who: Principal = Depends(allow(REGISTRAR, ORGANISER, AUDITOR, page=True))) -> Response:
    data = await _overview(rt, assembly_id)
    data.update(await _sample_preview(rt, assembly_id, data, request.query_params.get("plan")))
    return _invitations_page(request, who, data, assembly_id)


@router.post("/assemblies/{assembly_id}/invitations",
             summary="Send an invitation batch: the letters for the print house as CSV (HTML form)",
             responses=errors(404, 422))
async def invitations_send(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                           who: Principal = Depends(allow(REGISTRAR, page=True))) -> Response:
    form = _form(await request.form())
    data = await _overview(rt, assembly_id)
    raw = form.get("count", "").strip()
    count = int(raw) if raw.isdigit() and 0 < len(raw) < 8 else 0
    left = data["imported"] - data["invited"]
    problem = None
    if count <= 0:
        problem = ("count", "count", {})
    elif count > left:
        problem = ("count", "too_many", {"n": left})
    elif form.get("confirm") != "true":
        problem = ("confirm", "confirm", {})
    lang = form.get("language") if form.get("language") in LANGUAGES else "da"
    channel = "digital-post" if form.get("channel") == "digital-post" else "print"
    if problem:
        data.update(await _sample_preview(rt, assembly_id, data, str(count) if count > 0 else None))
        return _invitations_page(request, who, data, assembly_id, form=form, problem=problem, status=422)
    if not await use_once(rt, form.get("once", "")):
        data.update(await _sample_preview(rt, assembly_id, data, None))
        return _invitations_page(request, who, data, assembly_id, problem=("count", "once", {}), status=409)
    try:
        async with rt.transaction() as tx:
            batch_id, _per_region, letters = await h.send_invitations(tx, assembly_id, count, None)
    except Exception:
        await forget_once(rt, form.get("once", ""))  # nothing was sent
        raise
    response = await letter_pack_response(request, rt, batch_id, data["assembly"], letters, lang=lang, channel=channel)
    pages.finish(request, response)
    return response
