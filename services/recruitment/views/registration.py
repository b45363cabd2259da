"""Reads of registration: the registrations (with personal data; the API decides per role what
leaves), a member's own, the assembly a code belongs to, the registered strata values."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from services.recruitment import models as m
from services.recruitment import vault
from services.recruitment.views import code_matches, identity_fields, load_assembly
from shared.bus.outbox import Tx
from shared.problems import not_found


async def registrations(tx: Tx, assembly_id: uuid.UUID, respondent_id: uuid.UUID | None = None, *,
                        identities: bool = False) -> list[dict]:
    """Everyone who registered (or one of them); with `identities` (registrars, the person
    themself) their name, address and contact opened from the vault, None and `erased` where the
    vault's key is gone."""
    await load_assembly(tx, assembly_id)
    one = [m.respondents.c.id == respondent_id] if respondent_id is not None else []
    rows = (await tx.session.execute(
        sa.select(m.respondents.c.id, m.respondents.c.region, m.respondents.c.features,
                  m.respondents.c.consented_at, m.respondents.c.withdrawn_at, m.invitations.c.register_entry_id)
        .join(m.invitations, m.invitations.c.id == m.respondents.c.invitation_id)
        .where(m.respondents.c.assembly_id == assembly_id, *one).order_by(m.respondents.c.consented_at)
    )).mappings().all()
    people = await vault.read(tx, [r["register_entry_id"] for r in rows]) if identities else {}
    return [{**r, **identity_fields(people.get(r["register_entry_id"]), identities)} for r in rows]


async def own_registration(tx: Tx, assembly_id: uuid.UUID, member_id: uuid.UUID) -> dict:
    regs = await registrations(tx, assembly_id, member_id, identities=True)
    if not regs:
        raise not_found("registration")
    return regs[0]


async def assembly_of_code(tx: Tx, code_hash: str) -> uuid.UUID | None:
    """The assembly an unused invitation code belongs to (the registration page's first step)."""
    return (await tx.session.execute(
        sa.select(m.invitations.c.assembly_id).where(code_matches(code_hash),
                                                     m.invitations.c.used_at.is_(None)))).scalar()


async def registered_features(tx: Tx, assembly_id: uuid.UUID) -> list[dict]:
    """The answers (and region) of everyone registered and not withdrawn: no personal data."""
    rows = (await tx.session.execute(
        sa.select(m.respondents.c.features).where(m.respondents.c.assembly_id == assembly_id,
                                                  m.respondents.c.withdrawn_at.is_(None)))).scalars().all()
    return list(rows)
