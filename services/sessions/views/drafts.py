"""The recommendations workspace's reads: an assembly's drafts, one draft with its versions (and
the diff from each to the next), amendments and minority statements, and the frozen final list."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from services.sessions.domain.drafts import diff
from services.sessions.models import drafts as md
from shared.bus.outbox import Tx
from shared.db import load_or_404


async def load_draft(tx: Tx, draft_id: uuid.UUID, *, lock: bool = False):
    return await load_or_404(tx, md.drafts, "draft", lock=lock, id=draft_id)


async def load_amendment(tx: Tx, amendment_id: uuid.UUID, *, lock: bool = False):
    return await load_or_404(tx, md.amendments, "amendment", lock=lock, id=amendment_id)


async def final_list(tx: Tx, assembly_id: uuid.UUID) -> dict | None:
    row = (await tx.session.execute(sa.select(md.final_lists).where(md.final_lists.c.assembly_id == assembly_id))).first()
    return None if row is None else dict(row._mapping)


async def current_version(tx: Tx, draft_id: uuid.UUID, version: int):
    return (await tx.session.execute(sa.select(md.draft_versions).where(
        md.draft_versions.c.draft_id == draft_id, md.draft_versions.c.version == version))).one()


async def list_drafts(tx: Tx, assembly_id: uuid.UUID) -> list[dict]:
    """Every draft of the assembly (open first, then merged), with its current title and counts."""
    v, d = md.draft_versions, md.drafts
    pending = (sa.select(sa.func.count()).where(md.amendments.c.draft_id == d.c.id, md.amendments.c.status == "pending")
               .scalar_subquery())
    statements = sa.select(sa.func.count()).where(md.minority_statements.c.draft_id == d.c.id).scalar_subquery()
    rows = (await tx.session.execute(
        sa.select(d.c.id, d.c.group_name, d.c.version, d.c.status, d.c.merged_into, d.c.created_at, v.c.title,
                  v.c.text_sha256, pending.label("pending_amendments"), statements.label("minority_statements"))
        .join(v, sa.and_(v.c.draft_id == d.c.id, v.c.version == d.c.version))
        .where(d.c.assembly_id == assembly_id).order_by(d.c.status != "open", d.c.created_at, d.c.id))).all()
    return [dict(r._mapping) for r in rows]


async def draft_detail(tx: Tx, draft_id: uuid.UUID) -> dict:
    d = await load_draft(tx, draft_id)
    versions = [dict(r._mapping) for r in (await tx.session.execute(
        sa.select(md.draft_versions).where(md.draft_versions.c.draft_id == draft_id)
        .order_by(md.draft_versions.c.version))).all()]
    for before, after in zip([None, *versions], versions):
        after["diff"] = diff(before["text"] if before else "", after["text"])
    by_version = {x["version"]: x for x in versions}
    amendments = [dict(r._mapping) for r in (await tx.session.execute(
        sa.select(md.amendments).where(md.amendments.c.draft_id == draft_id)
        .order_by(md.amendments.c.created_at, md.amendments.c.id))).all()]
    for a in amendments:
        a["diff"] = diff(by_version[a["base_version"]]["text"], a["text"])
    statements = [dict(r._mapping) for r in (await tx.session.execute(
        sa.select(md.minority_statements).where(md.minority_statements.c.draft_id == draft_id)
        .order_by(md.minority_statements.c.created_at, md.minority_statements.c.id))).all()]
    merged = [dict(r._mapping) for r in (await tx.session.execute(
        sa.select(md.drafts.c.id, md.drafts.c.group_name).where(md.drafts.c.merged_into == draft_id)
        .order_by(md.drafts.c.created_at))).all()]
    return {"id": d.id, "assembly_id": d.assembly_id, "group": d.group_name, "status": d.status,
            "merged_into": d.merged_into, "version": d.version, "current": by_version[d.version],
            "versions": versions, "amendments": amendments, "minority_statements": statements,
            "merged_from": merged, "frozen": await final_list(tx, d.assembly_id) is not None}
