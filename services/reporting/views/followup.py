"""Reads of the follow-up: the assembly's adopted recommendations (final ballots only) and the
authority's responses to each over time."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from services.reporting import models as m
from services.reporting.domain.followup import followup as domain_followup
from shared.bus.outbox import Tx
from shared.db import load_or_404
from shared.problems import not_found

_Q, _B = m.questions, m.ballots


def _adopted(assembly_id: uuid.UUID):
    return (sa.select(_Q.c.ballot_id, _Q.c.question_id, _Q.c.text, _B.c.title.label("ballot"))
            .join(_B, _B.c.ballot_id == _Q.c.ballot_id)
            .where(_Q.c.assembly_id == assembly_id, _Q.c.recommendation.is_(True), _Q.c.passed.is_(True),
                   _B.c.kind == "final"))  # a trial ballot's "adopted" is no recommendation


async def recommendation(tx: Tx, assembly_id: uuid.UUID, ballot_id: uuid.UUID, question_id: str) -> dict:
    """An adopted recommendation of the assembly (the ballot's question), or 404."""
    row = (await tx.session.execute(_adopted(assembly_id).where(
        _Q.c.ballot_id == ballot_id, _Q.c.question_id == question_id))).first()
    if row is None:
        raise not_found("adopted recommendation")
    return dict(row._mapping)


async def followup(tx: Tx, assembly_id: uuid.UUID, today) -> dict:
    """The adopted recommendations in the report's order, each with its responses over time."""
    a = await load_or_404(tx, m.assemblies, "assembly (no events seen for it yet)", id=assembly_id)
    recs = [dict(r._mapping) for r in (await tx.session.execute(
        _adopted(assembly_id).order_by(_B.c.title, _Q.c.ballot_id, _Q.c.position, _Q.c.question_id))).all()]
    rows = [dict(r._mapping) for r in (await tx.session.execute(
        sa.select(m.responses).where(m.responses.c.assembly_id == assembly_id))).all()]
    return {"assembly": {"id": a.id, "name": a.name}, **domain_followup(recs, rows, today)}
