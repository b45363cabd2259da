"""The panel's page: members and reserves by pseudonymous number, and the secretariat's form to
choose alternates for drop-outs (a drop-out rate per group of the quotas); the same handler as
POST /assemblies/{id}/alternates, and the form works without JavaScript."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.sortition import handlers as h
from services.sortition import views as v
from services.sortition.domain.alternates_form import quota_groups, read_alternates_form
from services.sortition.pages import is_organiser, links, pages
from shared.auth import AUDITOR, FACILITATOR, ORGANISER, Principal, allow
from shared.openapi import errors
from shared.problems import DomainError
from shared.runtime import Runtime, RuntimeDep
from shared.ui import N_, service_url

router = APIRouter(tags=["pages"])

PROBLEMS = {
    "count": N_("Enter how many alternates: a whole number from 1 to 1,000"),
    "scenarios": N_("Enter a whole number from 5 to 200, or leave it empty for 40"),
    "rate": N_("Enter a drop-out rate in per cent from 0 to 99, for example 15"),
    "rates": N_("Give at least one group a drop-out rate above 0"),
    "confirm": N_("Tick the box to confirm"),
}


async def _panel_page(request: Request, rt: Runtime, who: Principal, assembly_id: uuid.UUID, *,
                      form: dict | None = None, problems=(), refused: dict | None = None,
                      status: int = 200) -> Response:
    async with rt.transaction() as tx:
        await v.load_assembly(tx, assembly_id)
        panel = await v.get_panel(tx, assembly_id) if await v.is_drawn(tx, assembly_id) else None
        facts = await v.freeze_facts(tx, assembly_id) if panel else None
    _ = pages.gettext(request)
    errors_ = [{"field": f, "message": _(PROBLEMS[k])} for f, k in problems]
    return pages.render(request, "panel.html", {
        "panel": panel, "withdrawn": set(map(str, panel["withdrawn_members"])) if panel else set(),
        "organiser": is_organiser(who, assembly_id), "links": links(request, assembly_id),
        "groups": quota_groups(facts.quotas) if facts else [], "form": form or {}, "errors": errors_,
        "by_field": {e["field"]: e["message"] for e in errors_}, "refused": refused,
        "done": request.query_params.get("done"), "assembly_id": assembly_id}, who=who,
        status=refused["status"] if refused else status)


@router.get("/assemblies/{assembly_id}/draw/panel", summary="The panel and the reserves (HTML)", responses=errors(404))
async def panel_page(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                     who: Principal = Depends(allow(ORGANISER, FACILITATOR, AUDITOR, page=True))) -> Response:
    return await _panel_page(request, rt, who, assembly_id)


@router.post("/assemblies/{assembly_id}/draw/alternates", summary="Choose alternates for drop-outs (HTML form); "
             "they become the reserve list", responses=errors(404, 409, 422))
async def alternates_form(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                          who: Principal = Depends(allow(ORGANISER, page=True))) -> Response:
    form = {k: str(x)[:200] for k, x in (await request.form()).items() if k != "csrf_token"}
    async with rt.transaction() as tx:
        await v.load_assembly(tx, assembly_id)
        facts = await v.freeze_facts(tx, assembly_id)
    values, problems = read_alternates_form(form, quota_groups(facts.quotas) if facts else [])
    if problems:
        return await _panel_page(request, rt, who, assembly_id, form=form, problems=problems, status=422)
    try:
        async with rt.transaction() as tx:
            await h.choose_alternates(tx, assembly_id, count=values["count"], scenarios=values["scenarios"],
                                      rates=values["rates"], actor=who.actor)
    except DomainError as exc:
        return await _panel_page(request, rt, who, assembly_id, form=form, refused=pages.refusal(request, exc))
    return pages.redirect(request, service_url(request, f"/assemblies/{assembly_id}/draw/panel?done=alternates"))
