"""The recommendations workspace's HTTP API: drafts by table or working group, versions with their
diff, members' amendments and the secretariat's decisions, merging, minority statements, and
freezing the final list (recommendations-finalised; voting opens the final ballot from it)."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from services.sessions.handlers import drafts as h
from services.sessions.models import drafts as md
from services.sessions.views import drafts as v
from shared.auth import AUDITOR, FACILITATOR, MEMBER, ORGANISER, Principal, allow, scope_from
from shared.markdown import render
from shared.openapi import errors
from shared.problems import not_found
from shared.runtime import RuntimeDep

router = APIRouter(tags=["recommendations"])
draft_scope = scope_from(md.drafts, "draft_id", "draft")
amendment_scope = scope_from(md.amendments, "amendment_id", "amendment")
READERS = (ORGANISER, FACILITATOR, AUDITOR, MEMBER)

class DraftIn(BaseModel):
    group: str = Field(min_length=1, max_length=200, description="The table or working group, e.g. 'Table 3'")
    title: str = Field(min_length=1, max_length=400)
    text: str = Field(min_length=1, max_length=40_000, description="Markdown")
    rationale: str = Field("", max_length=40_000, description="Markdown: why")


class RevisionIn(BaseModel):
    title: str = Field(min_length=1, max_length=400)
    text: str = Field(min_length=1, max_length=40_000)
    rationale: str = Field("", max_length=40_000)


class AmendmentIn(BaseModel):
    text: str = Field(min_length=1, max_length=40_000, description="The whole text as it should read")
    reason: str = Field(min_length=1, max_length=40_000)


class DecisionIn(BaseModel):
    accept: bool
    note: str | None = Field(None, max_length=40_000, description="Why (shown to members)")


class MergeIn(RevisionIn):
    others: list[uuid.UUID] = Field(min_length=1, max_length=50, description="Drafts merged into this one")


class StatementIn(BaseModel):
    text: str = Field(min_length=1, max_length=40_000)


class FinaliseIn(BaseModel):
    drafts: list[uuid.UUID] = Field(min_length=1, max_length=200, description="The final list, in its order")


def _version_out(x: dict) -> dict:
    return {"version": x["version"], "title": x["title"], "text": x["text"], "html": str(render(x["text"])),
            "rationale": x["rationale"], "text_sha256": x["text_sha256"], "cause": x["cause"],
            "amendment_id": x["amendment_id"], "merged_from": x["merged_from"], "created_at": x["created_at"],
            "diff": [{"kind": d.kind, "text": d.text} for d in x["diff"]]}


@router.get("/assemblies/{assembly_id}/drafts", summary="The assembly's draft recommendations")
async def list_drafts(assembly_id: uuid.UUID, rt: RuntimeDep, who: Principal = Depends(allow(*READERS))) -> dict:
    async with rt.transaction() as tx:
        return {"drafts": await v.list_drafts(tx, assembly_id), "final_list": await v.final_list(tx, assembly_id)}


@router.post("/assemblies/{assembly_id}/drafts", status_code=201, responses=errors(409, 422),
             summary="Start a draft recommendation for a table or working group")
async def create_draft(assembly_id: uuid.UUID, body: DraftIn, rt: RuntimeDep,
                       who: Principal = Depends(allow(ORGANISER, FACILITATOR, MEMBER))) -> dict:
    async with rt.transaction() as tx:
        draft_id = await h.create_draft(tx, assembly_id, **body.model_dump(), actor=who.actor)
    return {"id": draft_id, "version": 1}


@router.get("/drafts/{draft_id}", summary="A draft: its versions with their diff, amendments, minority statements",
            responses=errors(404))
async def get_draft(draft_id: uuid.UUID, rt: RuntimeDep,
                    who: Principal = Depends(allow(*READERS, scope=draft_scope))) -> dict:
    async with rt.transaction() as tx:
        d = await v.draft_detail(tx, draft_id)
    return {**{k: d[k] for k in ("id", "assembly_id", "group", "status", "merged_into", "version", "frozen")},
            "versions": [_version_out(x) for x in d["versions"]],
            "amendments": [{k: a[k] for k in ("id", "base_version", "text", "reason", "status", "note", "created_at",
                                              "decided_at")} | {"diff": [{"kind": x.kind, "text": x.text}
                                                                          for x in a["diff"]]}
                           for a in d["amendments"]],
            "minority_statements": [{"id": s["id"], "text": s["text"], "html": str(render(s["text"]))}
                                    for s in d["minority_statements"]],
            "merged_from": d["merged_from"]}


@router.post("/drafts/{draft_id}/versions", status_code=201, responses=errors(404, 409, 422),
             summary="Revise a draft (a new version; the old ones stay)")
async def revise(draft_id: uuid.UUID, body: RevisionIn, rt: RuntimeDep,
                 who: Principal = Depends(allow(ORGANISER, FACILITATOR, scope=draft_scope))) -> dict:
    async with rt.transaction() as tx:
        return {"version": await h.revise(tx, draft_id, **body.model_dump())}


@router.post("/drafts/{draft_id}/amendments", status_code=201, responses=errors(404, 409, 422),
             summary="Propose an amendment (the secretariat accepts or rejects it)")
async def propose(draft_id: uuid.UUID, body: AmendmentIn, rt: RuntimeDep,
                  who: Principal = Depends(allow(MEMBER, ORGANISER, FACILITATOR, scope=draft_scope))) -> dict:
    async with rt.transaction() as tx:
        return {"id": await h.propose_amendment(tx, draft_id, **body.model_dump(), actor=who.actor),
                "status": "pending"}


@router.post("/amendments/{amendment_id}/decision", responses=errors(404, 409, 422),
             summary="Accept (a new version of the draft) or reject an amendment")
async def decide(amendment_id: uuid.UUID, body: DecisionIn, rt: RuntimeDep,
                 who: Principal = Depends(allow(ORGANISER, scope=amendment_scope))) -> dict:
    async with rt.transaction() as tx:
        version = await h.decide_amendment(tx, amendment_id, accept=body.accept, note=body.note)
    return {"status": "accepted" if body.accept else "rejected", "version": version}


@router.post("/drafts/{draft_id}/merge", responses=errors(404, 409, 422),
             summary="Merge similar drafts into this one (they keep their history)")
async def merge(draft_id: uuid.UUID, body: MergeIn, rt: RuntimeDep,
                who: Principal = Depends(allow(ORGANISER, scope=draft_scope))) -> dict:
    async with rt.transaction() as tx:
        version = await h.merge(tx, draft_id, others=body.others, title=body.title, text=body.text,
                                rationale=body.rationale)
    return {"version": version}


@router.post("/drafts/{draft_id}/minority-statements", status_code=201, responses=errors(404, 409, 422),
             summary="Attach a minority statement to a recommendation")
async def add_statement(draft_id: uuid.UUID, body: StatementIn, rt: RuntimeDep,
                        who: Principal = Depends(allow(MEMBER, ORGANISER, FACILITATOR, scope=draft_scope))) -> dict:
    async with rt.transaction() as tx:
        return {"id": await h.add_minority_statement(tx, draft_id, text=body.text, actor=who.actor)}


class FinalListOut(BaseModel):
    list_id: uuid.UUID
    list_sha256: str
    finalised_at: datetime
    recommendations: int


@router.post("/assemblies/{assembly_id}/recommendations/finalise", status_code=201, response_model=FinalListOut,
             responses=errors(409, 422), summary="Freeze the final list (recommendations-finalised)")
async def finalise(assembly_id: uuid.UUID, body: FinaliseIn, rt: RuntimeDep,
                   who: Principal = Depends(allow(ORGANISER))) -> FinalListOut:
    async with rt.transaction() as tx:
        return FinalListOut(**await h.finalise(tx, assembly_id, body.drafts))


@router.get("/assemblies/{assembly_id}/recommendations/final", responses=errors(404),
            summary="The frozen final list: each text, its hash, rationale and minority statements")
async def final(assembly_id: uuid.UUID, rt: RuntimeDep, who: Principal = Depends(allow(*READERS))) -> dict:
    async with rt.transaction() as tx:
        f = await v.final_list(tx, assembly_id)
    if f is None:
        raise not_found("final list (not frozen yet)")
    return f
