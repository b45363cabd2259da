"""Reads of the registration questionnaire: the version in use (or the default before any is
saved), its history, and whether it may still change (not once letters have gone out)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from services.recruitment import models as m
from services.recruitment.domain.questionnaire import default_config
from shared.bus.outbox import Tx

_Q = m.questionnaires.c


async def current(tx: Tx, assembly_id: uuid.UUID, strata: list[dict]) -> tuple[int, dict]:
    """(version, config) of the questionnaire in use; version 0 is the default (domain)."""
    row = (await tx.session.execute(
        sa.select(_Q.version, _Q.config).where(_Q.assembly_id == assembly_id).order_by(_Q.version.desc()).limit(1)
    )).first()
    return (row.version, row.config) if row else (0, default_config(strata))


async def versions(tx: Tx, assembly_id: uuid.UUID) -> list[dict]:
    """The saved versions, newest first: [{version, saved_at}]."""
    rows = await tx.session.execute(
        sa.select(_Q.version, _Q.saved_at).where(_Q.assembly_id == assembly_id).order_by(_Q.version.desc()))
    return [dict(r._mapping) for r in rows]


async def letters_out(tx: Tx, assembly_id: uuid.UUID) -> int:
    """How many invitations have gone out: from the first, the questionnaire is fixed."""
    return (await tx.session.execute(
        sa.select(sa.func.count()).select_from(m.invitations).where(m.invitations.c.assembly_id == assembly_id)
    )).scalar_one()
