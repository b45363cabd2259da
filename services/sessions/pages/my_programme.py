"""The programme for a panel member (linked from the portal): each published session with when,
where to go (the venue of the member's region, or every venue when theirs has none) or the online
link, the agenda by phase with its speakers and documents, the experts and stakeholders with their
declarations of interests, and a form to ask for a witness with the member's own requests and the
secretariat's answers. Also the download of a document's file, for members and staff."""

from __future__ import annotations

import uuid
from functools import partial
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.sessions.api.programme import READERS, document_scope
from services.sessions.domain import programme_form as forms
from services.sessions.domain.programme import venues_for
from services.sessions.handlers import programme as h
from services.sessions.pages import pages
from services.sessions.pages.programme import form_of, names, write_or_show
from services.sessions.views import programme as v
from shared.auth import MEMBER, Principal, allow
from shared.errors import ApiError
from shared.openapi import errors
from shared.problems import not_found
from shared.runtime import RuntimeDep

router = APIRouter(tags=["pages"])


async def _page(request: Request, rt, who: Principal, assembly_id: uuid.UUID, *, form: dict | None = None,
                errors_: list | None = None, refused: dict | None = None, status: int = 200) -> Response:
    async with rt.transaction() as tx:
        sessions = await v.assembly_programme(tx, assembly_id)
        experts = await v.experts(tx, assembly_id)
        mine = await v.witness_requests(tx, assembly_id, member_id=who.member_id or uuid.UUID(int=0))
        region = await v.member_region(tx, assembly_id, who.member_id)
    for s in sessions:
        s["published"] = s["revision"] > 0
        s["where"], s["own_region"] = venues_for(s["venues"], region)
    published = [s for s in sessions if s["published"]]
    heard = {x["id"] for s in published for i in s["items"] for x in i["speakers"]}
    errors_ = errors_ or []
    return pages.render(request, "my_programme.html", {
        "assembly_id": assembly_id, "sessions": sessions, "experts": [e for e in experts if e["id"] in heard],
        "requests": mine, "session_choices": [(str(s["id"]), s["title"]) for s in sessions if not s["held"]],
        "form": form or {}, "errors": errors_,
        "by_field": {e["field"]: e["message"] for e in errors_}, "refused": refused,
        "done": request.query_params.get("done"), **names(request)}, who=who, status=refused["status"] if refused else status)


@router.get("/assemblies/{assembly_id}/my-programme", summary="A member's programme: sessions, where, agenda (HTML)",
            responses=errors(404))
async def my_programme(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                       who: Principal = Depends(allow(MEMBER, page=True))) -> Response:
    return await _page(request, rt, who, assembly_id)


@router.post("/assemblies/{assembly_id}/my-programme/witness", summary="A member asks to hear a witness (HTML form)",
             responses=errors(422))
async def ask_for_witness(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                          who: Principal = Depends(allow(MEMBER, page=True))) -> Response:
    if who.member_id is None:
        raise ApiError(403, "only a panel member (signed in with a selection letter's code) can ask for a witness",
                       code="forbidden")
    form = await form_of(request)
    async with rt.transaction() as tx:
        sessions = [s["id"] for s in await v.assembly_programme(tx, assembly_id)]
    values, found = forms.read_witness_form(form, sessions)
    return await write_or_show(request, rt, partial(_page, request, rt, who, assembly_id), form, found,
                               lambda tx: h.request_witness(tx, assembly_id, who.member_id, **values),
                               f"/assemblies/{assembly_id}/my-programme?done=asked#witness")


@router.get("/documents/{document_id}/file", summary="Download a document's file (members and staff)",
            responses=errors(404))
async def download(document_id: uuid.UUID, rt: RuntimeDep, request: Request,
                   who: Principal = Depends(allow(*READERS, scope=document_scope, page=True))) -> Response:
    async with rt.transaction() as tx:
        d = await v.load_document(tx, document_id, content=True)
    if d.content is None:  # a link: it has no file here
        raise not_found("file of this document (it is a link)")
    ascii_name = d.filename.encode("ascii", "replace").decode().replace("?", "_")
    response = Response(d.content, media_type=d.media_type or "application/octet-stream", headers={
        # always a download, never shown in the console's origin (an uploaded page cannot run there)
        "content-disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(d.filename)}",
        "x-content-type-options": "nosniff", "content-security-policy": "default-src 'none'; sandbox",
        "x-checksum-sha256": d.sha256})
    pages.finish(request, response)
    return response
