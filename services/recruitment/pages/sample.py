"""Recruitment's page for the invitation sample's expected reply rates per stratum (region, and
the register's age band and gender): the oversampling factors the invitations page applies and
explains."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.recruitment import views as v
from services.recruitment.domain.sample import percent, rate_rows, read_rate_form, reply_rates
from services.recruitment.handlers import invitations as h
from services.recruitment.pages import DIMENSION_NAMES, _form, pages
from services.recruitment.views import invitations as invitations_reads
from shared.auth import AUDITOR, ORGANISER, REGISTRAR, Principal, allow
from shared.openapi import errors
from shared.runtime import RuntimeDep
from shared.ui import N_, service_url

router = APIRouter(tags=["pages"])

RATE_PROBLEMS = {"rate": N_("Enter the reply rate as a percentage from 0,1 to 100, for example 2,5")}
CATEGORY = {"region": "region", "age_band": "age", "gender": "gender"}  # the quota category a value is named by


async def _rates_page(rt, request: Request, who: Principal, assembly_id: uuid.UUID, *, form: dict | None = None,
                      problems=(), saved: bool = False, status: int = 200) -> Response:
    _ = pages.gettext(request)
    async with rt.transaction() as tx:
        assembly = await v.load_assembly(tx, assembly_id)
        register, _left = await invitations_reads.register_strata(tx, assembly_id)
    rates = reply_rates(assembly.reply_rates)
    rows = [{"i": i, "dim": dim, "value": value, "category": CATEGORY[dim],
             "rate": percent(rate) if rate is not None else "",
             "factor": rates.expected / rate if rate else None}
            for i, (dim, value, rate) in enumerate(rate_rows(rates, register))]
    if form is not None:
        for r in rows:
            r["rate"] = form.get(f"rate_{r['i']}", "")
    by_field = {field: _(RATE_PROBLEMS[kind], **values) for field, kind, values in problems}
    return pages.render(request, "reply_rates.html", {
        "assembly": assembly, "rows": rows, "expected": form.get("expected", "") if form else percent(rates.expected),
        "by_field": by_field, "errors": [{"field": f, "message": m} for f, m in by_field.items()],
        "dimension_names": DIMENSION_NAMES, "saved": saved,
        "can_edit": bool({ORGANISER, REGISTRAR} & set(who.roles_in(assembly_id)))}, who=who, status=status)


@router.get("/assemblies/{assembly_id}/reply-rates", summary="Expected reply rates per stratum: the form (HTML)",
            responses=errors(404))
async def reply_rates_page(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                           who: Principal = Depends(allow(ORGANISER, REGISTRAR, AUDITOR, page=True))) -> Response:
    return await _rates_page(rt, request, who, assembly_id, saved=request.query_params.get("saved") == "1")


@router.post("/assemblies/{assembly_id}/reply-rates", summary="Expected reply rates per stratum (HTML form)",
             responses=errors(404, 422))
async def reply_rates_save(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                           who: Principal = Depends(allow(ORGANISER, REGISTRAR, page=True))) -> Response:
    form = _form(await request.form())
    rows = form.get("rows", "0")
    rates, problems = read_rate_form(form, int(rows) if rows.isdigit() and len(rows) < 5 else 0)
    if problems:
        return await _rates_page(rt, request, who, assembly_id, form=form, problems=problems, status=422)
    async with rt.transaction() as tx:
        await h.set_reply_rates(tx, assembly_id, rates)
    return pages.redirect(request, service_url(request, f"/assemblies/{assembly_id}/reply-rates?saved=1"))
