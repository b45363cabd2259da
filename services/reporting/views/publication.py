"""Reads of the published report: whether any version is published, the versions (without their
documents), and one document of a version exactly as it was hashed."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from services.reporting import models as m
from shared.bus.outbox import Tx
from shared.problems import not_found


async def published(tx: Tx, assembly_id: uuid.UUID) -> bool:
    return (await tx.session.execute(
        sa.select(sa.func.count()).where(m.report_versions.c.assembly_id == assembly_id))).scalar_one() > 0


_RV = m.report_versions
DOCUMENTS = {"da.html": _RV.c.html_da, "en.html": _RV.c.html_en, "da.pdf": _RV.c.pdf_da, "en.pdf": _RV.c.pdf_en}


async def published_reports(tx: Tx, assembly_id: uuid.UUID) -> list[dict]:
    """The versions of the report published so far, the newest first (without their documents)."""
    rows = (await tx.session.execute(
        sa.select(_RV.c.version, _RV.c.report_id, _RV.c.published_at, _RV.c.note, _RV.c.changes, _RV.c.hashes)
        .where(_RV.c.assembly_id == assembly_id).order_by(_RV.c.version.desc()))).all()
    return [dict(r._mapping) for r in rows]


async def published_document(tx: Tx, assembly_id: uuid.UUID, name: str, version: int | None = None) -> tuple[int, bytes]:
    """(version, the document `name` exactly as it was hashed) of `version`, or of the newest."""
    query = sa.select(_RV.c.version, DOCUMENTS[name]).where(_RV.c.assembly_id == assembly_id)
    query = query.where(_RV.c.version == version) if version else query.order_by(_RV.c.version.desc()).limit(1)
    row = (await tx.session.execute(query)).first()
    if row is None:
        raise not_found("published report (none published yet)" if version is None else f"report version {version}")
    if row[1] is None:
        raise not_found(f"document {name} of version {row.version} (published before PDFs and both languages)")
    body = row[1]
    return row.version, body.encode() if isinstance(body, str) else bytes(body)
