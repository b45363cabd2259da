"""Recruitment's page for what the letters say about the assembly (commissioner, remit, dates,
stipend, reply-by)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.recruitment import views as v
from services.recruitment.domain.letter_details import letter_form_values, read_letter_form
from services.recruitment.handlers import assemblies as h
from services.recruitment.pages import _form, letter_problems, pages
from shared.auth import ORGANISER, Principal, allow
from shared.openapi import errors
from shared.runtime import RuntimeDep
from shared.ui import service_url

router = APIRouter(tags=["pages"])


def _details_page(request: Request, who: Principal, assembly, form: dict, problems=(), *, saved: bool = False,
                  status: int = 200) -> Response:
    by_field, errors_ = letter_problems(request, problems)
    return pages.render(request, "letter_details.html", {"assembly": assembly, "form": form, "by_field": by_field,
                                                         "errors": errors_, "saved": saved}, who=who, status=status)


@router.get("/assemblies/{assembly_id}/letter-details", summary="What the letters say: the form (HTML)",
            responses=errors(404))
async def letter_details_page(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                              who: Principal = Depends(allow(ORGANISER, page=True))) -> Response:
    async with rt.transaction() as tx:
        assembly = await v.load_assembly(tx, assembly_id)
    return _details_page(request, who, assembly, letter_form_values(assembly._mapping),
                         saved=request.query_params.get("saved") == "1")


@router.post("/assemblies/{assembly_id}/letter-details", summary="What the letters say (HTML form)",
             responses=errors(404, 422))
async def letter_details_save(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                              who: Principal = Depends(allow(ORGANISER, page=True))) -> Response:
    form = _form(await request.form())
    details, problems = read_letter_form(form)
    if problems:
        async with rt.transaction() as tx:
            assembly = await v.load_assembly(tx, assembly_id)
        return _details_page(request, who, assembly, form, problems, status=422)
    async with rt.transaction() as tx:
        await h.set_letter_details(tx, assembly_id, details)
    return pages.redirect(request, service_url(request, f"/assemblies/{assembly_id}/letter-details?saved=1"))
