"""The recommendations workspace's writes, one transaction each: a table or working group starts a
draft, members propose amendments that the secretariat accepts (a new version) or rejects, staff
revise a draft or merge similar ones (the merged draft keeps its history), members attach minority
statements, and the secretariat freezes the final list (recommendations-finalised). Once the list
is frozen the workspace takes no more changes."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import sqlalchemy as sa

from services.sessions.domain import drafts as dom
from services.sessions.models import drafts as md
from services.sessions.views.drafts import current_version, final_list, load_amendment, load_draft
from shared.bus.outbox import Tx
from shared.events import contracts as ev
from shared.problems import conflict, invalid


async def _not_frozen(tx: Tx, assembly_id: uuid.UUID) -> None:
    if await final_list(tx, assembly_id) is not None:
        raise conflict("the final list of recommendations is frozen; drafts can no longer change", code="list_frozen")


async def _open_draft(tx: Tx, draft_id: uuid.UUID):
    d = await load_draft(tx, draft_id, lock=True)
    await _not_frozen(tx, d.assembly_id)
    if d.status != "open":
        raise conflict("this draft was merged into another; work on that one", code="draft_merged")
    return d


async def create_draft(tx: Tx, assembly_id: uuid.UUID, *, group: str, title: str, text: str, rationale: str | None,
                       actor: str) -> uuid.UUID:
    await _not_frozen(tx, assembly_id)
    group = dom.check({"group": group}, required=("group",))["group"]
    t = dom.draft_text(title, text, rationale)
    draft_id = uuid.uuid4()
    await tx.session.execute(sa.insert(md.drafts).values(id=draft_id, assembly_id=assembly_id, group_name=group,
                                                         version=1, status="open", created_by=actor))
    await tx.session.execute(sa.insert(md.draft_versions).values(
        draft_id=draft_id, version=1, title=t.title, text=t.text, rationale=t.rationale, text_sha256=t.sha256,
        cause="drafted"))
    await tx.emit(ev.RecommendationDraftedV1(assembly_id=assembly_id, draft_id=draft_id, group=group, title=t.title,
                                             version=1, text_sha256=t.sha256), subject=assembly_id)
    await tx.audit("recommendation.drafted", assembly_id, object_id=draft_id,
                   details={"group": group, "text_sha256": t.sha256})
    return draft_id


async def _new_version(tx: Tx, d, t: dom.DraftText, *, cause: str, amendment_id: uuid.UUID | None = None,
                       merged_from: list[uuid.UUID] = ()) -> int:
    version = d.version + 1
    await tx.session.execute(sa.insert(md.draft_versions).values(
        draft_id=d.id, version=version, title=t.title, text=t.text, rationale=t.rationale, text_sha256=t.sha256,
        cause=cause, amendment_id=amendment_id, merged_from=[str(x) for x in merged_from]))
    await tx.session.execute(sa.update(md.drafts).where(md.drafts.c.id == d.id).values(version=version))
    await tx.emit(ev.RecommendationAmendedV1(
        assembly_id=d.assembly_id, draft_id=d.id, title=t.title, version=version, text_sha256=t.sha256, cause=cause,
        amendment_id=amendment_id, merged_from=list(merged_from)), subject=d.assembly_id)
    await tx.audit("recommendation.amended", d.assembly_id, object_id=d.id, details={
        "version": version, "cause": cause, "text_sha256": t.sha256,
        "amendment_id": str(amendment_id) if amendment_id else None, "merged_from": [str(x) for x in merged_from]})
    return version


async def revise(tx: Tx, draft_id: uuid.UUID, *, title: str, text: str, rationale: str | None) -> int:
    """Staff revise a draft for its group (a new version; the old one stays, with the diff)."""
    d = await _open_draft(tx, draft_id)
    t = dom.draft_text(title, text, rationale)
    now = await current_version(tx, draft_id, d.version)
    if (t.title, t.text, t.rationale) == (now.title, now.text, now.rationale):
        raise invalid("nothing changed: edit the title, the text or the rationale",
                      [{"field": "text", "problem": "unchanged"}])
    return await _new_version(tx, d, t, cause="edit")


async def propose_amendment(tx: Tx, draft_id: uuid.UUID, *, text: str, reason: str, actor: str) -> uuid.UUID:
    d = await _open_draft(tx, draft_id)
    c = dom.check({"text": text, "reason": reason}, required=("text", "reason"))
    now = await current_version(tx, draft_id, d.version)
    if c["text"] == now.text:
        raise invalid("the amendment is the text as it stands: change it where you want it changed",
                      [{"field": "text", "problem": "unchanged"}])
    amendment_id = uuid.uuid4()
    await tx.session.execute(sa.insert(md.amendments).values(
        id=amendment_id, assembly_id=d.assembly_id, draft_id=draft_id, base_version=d.version, text=c["text"],
        reason=c["reason"], proposed_by=actor, status="pending"))
    await tx.audit("amendment.proposed", d.assembly_id, object_id=amendment_id,
                   details={"draft_id": str(draft_id), "base_version": d.version})
    return amendment_id


async def decide_amendment(tx: Tx, amendment_id: uuid.UUID, *, accept: bool, note: str | None) -> int | None:
    """The secretariat accepts (the amendment's text becomes the draft's next version) or rejects.
    Returns the new version, or None for a rejection."""
    a = await load_amendment(tx, amendment_id, lock=True)
    if a.status != "pending":
        raise conflict(f"this amendment was {a.status} already", code="amendment_decided")
    d = await _open_draft(tx, a.draft_id)
    note = dom.check({"note": note}, required=())["note"] or None
    version = None
    if accept:
        if a.base_version != d.version:
            raise conflict(f"the draft has changed since this amendment was proposed (now version {d.version}, the "
                           f"amendment was made on version {a.base_version}): reject it and ask for a new one",
                           code="amendment_outdated")
        now = await current_version(tx, d.id, d.version)
        version = await _new_version(tx, d, dom.DraftText(now.title, a.text, now.rationale), cause="amendment",
                                     amendment_id=a.id)
    await tx.session.execute(sa.update(md.amendments).where(md.amendments.c.id == a.id).values(
        status="accepted" if accept else "rejected", note=note, decided_at=datetime.now(timezone.utc)))
    await tx.audit("amendment.accepted" if accept else "amendment.rejected", d.assembly_id, object_id=a.id,
                   details={"draft_id": str(d.id), "version": version})
    return version


async def merge(tx: Tx, draft_id: uuid.UUID, *, others: list[uuid.UUID], title: str, text: str,
                rationale: str | None) -> int:
    """Merge similar drafts into `draft_id`: it gets the combined text as a new version; the others
    are closed as merged into it, each with its whole history (and its minority statements move
    with the recommendation)."""
    d = await _open_draft(tx, draft_id)
    others = list(dict.fromkeys(others))
    if not others or draft_id in others:
        raise invalid("choose one or more other drafts to merge into this one", [{"field": "others", "problem": "empty"}])
    t = dom.draft_text(title, text, rationale)
    for other in others:
        o = await load_draft(tx, other, lock=True)
        if o.assembly_id != d.assembly_id or o.status != "open":
            raise invalid(f"draft {other} is not an open draft of this assembly",
                          [{"field": "others", "problem": f"{other} cannot be merged"}])
    await tx.session.execute(sa.update(md.drafts).where(md.drafts.c.id.in_(others))
                             .values(status="merged", merged_into=draft_id))
    await tx.session.execute(sa.update(md.minority_statements).where(md.minority_statements.c.draft_id.in_(others))
                             .values(draft_id=draft_id))
    return await _new_version(tx, d, t, cause="merge", merged_from=others)


async def add_minority_statement(tx: Tx, draft_id: uuid.UUID, *, text: str, actor: str) -> uuid.UUID:
    d = await _open_draft(tx, draft_id)
    c = dom.check({"text": text}, required=("text",))
    statement_id = uuid.uuid4()
    await tx.session.execute(sa.insert(md.minority_statements).values(
        id=statement_id, assembly_id=d.assembly_id, draft_id=draft_id, text=c["text"], submitted_by=actor))
    await tx.audit("minority_statement.added", d.assembly_id, object_id=statement_id,
                   details={"draft_id": str(draft_id)})
    return statement_id


async def finalise(tx: Tx, assembly_id: uuid.UUID, draft_ids: list[uuid.UUID]) -> dict:
    """Freeze the final list in the order given: every recommendation's current version, its hash,
    rationale and minority statements, announced in recommendations-finalised."""
    await tx.session.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(str(assembly_id)))))
    await _not_frozen(tx, assembly_id)
    open_ids = {str(r[0]) for r in (await tx.session.execute(sa.select(md.drafts.c.id).where(
        md.drafts.c.assembly_id == assembly_id, md.drafts.c.status == "open"))).all()}
    order = [uuid.UUID(x) for x in dom.final_order([str(x) for x in draft_ids], open_ids)]
    recs = []
    for position, draft_id in enumerate(order, start=1):
        d = await load_draft(tx, draft_id)
        v = await current_version(tx, draft_id, d.version)
        statements = (await tx.session.execute(sa.select(md.minority_statements.c.id, md.minority_statements.c.text)
                                               .where(md.minority_statements.c.draft_id == draft_id)
                                               .order_by(md.minority_statements.c.created_at,
                                                         md.minority_statements.c.id))).all()
        recs.append(ev.FinalRecommendationV1(
            recommendation_id=draft_id, position=position, title=v.title, version=v.version, text=v.text,
            text_sha256=v.text_sha256, rationale=v.rationale,
            minority_statements=[ev.MinorityStatementV1(statement_id=s.id, text=s.text) for s in statements]))
    list_id, at = uuid.uuid4(), datetime.now(timezone.utc)
    digest = dom.list_hash([r.text_sha256 for r in recs])
    payload = ev.RecommendationsFinalisedV1(assembly_id=assembly_id, list_id=list_id, finalised_at=at,
                                            list_sha256=digest, recommendations=recs)
    await tx.session.execute(sa.insert(md.final_lists).values(
        list_id=list_id, assembly_id=assembly_id, finalised_at=at, list_sha256=digest,
        recommendations=payload.model_dump(mode="json")["recommendations"]))
    await tx.emit(payload, subject=assembly_id)
    await tx.audit("recommendations.finalised", assembly_id, object_id=list_id,
                   details={"list_sha256": digest, "recommendations": len(recs)})
    return {"list_id": list_id, "list_sha256": digest, "finalised_at": at, "recommendations": len(recs)}
