"""Recruitment's reads, one module per feature; here an assembly, its counts, the list of
assemblies, and the pieces the others share (how a code matches an invitation, a person's fields
as screens show them)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from services.recruitment import models as m
from shared.bus.outbox import Tx
from shared.db import load_or_404


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


def identity_fields(person, opened: bool = True) -> dict:
    """A person's name, address and contact details as screens show them (`contact`: e-mail and
    phone as one line; `erased` once the key is gone)."""
    if not opened:
        return {}
    if person is None:
        return {"name": None, "address": None, "contact": None, "email": None, "phone": None, "erased": True}
    return {"name": person.name, "address": person.address, "contact": person.contact, "email": person.email,
            "phone": person.phone, "erased": False}


def code_matches(hashed: str):
    """The invitation a code opens: the first letter's code, or the reminder's (both work)."""
    return sa.or_(m.invitations.c.code_hash == hashed, m.invitations.c.reminder_code_hash == hashed)


# ---- for the staff's pages ---------------------------------------------------------------------


async def all_assemblies(tx: Tx) -> list[dict]:
    """Every assembly, newest first (the operator's list)."""
    rows = (await tx.session.execute(
        sa.select(m.assemblies.c.id, m.assemblies.c.name, m.assemblies.c.panel_size, m.assemblies.c.created_at)
        .order_by(m.assemblies.c.created_at.desc()))).mappings().all()
    return [dict(r) for r in rows]
