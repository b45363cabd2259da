"""Publishing the handover report: a new immutable version, its documents hashed and announced."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid

import sqlalchemy as sa

from services.reporting import models as m
from services.reporting.domain.disclosure import public_figures
from services.reporting.domain.versions import changes
from services.reporting.views.report import render_documents
from shared.bus.outbox import Tx
from shared.events import contracts as ev


async def publish(tx: Tx, assembly_id: uuid.UUID, *, summary: dict, min_group: int, links: dict,
                  note: str = "") -> dict:
    """A new version of the report: its documents in Danish and English, HTML and PDF, exactly as
    rendered with their sha256, the public figures they were made from and what changed since the
    version before. Versions are never changed afterwards (the table refuses UPDATE and DELETE)."""
    # One publisher at a time per assembly, so two corrections cannot both become version n.
    await tx.session.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('report:' || :aid))"),
                             {"aid": str(assembly_id)})
    previous = (await tx.session.execute(
        sa.select(m.report_versions.c.version, m.report_versions.c.figures)
        .where(m.report_versions.c.assembly_id == assembly_id)
        .order_by(m.report_versions.c.version.desc()).limit(1))).first()
    figures = json.loads(json.dumps(public_figures(summary, min_group), default=str))
    version = 1 if previous is None else previous.version + 1
    corrects = None if previous is None else previous.version
    changed = [] if previous is None else changes(previous.figures, figures)
    # Seconds of CPU for a large assembly (WeasyPrint; docs/evaluation.md): in a thread, so that the
    # process still answers its probes and other requests meanwhile.
    documents = await asyncio.to_thread(render_documents, figures, min_group=min_group, links=links, number=version,
                                        corrects=corrects, note=note, changes=changed)
    hashes = {name: hashlib.sha256(body).hexdigest() for name, body in sorted(documents.items())}
    report_id = uuid.uuid4()
    await tx.session.execute(sa.insert(m.report_versions).values(
        assembly_id=assembly_id, version=version, report_id=report_id, note=note, figures=figures,
        changes=changed, html_da=documents["da.html"].decode(), html_en=documents["en.html"].decode(),
        pdf_da=documents["da.pdf"], pdf_en=documents["en.pdf"], hashes=hashes))
    await tx.emit(ev.ReportPublishedV2(assembly_id=assembly_id, report_id=report_id, version=version,
                                       corrects=corrects, documents=hashes), subject=assembly_id)
    await tx.audit("report.published", assembly_id, object_id=report_id,
                   details={"version": version, "corrects": corrects, "note": note, "sha256": hashes})
    return {"report_id": report_id, "version": version, "corrects": corrects, "sha256": hashes}
