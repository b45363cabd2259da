"""The people the assembly hears, for staff: experts and stakeholders with their affiliation and
declaration of interests (the secretariat adds and changes them; each shows the items they speak
at), and the members' requests for a witness with the secretariat's answer. Requests never show
who asked."""

from __future__ import annotations

import uuid
from functools import partial

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.sessions.api.programme import expert_scope, witness_scope
from services.sessions.domain import programme_form as forms
from services.sessions.handlers import programme as h
from services.sessions.pages import pages
from services.sessions.pages.programme import STAFF, form_of, is_organiser, names, write_or_show
from services.sessions.views import programme as v
from shared.auth import ORGANISER, Principal, allow
from shared.openapi import errors
from shared.runtime import RuntimeDep

router = APIRouter(tags=["pages"])


async def _experts_page(request: Request, rt, who: Principal, assembly_id: uuid.UUID, *, form: dict | None = None,
                        errors_: list | None = None, refused: dict | None = None, status: int = 200) -> Response:
    async with rt.transaction() as tx:
        experts = await v.experts(tx, assembly_id)
    errors_ = errors_ or []
    return pages.render(request, "experts.html", {
        "assembly_id": assembly_id, "experts": experts, "form": form or {}, "errors": errors_,
        "by_field": {e["field"]: e["message"] for e in errors_}, "refused": refused,
        "can_edit": is_organiser(who, assembly_id), "done": request.query_params.get("done"), **names(request)},
        who=who, status=refused["status"] if refused else status)


@router.get("/assemblies/{assembly_id}/programme/experts", summary="Experts and stakeholders (HTML)",
            responses=errors(404))
async def experts_page(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                       who: Principal = Depends(allow(*STAFF, page=True))) -> Response:
    return await _experts_page(request, rt, who, assembly_id)


@router.post("/assemblies/{assembly_id}/programme/experts", summary="Add an expert or a stakeholder (HTML form)",
             responses=errors(422))
async def add_expert(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                     who: Principal = Depends(allow(ORGANISER, page=True))) -> Response:
    form = await form_of(request)
    values, found = forms.read_expert_form(form)
    return await write_or_show(request, rt, partial(_experts_page, request, rt, who, assembly_id), form, found,
                               lambda tx: h.add_expert(tx, assembly_id, **values),
                               f"/assemblies/{assembly_id}/programme/experts?done=added")


async def _expert_page(request: Request, rt, who: Principal, expert_id: uuid.UUID, *, form: dict | None = None,
                       errors_: list | None = None, refused: dict | None = None, status: int = 200) -> Response:
    async with rt.transaction() as tx:
        e = await v.load_expert(tx, expert_id)
    request.state.assembly_id = e.assembly_id
    errors_ = errors_ or []
    defaults = {k: getattr(e, k) for k in ("kind", "name", "affiliation", "interests")}
    return pages.render(request, "expert_edit.html", {
        "e": e, "form": {**defaults, **(form or {})}, "errors": errors_,
        "by_field": {x["field"]: x["message"] for x in errors_}, "refused": refused, **names(request)},
        who=who, status=refused["status"] if refused else status)


@router.get("/experts/{expert_id}/edit", summary="Change an expert's or stakeholder's details (HTML)",
            responses=errors(404))
async def expert_page(expert_id: uuid.UUID, rt: RuntimeDep, request: Request,
                      who: Principal = Depends(allow(ORGANISER, scope=expert_scope, page=True))) -> Response:
    return await _expert_page(request, rt, who, expert_id)


@router.post("/experts/{expert_id}/edit", summary="Change an expert's or stakeholder's details (HTML form)",
             responses=errors(404, 422))
async def change_expert(expert_id: uuid.UUID, rt: RuntimeDep, request: Request,
                        who: Principal = Depends(allow(ORGANISER, scope=expert_scope, page=True))) -> Response:
    form = await form_of(request)
    values, found = forms.read_expert_form(form)
    async with rt.transaction() as tx:
        e = await v.load_expert(tx, expert_id)
    return await write_or_show(request, rt, partial(_expert_page, request, rt, who, expert_id), form, found,
                               lambda tx: h.update_expert(tx, expert_id, **values),
                               f"/assemblies/{e.assembly_id}/programme/experts?done=changed")


# ---- members' witness requests --------------------------------------------------------------------


async def _requests_page(request: Request, rt, who: Principal, assembly_id: uuid.UUID, *, form: dict | None = None,
                         errors_: list | None = None, refused: dict | None = None, status: int = 200) -> Response:
    async with rt.transaction() as tx:
        requests = await v.witness_requests(tx, assembly_id)
        sessions = {s["id"]: s for s in await v.assembly_programme(tx, assembly_id)}
    errors_ = errors_ or []
    return pages.render(request, "witnesses.html", {
        "assembly_id": assembly_id, "requests": requests, "sessions": sessions, "form": form or {},
        "errors": errors_, "by_field": {e["field"]: e["message"] for e in errors_}, "refused": refused,
        "can_answer": is_organiser(who, assembly_id), "done": request.query_params.get("done"), **names(request)},
        who=who, status=refused["status"] if refused else status)


@router.get("/assemblies/{assembly_id}/programme/witnesses", summary="Members' requests for a witness (HTML)",
            responses=errors(404))
async def requests_page(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                        who: Principal = Depends(allow(*STAFF, page=True))) -> Response:
    return await _requests_page(request, rt, who, assembly_id)


@router.post("/witness-requests/{witness_request_id}/decide", summary="Accept or decline a witness request (HTML form)",
             responses=errors(404, 409, 422))
async def decide(witness_request_id: uuid.UUID, rt: RuntimeDep, request: Request,
                 who: Principal = Depends(allow(ORGANISER, scope=witness_scope, page=True))) -> Response:
    form = await form_of(request)
    async with rt.transaction() as tx:
        r = await v.load_witness_request(tx, witness_request_id)
    values, found = forms.read_answer_form(form, str(witness_request_id))
    return await write_or_show(request, rt, partial(_requests_page, request, rt, who, r.assembly_id),
                               {**form, "for": str(witness_request_id)}, found,
                               lambda tx: h.answer_witness(tx, witness_request_id, **values),
                               f"/assemblies/{r.assembly_id}/programme/witnesses?done={values['status']}")
