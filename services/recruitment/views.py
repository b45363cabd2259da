"""Recruitment's reads: an assembly, its invitation and registration counts, and the
registrations (with personal data; the API decides per role what leaves)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from services.recruitment import models as m
from shared.bus.outbox import Tx
from shared.db import load_or_404
from shared.problems import not_found


async def load_assembly(tx: Tx, assembly_id: uuid.UUID):
    return await load_or_404(tx, m.assemblies, "assembly", id=assembly_id)


async def stats(tx: Tx, assembly_id: uuid.UUID) -> dict:
    await load_assembly(tx, assembly_id)
    inv = dict(
        (await tx.session.execute(
            sa.select(m.invitations.c.region, sa.func.count()).where(m.invitations.c.assembly_id == assembly_id)
            .group_by(m.invitations.c.region))).all()
    )
    reg = dict(
        (await tx.session.execute(
            sa.select(m.respondents.c.region, sa.func.count()).where(m.respondents.c.assembly_id == assembly_id,
                                                                     m.respondents.c.withdrawn_at.is_(None))
            .group_by(m.respondents.c.region))).all()
    )
    return {
        "invitations": sum(inv.values()),
        "registrations": sum(reg.values()),
        "per_region": {r: {"invitations": inv.get(r, 0), "registrations": reg.get(r, 0)} for r in sorted(inv)},
    }


async def registrations(tx: Tx, assembly_id: uuid.UUID, respondent_id: uuid.UUID | None = None) -> list[dict]:
    """Everyone who registered (or one of them), with personal data; the API decides per role what
    leaves."""
    await load_assembly(tx, assembly_id)
    one = [m.respondents.c.id == respondent_id] if respondent_id is not None else []
    rows = (await tx.session.execute(
        sa.select(m.respondents.c.id, m.respondents.c.region, m.respondents.c.features, m.respondents.c.contact,
                  m.respondents.c.consented_at, m.respondents.c.withdrawn_at, m.register_entries.c.name,
                  m.register_entries.c.address)
        .join(m.invitations, m.invitations.c.id == m.respondents.c.invitation_id)
        .join(m.register_entries, m.register_entries.c.id == m.invitations.c.register_entry_id)
        .where(m.respondents.c.assembly_id == assembly_id, *one).order_by(m.respondents.c.consented_at)
    )).mappings().all()
    return [dict(r) for r in rows]


async def own_registration(tx: Tx, assembly_id: uuid.UUID, member_id: uuid.UUID) -> dict:
    regs = await registrations(tx, assembly_id, member_id)
    if not regs:
        raise not_found("registration")
    return regs[0]


async def assembly_of_code(tx: Tx, code_hash: str) -> uuid.UUID | None:
    """The assembly an unused invitation code belongs to (the registration page's first step)."""
    return (await tx.session.execute(
        sa.select(m.invitations.c.assembly_id).where(m.invitations.c.code_hash == code_hash,
                                                     m.invitations.c.used_at.is_(None)))).scalar()
