"""Recruitment's staff pages for assemblies: all of them and creating one (operator), an assembly's
recruitment overview, and the quota values' names in Danish and English.

Each is a page with the same policy as the API route it stands beside; writes go through the
same handlers as the API, reads through the views."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.recruitment import views as v
from services.recruitment.domain.assembly_form import MAX_QUOTA_ROWS, MAX_REGION_ROWS, read_assembly_form
from services.recruitment.domain.assembly_form import rows as form_rows
from services.recruitment.domain.letter_details import read_letter_form
from services.recruitment.handlers import assemblies as h
from services.recruitment.pages import LETTER_PROBLEMS, _form, _overview, pages
from shared.auth import AUDITOR, FACILITATOR, OPERATOR, ORGANISER, REGISTRAR, Principal, allow
from shared.openapi import errors
from shared.runtime import RuntimeDep
from shared.ui import N_, label, service_url

router = APIRouter(tags=["pages"])


ASSEMBLY_PROBLEMS = {
    "name_missing": N_("Enter the assembly's name"),
    "name_too_long": N_("The name can have at most 200 characters"),
    "panel_size": N_("Enter the panel size as a whole number from 1 to 5000"),
    "region_code": N_("Region %(row)s: the code may use letters, digits, - and _ (at most 32)"),
    "region_name": N_("Region %(row)s: enter the region's name"),
    "region_population": N_("Region %(row)s: enter the population as a whole number above 0"),
    "no_regions": N_("Enter at least one region"),
    "quota_category": N_("Quota %(row)s: choose a category"),
    "quota_value": N_("Quota %(row)s: enter the value's code"),
    "quota_min": N_("Quota %(row)s: enter the minimum as a whole number, 0 or more"),
    "quota_max": N_("Quota %(row)s: enter the maximum as a whole number, 0 or more"),
    "quota_name": N_("Quota %(row)s: a name can have at most 100 characters"),
    "no_quotas": N_("Enter at least one quota"),
    "duplicate_region": N_("Two regions have the same code"),
    "duplicate_category": N_("The category %(category)s appears twice"),
    "duplicate_value": N_("%(category)s: a value is listed twice"),
    "min_above_max": N_("%(category)s, %(value)s: the minimum %(min)s is above the maximum %(max)s"),
    "minimums_too_high": N_("%(category)s: the minimums add up to %(sum)s, more than the panel size %(panel_size)s"),
    "maximums_too_low": N_("%(category)s: the maximums add up to %(sum)s, less than the panel size %(panel_size)s"),
    "region_values": N_("The quotas per region must list exactly the regions' codes"),
}


QUOTA_CATEGORIES = ("gender", "age", "education", "region", "employment", "origin", "housing", "urbanity", "income")


@router.get("/console/assemblies", summary="All assemblies, for the operator (HTML)")
async def assemblies_page(rt: RuntimeDep, request: Request, created: uuid.UUID | None = None,
                          who: Principal = Depends(allow(OPERATOR, page=True))) -> Response:
    async with rt.transaction() as tx:
        rows = await v.all_assemblies(tx)
    new = next((a for a in rows if a["id"] == created), None)
    return pages.render(request, "assemblies.html", {"assemblies": rows, "created": new}, who=who)


def _assembly_form(request: Request, who: Principal, form: dict, *, region_rows: int, quota_rows: int,
                   problems=(), letter_problems=(), status: int = 200) -> Response:
    _ = pages.gettext(request)
    by_field: dict[str, str] = {}
    errors_: list[dict] = []
    for field, kind, values in letter_problems:
        message = _(LETTER_PROBLEMS[kind], **values)
        by_field.setdefault(field, message)
        errors_.append({"field": field, "message": message})
    for field, kind, values in problems:
        shown = dict(values)
        if "category" in values:
            shown["category"] = label(_, values["category"])
            if "value" in values:
                shown["value"] = label(_, values["category"], values["value"])
        message = _(ASSEMBLY_PROBLEMS[kind], **shown)
        by_field.setdefault(field, message)
        errors_.append({"field": field, "message": message})
    categories = [(c, label(_, c)) for c in QUOTA_CATEGORIES]
    return pages.render(request, "assembly_form.html", {
        "form": form, "region_rows": region_rows, "quota_rows": quota_rows, "errors": errors_, "by_field": by_field,
        "categories": categories}, who=who, status=status)


@router.get("/console/assemblies/new", summary="Create an assembly: the form (HTML)")
async def new_assembly_page(request: Request, who: Principal = Depends(allow(OPERATOR, page=True))) -> Response:
    return _assembly_form(request, who, {}, region_rows=5, quota_rows=8)


@router.post("/console/assemblies/new", summary="Create an assembly (HTML form)", responses=errors(422))
async def new_assembly(rt: RuntimeDep, request: Request, who: Principal = Depends(allow(OPERATOR, page=True))) -> Response:
    form = _form(await request.form())
    n_regions = form_rows(form, "region_rows", MAX_REGION_ROWS, 1)
    n_quotas = form_rows(form, "quota_rows", MAX_QUOTA_ROWS, 1)
    action = form.get("action", "save")
    if action in ("more_regions", "more_quotas"):  # "add rows", without a script
        return _assembly_form(request, who, form, region_rows=min(n_regions + 3 * (action == "more_regions"), MAX_REGION_ROWS),
                              quota_rows=min(n_quotas + 4 * (action == "more_quotas"), MAX_QUOTA_ROWS))
    read = read_assembly_form(form, n_regions, n_quotas)
    details, letter_issues = read_letter_form(form)
    if read.problems or letter_issues:
        return _assembly_form(request, who, form, region_rows=n_regions, quota_rows=n_quotas, problems=read.problems,
                              letter_problems=letter_issues, status=422)
    async with rt.transaction() as tx:
        assembly_id = await h.create_assembly(tx, **read.body, **details)
    return pages.redirect(request, service_url(request, f"/console/assemblies?created={assembly_id}"))


@router.get("/assemblies/{assembly_id}/recruitment", summary="An assembly's recruitment: set-up and progress (HTML)",
            responses=errors(404))
async def recruitment_page(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                           who: Principal = Depends(allow(ORGANISER, REGISTRAR, FACILITATOR, AUDITOR, page=True))) -> Response:
    data = await _overview(rt, assembly_id)
    roles = who.roles_in(assembly_id)
    return pages.render(request, "recruitment.html", {**data, "roles": roles}, who=who)


# ---- the names of the quota values, per language (what citizens and staff read) ---------------


def _flat_quotas(assembly) -> list[tuple[str, dict]]:
    return [(s["category"], q) for s in assembly.strata for q in s["quotas"]]


def _names_page(request: Request, who: Principal, assembly, *, form: dict | None = None, errors_: list | None = None,
                saved: bool = False, status: int = 200) -> Response:
    rows_ = [{"i": i, "category": c, "value": q["value"], "da": (q.get("labels") or {}).get("da", ""),
              "en": (q.get("labels") or {}).get("en", "")} for i, (c, q) in enumerate(_flat_quotas(assembly))]
    if form is not None:
        for r in rows_:
            r["da"], r["en"] = form.get(f"name_da_{r['i']}", ""), form.get(f"name_en_{r['i']}", "")
    return pages.render(request, "value_names.html", {"assembly": assembly, "rows": rows_, "errors": errors_ or [],
                                                      "saved": saved}, who=who, status=status)


@router.get("/assemblies/{assembly_id}/names", summary="Name the quota values in Danish and English: the form (HTML)",
            responses=errors(404))
async def names_page(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                     who: Principal = Depends(allow(ORGANISER, page=True))) -> Response:
    async with rt.transaction() as tx:
        assembly = await v.load_assembly(tx, assembly_id)
    return _names_page(request, who, assembly, saved=request.query_params.get("saved") == "1")


@router.post("/assemblies/{assembly_id}/names", summary="Name the quota values in Danish and English (HTML form)",
             responses=errors(404, 422))
async def names_save(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                     who: Principal = Depends(allow(ORGANISER, page=True))) -> Response:
    form = _form(await request.form())
    async with rt.transaction() as tx:
        assembly = await v.load_assembly(tx, assembly_id)
    _ = pages.gettext(request)
    names, problems = [], []
    for i, (category, q) in enumerate(_flat_quotas(assembly)):
        labels = {lang: form.get(f"name_{lang}_{i}", "").strip() for lang in ("da", "en")}
        for lang, text in labels.items():
            if len(text) > 100:
                problems.append({"field": f"name_{lang}_{i}", "message": _(ASSEMBLY_PROBLEMS["quota_name"], row=i + 1)})
        names.append({"category": category, "value": q["value"], "labels": labels})
    if problems:
        return _names_page(request, who, assembly, form=form, errors_=problems, status=422)
    async with rt.transaction() as tx:
        await h.name_values(tx, assembly_id, names)
    return pages.redirect(request, service_url(request, f"/assemblies/{assembly_id}/names?saved=1"))
