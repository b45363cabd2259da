"""Reads of panel members' selection letters."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from services.recruitment import models as m
from services.recruitment import vault
from services.recruitment.views import identity_fields
from shared.bus.outbox import Tx
from shared.problems import not_found


async def member_letters(tx: Tx, assembly_id: uuid.UUID, only: uuid.UUID | None = None) -> list[dict]:
    """The panel as recruitment knows it, with each member's name and region and whether their
    login code was issued and used (personal data: for registrars)."""
    rows = (await tx.session.execute(
        sa.select(m.members.c.member_id, m.members.c.active, m.respondents.c.region, m.invitations.c.register_entry_id,
                  m.member_codes.c.issued_at, m.member_codes.c.last_login_at)
        .join(m.respondents, m.respondents.c.id == m.members.c.member_id)
        .join(m.invitations, m.invitations.c.id == m.respondents.c.invitation_id)
        .outerjoin(m.member_codes, m.member_codes.c.member_id == m.members.c.member_id)
        .where(m.members.c.assembly_id == assembly_id, *([m.members.c.member_id == only] if only else [])))
    ).mappings().all()
    people = await vault.read(tx, [r["register_entry_id"] for r in rows])
    out = [{**r, **identity_fields(people[r["register_entry_id"]])} for r in rows]
    return sorted(out, key=lambda r: (not r["active"], r["region"], r["name"] is None, r["name"] or ""))


async def letter_counts(tx: Tx, assembly_id: uuid.UUID) -> dict[str, int]:
    """How many are on the panel now, and how many of them have a selection letter (counts only)."""
    row = (await tx.session.execute(
        sa.select(sa.func.count(), sa.func.count(m.member_codes.c.member_id))
        .select_from(m.members)
        .outerjoin(m.member_codes, m.member_codes.c.member_id == m.members.c.member_id)
        .where(m.members.c.assembly_id == assembly_id, m.members.c.active))).one()
    return {"panel": row[0], "letters": row[1]}


async def member_letter(tx: Tx, assembly_id: uuid.UUID, member_id: uuid.UUID) -> dict:
    found = await member_letters(tx, assembly_id, only=member_id)
    if not found:
        raise not_found("panel member")
    return found[0]
