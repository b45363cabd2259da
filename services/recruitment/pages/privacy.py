"""Recruitment's page for a person's right of access: the registrar finds the person by a code
from their letter or their register id (sent in the form's body, never in the address) and
downloads everything held about them as JSON (docs/privacy.md)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.recruitment import views as v
from services.recruitment.api.privacy import export_response
from services.recruitment.handlers import privacy as h
from services.recruitment.pages import _form, pages
from shared.auth import REGISTRAR, Principal, allow
from shared.openapi import errors
from shared.problems import NotFound
from shared.runtime import RuntimeDep
from shared.ui import N_

router = APIRouter(tags=["pages"])

ACCESS_PROBLEMS = {
    "one": N_("Enter either a code from the person's letter or their register id, not both"),
    "too_long": N_("At most 64 characters"),
    "not_found": N_("Nobody in this assembly has this code or register id"),
}


async def _page(rt, request: Request, who: Principal, assembly_id: uuid.UUID, *, form: dict | None = None,
                problem: tuple[str, str] | None = None, status: int = 200) -> Response:
    _ = pages.gettext(request)
    async with rt.transaction() as tx:
        assembly = await v.load_assembly(tx, assembly_id)
    by_field = {problem[0]: _(ACCESS_PROBLEMS[problem[1]])} if problem else {}
    return pages.render(request, "access.html", {
        "assembly": assembly, "form": form or {}, "by_field": by_field,
        "errors": [{"field": f, "message": m} for f, m in by_field.items()]}, who=who, status=status)


@router.get("/assemblies/{assembly_id}/access", summary="Right of access: find a person (HTML)", responses=errors(404))
async def access_page(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                      who: Principal = Depends(allow(REGISTRAR, page=True))) -> Response:
    return await _page(rt, request, who, assembly_id)


@router.post("/assemblies/{assembly_id}/access",
             summary="Right of access: everything held about a person, as a JSON or PDF file (HTML form)",
             responses=errors(404, 422))
async def access_download(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                          who: Principal = Depends(allow(REGISTRAR, page=True))) -> Response:
    form = _form(await request.form())
    code, person_id = form.get("code", "").strip(), form.get("person_id", "").strip()
    if bool(code) == bool(person_id):
        return await _page(rt, request, who, assembly_id, form={"code": code}, problem=("code", "one"), status=422)
    if len(code) > 64 or len(person_id) > 64:
        return await _page(rt, request, who, assembly_id, form={"code": code},
                           problem=("code" if code else "person_id", "too_long"), status=422)
    try:
        async with rt.transaction() as tx:
            entry = await h.find_person(tx, assembly_id, code=code or None, person_id=person_id or None)
            export = await h.access_export(tx, assembly_id, entry, found_by="code" if code else "register_id")
    except NotFound:
        # the register id is not shown again: the form comes back empty
        return await _page(rt, request, who, assembly_id, form={"code": code},
                           problem=("code" if code else "person_id", "not_found"), status=404)
    response = await export_response(export, "pdf" if form.get("format") == "pdf" else "json", pages.locale(request))
    pages.finish(request, response)
    return response
