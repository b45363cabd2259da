"""The programme's HTTP API: where a session is held, its agenda items (speakers, documents), the
experts and stakeholders, publishing a session's programme, and members' witness requests."""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from services.sessions.api import session_scope
from services.sessions.domain.programme import MAX_DOCUMENT_BYTES
from services.sessions.handlers import programme as h
from services.sessions.models import programme as p
from services.sessions.views import programme as v
from shared.auth import AUDITOR, FACILITATOR, MEMBER, ORGANISER, Principal, allow, scope_from
from shared.errors import ApiError
from shared.openapi import errors
from shared.problems import invalid
from shared.runtime import RuntimeDep

router = APIRouter(tags=["programme"])
item_scope = scope_from(p.agenda_items, "item_id", "agenda item")
expert_scope = scope_from(p.experts, "expert_id", "expert")
document_scope = scope_from(p.documents, "document_id", "document")
witness_scope = scope_from(p.witness_requests, "witness_request_id", "witness request")
READERS = (ORGANISER, FACILITATOR, AUDITOR, MEMBER)

ItemPhase = Literal["learning", "hearing", "values", "vision", "recommendations", "voting"]
DocumentKind = Literal["briefing", "slides", "video", "other"]


class VenueIn(BaseModel):
    region: str = Field(min_length=1, max_length=100)
    venue: str = Field(min_length=1, max_length=300, description="the place's name and address")


class SettingIn(BaseModel):
    venues: list[VenueIn] = Field(default=[], max_length=10)
    online_url: str | None = Field(None, max_length=2000, description="the online meeting's link (members see it)")
    capacity: int | None = Field(None, gt=0, le=100_000)


class ItemIn(BaseModel):
    phase: ItemPhase
    title: str = Field(min_length=1, max_length=200)
    minutes: int = Field(gt=0, le=720)
    description: str = Field("", max_length=4000)
    speaker_ids: list[uuid.UUID] = Field(default=[], max_length=30)


class ItemChange(ItemIn):
    position: int | None = Field(None, ge=1, le=500, description="move the item to this place on the agenda")


class ExpertIn(BaseModel):
    kind: Literal["expert", "stakeholder"] = "expert"
    name: str = Field(min_length=1, max_length=200)
    affiliation: str = Field(min_length=1, max_length=200)
    interests: str = Field(min_length=1, max_length=4000,
                           description="the declaration of interests, as published ('none' if none)")


class LinkIn(BaseModel):
    kind: DocumentKind = "video"
    title: str = Field(min_length=1, max_length=200)
    url: str = Field(min_length=1, max_length=2000)


class WitnessIn(BaseModel):
    wanted: str = Field(min_length=1, max_length=300, description="whom, or what knowledge, the member wants to hear")
    reason: str = Field(min_length=1, max_length=2000)
    session_id: uuid.UUID | None = None


class AnswerIn(BaseModel):
    status: Literal["accepted", "declined"]
    answer: str = Field("", max_length=2000)


def _created(key: str, value) -> dict:
    return {key: value}


@router.put("/sessions/{session_id}/setting", summary="Where a session is held: venues per region, online link, capacity",
            responses=errors(404, 409, 422))
async def set_setting(session_id: uuid.UUID, body: SettingIn, rt: RuntimeDep,
                      who: Principal = Depends(allow(ORGANISER, scope=session_scope))) -> dict:
    async with rt.transaction() as tx:
        await h.set_setting(tx, session_id, venues=[(x.region.strip(), x.venue.strip()) for x in body.venues],
                            online_url=body.online_url, capacity=body.capacity)
        return await v.session_programme(tx, session_id)


@router.get("/sessions/{session_id}/agenda", summary="A session with its venues and agenda", responses=errors(404))
async def session_agenda(session_id: uuid.UUID, rt: RuntimeDep,
                         who: Principal = Depends(allow(*READERS, scope=session_scope))) -> dict:
    async with rt.transaction() as tx:
        return await v.session_programme(tx, session_id)


@router.get("/assemblies/{assembly_id}/agenda", summary="The assembly's programme: sessions, agendas, hours by phase")
async def assembly_agenda(assembly_id: uuid.UUID, rt: RuntimeDep, who: Principal = Depends(allow(*READERS))) -> dict:
    async with rt.transaction() as tx:
        sessions = await v.assembly_programme(tx, assembly_id)
    return {"assembly_id": assembly_id, "sessions": sessions, "hours_by_phase": v.programme_hours(sessions)}


@router.post("/sessions/{session_id}/agenda-items", status_code=201, summary="Add an item to a session's agenda",
             responses=errors(404, 409, 422))
async def add_item(session_id: uuid.UUID, body: ItemIn, rt: RuntimeDep,
                   who: Principal = Depends(allow(ORGANISER, scope=session_scope))) -> dict:
    async with rt.transaction() as tx:
        return _created("id", await h.add_item(tx, session_id, **body.model_dump()))


@router.put("/agenda-items/{item_id}", summary="Change an agenda item (and move it with `position`)",
            responses=errors(404, 409, 422))
async def change_item(item_id: uuid.UUID, body: ItemChange, rt: RuntimeDep,
                      who: Principal = Depends(allow(ORGANISER, scope=item_scope))) -> dict:
    async with rt.transaction() as tx:
        await h.update_item(tx, item_id, **body.model_dump())
    return {"id": item_id}


@router.delete("/agenda-items/{item_id}", status_code=204, summary="Remove an agenda item with its documents",
               responses=errors(404, 409))
async def delete_item(item_id: uuid.UUID, rt: RuntimeDep,
                      who: Principal = Depends(allow(ORGANISER, scope=item_scope))) -> Response:
    async with rt.transaction() as tx:
        await h.delete_item(tx, item_id)
    return Response(status_code=204)


@router.post("/sessions/{session_id}/agenda/publish", summary="Publish the session's programme (session-scheduled v2)",
             responses=errors(404, 409))
async def publish(session_id: uuid.UUID, rt: RuntimeDep,
                  who: Principal = Depends(allow(ORGANISER, scope=session_scope))) -> dict:
    async with rt.transaction() as tx:
        return {"session_id": session_id, "revision": await h.publish(tx, session_id)}


@router.post("/assemblies/{assembly_id}/experts", status_code=201, summary="Add an expert or a stakeholder")
async def add_expert(assembly_id: uuid.UUID, body: ExpertIn, rt: RuntimeDep,
                     who: Principal = Depends(allow(ORGANISER))) -> dict:
    async with rt.transaction() as tx:
        return _created("id", await h.add_expert(tx, assembly_id, **body.model_dump()))


@router.get("/assemblies/{assembly_id}/experts", summary="Experts and stakeholders, with the items they speak at")
async def list_experts(assembly_id: uuid.UUID, rt: RuntimeDep, who: Principal = Depends(allow(*READERS))) -> list[dict]:
    async with rt.transaction() as tx:
        return await v.experts(tx, assembly_id)


@router.put("/experts/{expert_id}", summary="Change an expert's or stakeholder's details", responses=errors(404))
async def change_expert(expert_id: uuid.UUID, body: ExpertIn, rt: RuntimeDep,
                        who: Principal = Depends(allow(ORGANISER, scope=expert_scope))) -> dict:
    async with rt.transaction() as tx:
        await h.update_expert(tx, expert_id, **body.model_dump())
    return {"id": expert_id}


@router.post("/agenda-items/{item_id}/documents", status_code=201, summary="Attach a link (e.g. a video) to an item",
             responses=errors(404, 422))
async def add_link(item_id: uuid.UUID, body: LinkIn, rt: RuntimeDep,
                   who: Principal = Depends(allow(ORGANISER, scope=item_scope))) -> dict:
    async with rt.transaction() as tx:
        document_id, sha256 = await h.add_document(tx, item_id, kind=body.kind, title=body.title, url=body.url)
    return {"id": document_id, "sha256": sha256}


@router.post("/agenda-items/{item_id}/files", status_code=201, responses=errors(404, 413, 422),
             summary=f"Attach a file to an item (multipart: kind, title, file; at most {MAX_DOCUMENT_BYTES // 2**20} MiB)")
async def add_file(item_id: uuid.UUID, request: Request, rt: RuntimeDep,
                   who: Principal = Depends(allow(ORGANISER, scope=item_scope))) -> dict:
    document_id, sha256 = await upload(rt, request, item_id)
    return {"id": document_id, "sha256": sha256}


async def upload(rt, request: Request, item_id: uuid.UUID) -> tuple[uuid.UUID, str]:
    """A multipart upload (kind, title, file) to the handler; the page's form uses it too."""
    if not request.headers.get("content-type", "").startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        raise ApiError(415, "send the file as multipart/form-data with the fields kind, title and file")
    form = await request.form()
    kind, title, file = str(form.get("kind") or ""), str(form.get("title") or "").strip(), form.get("file")
    problems = []
    if kind not in ("briefing", "slides", "video", "other"):
        problems.append({"field": "kind", "problem": "one of briefing, slides, video, other"})
    if not title or len(title) > 200:
        problems.append({"field": "title", "problem": "1 to 200 characters"})
    if file is None or isinstance(file, str) or not file.filename:
        problems.append({"field": "file", "problem": "choose a file"})
    if problems:
        raise invalid("the upload needs kind, title and file: " + "; ".join(f"{x['field']}: {x['problem']}"
                                                                               for x in problems), problems)
    content = await file.read(MAX_DOCUMENT_BYTES + 1)
    if len(content) > MAX_DOCUMENT_BYTES:
        raise ApiError(413, f"the file is larger than {MAX_DOCUMENT_BYTES // 2**20} MiB; attach a link to it instead")
    async with rt.transaction() as tx:
        return await h.add_document(tx, item_id, kind=kind, title=title, filename=file.filename, content=content)


@router.get("/documents/{document_id}", summary="A document's metadata and checksum", responses=errors(404))
async def document(document_id: uuid.UUID, rt: RuntimeDep,
                   who: Principal = Depends(allow(*READERS, scope=document_scope))) -> dict:
    async with rt.transaction() as tx:
        d = await v.load_document(tx, document_id)
    return {k: x for k, x in d._mapping.items() if k != "assembly_id"}


@router.delete("/documents/{document_id}", status_code=204, summary="Remove a document", responses=errors(404))
async def delete_document(document_id: uuid.UUID, rt: RuntimeDep,
                          who: Principal = Depends(allow(ORGANISER, scope=document_scope))) -> Response:
    async with rt.transaction() as tx:
        await h.delete_document(tx, document_id)
    return Response(status_code=204)


@router.post("/assemblies/{assembly_id}/witness-requests", status_code=201,
             summary="A member asks to hear a witness (an expert or a stakeholder)", responses=errors(422))
async def request_witness(assembly_id: uuid.UUID, body: WitnessIn, rt: RuntimeDep,
                          who: Principal = Depends(allow(MEMBER))) -> dict:
    if who.member_id is None:
        raise ApiError(403, "only a panel member (signed in with a selection letter's code) can ask for a witness",
                       code="forbidden")
    async with rt.transaction() as tx:
        return _created("id", await h.request_witness(tx, assembly_id, who.member_id, wanted=body.wanted.strip(),
                                                      reason=body.reason.strip(), session_id=body.session_id))


@router.get("/assemblies/{assembly_id}/witness-requests", summary="Witness requests (a member sees their own)")
async def list_witness_requests(assembly_id: uuid.UUID, rt: RuntimeDep,
                                who: Principal = Depends(allow(ORGANISER, FACILITATOR, AUDITOR, MEMBER))) -> list[dict]:
    staff = bool(who.roles_in(assembly_id) & {ORGANISER, FACILITATOR, AUDITOR}) or bool(who.global_roles)
    async with rt.transaction() as tx:
        return await v.witness_requests(tx, assembly_id, member_id=None if staff else (who.member_id or uuid.UUID(int=0)))


@router.post("/witness-requests/{witness_request_id}/answer", summary="Accept or decline a witness request",
             responses=errors(404, 409))
async def answer_witness(witness_request_id: uuid.UUID, body: AnswerIn, rt: RuntimeDep,
                         who: Principal = Depends(allow(ORGANISER, scope=witness_scope))) -> dict:
    async with rt.transaction() as tx:
        await h.answer_witness(tx, witness_request_id, status=body.status, answer=body.answer.strip())
    return {"id": witness_request_id, "status": body.status}
