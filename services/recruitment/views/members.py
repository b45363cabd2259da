"""Reads of panel members: their selection letters, and what they need to take part."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from services.recruitment import models as m
from services.recruitment import vault
from services.recruitment.domain.questionnaire import NEEDS
from services.recruitment.views import identity_fields, load_assembly
from services.recruitment.views import questionnaire as qv
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


async def panel_needs(tx: Tx, assembly_id: uuid.UUID, *, detail: bool) -> dict:
    """What the panel's members (active, not withdrawn) said at registration that they need if drawn
    — language, accessibility, diet, childcare, opened from the vault — for planning the sessions:
    how many need each (any staff role that plans sessions), and who needs what only with `detail`
    (registrars: a need can say something about a person's health). `asked`: the needs the
    questionnaire asks now, and any a member answered in an earlier version."""
    assembly = await load_assembly(tx, assembly_id)
    rows = (await tx.session.execute(
        sa.select(m.members.c.member_id, m.respondents.c.region, m.invitations.c.register_entry_id)
        .join(m.respondents, m.respondents.c.id == m.members.c.member_id)
        .join(m.invitations, m.invitations.c.id == m.respondents.c.invitation_id)
        .where(m.members.c.assembly_id == assembly_id, m.members.c.active, m.respondents.c.withdrawn_at.is_(None))
    )).all()
    people = await vault.read(tx, [r.register_entry_id for r in rows])
    counts = dict.fromkeys(NEEDS, 0)
    erased, with_needs, who = 0, 0, []
    for r in rows:
        person = people[r.register_entry_id]
        if person is None:
            erased += 1
            continue
        needs = {k: x for k, x in (person.needs or {}).items() if k in counts and x}
        for k in needs:
            counts[k] += 1
        if needs:
            with_needs += 1
            if detail:
                who.append({"member_id": r.member_id, "name": person.name, "region": r.region,
                            "needs": {k: needs[k] for k in NEEDS if k in needs}})
    asked = set((await qv.current(tx, assembly_id, assembly.strata))[1].get("needs", []))
    asked |= {k for k, n in counts.items() if n}
    return {"members": len(rows), "erased": erased, "with_needs": with_needs,
            "counts": {k: counts[k] for k in NEEDS if k in asked},
            "people": sorted(who, key=lambda x: (x["region"], x["name"])) if detail else None}
