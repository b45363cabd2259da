"""Reads of the waves: replies and letters per wave, returned letters' reasons."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from services.recruitment import models as m
from services.recruitment.views import stats
from services.recruitment.views.invitations import register_counts
from shared.bus.outbox import Tx

# ---- waves: what the second wave and the reminders are computed from ---------------------------


async def wave_counts(tx: Tx, assembly_id: uuid.UUID) -> dict:
    """Per region: letters delivered (sent, less the returned), registered (not withdrawn) and the
    people of the register not yet invited; and the assembly's returned letters, reminders sent,
    and invitations that could get a reminder (counts only)."""
    inv = m.invitations.c
    per_region = (await tx.session.execute(
        sa.select(inv.region, sa.func.count().filter(inv.undeliverable_at.is_(None)))
        .where(inv.assembly_id == assembly_id).group_by(inv.region))).all()
    totals = (await tx.session.execute(
        sa.select(sa.func.count().filter(inv.undeliverable_at.is_not(None)),
                  sa.func.count().filter(inv.reminded_at.is_not(None)),
                  sa.func.count().filter(inv.used_at.is_(None), inv.undeliverable_at.is_(None),
                                         inv.reminded_at.is_(None)))
        .where(inv.assembly_id == assembly_id))).one()
    register = await register_counts(tx, assembly_id)
    stats_ = await stats(tx, assembly_id)
    return {
        "delivered": dict(per_region),
        "registered": {r: x["registrations"] for r, x in stats_["per_region"].items()},
        "available": {r: x["imported"] - x["invited"] for r, x in register.items()},
        "returned": totals[0], "reminded": totals[1], "to_remind": totals[2],
    }


async def returned_reasons(tx: Tx, assembly_id: uuid.UUID) -> list[tuple[str, int]]:
    """Returned letters per reason, most first (no personal data)."""
    inv = m.invitations.c
    reason = sa.func.coalesce(inv.undeliverable_reason, "")
    rows = (await tx.session.execute(
        sa.select(reason, sa.func.count())
        .where(inv.assembly_id == assembly_id, inv.undeliverable_at.is_not(None))
        .group_by(reason).order_by(sa.func.count().desc()))).all()
    return [(reason, n) for reason, n in rows]
