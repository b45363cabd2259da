"""Writes for panel members: the panel-membership event handlers keep who may get a selection
letter; the letters' login codes are issued, reissued and exchanged at sign-in."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import sqlalchemy as sa

from services.recruitment import models as m
from services.recruitment import vault
from services.recruitment import views as v
from services.recruitment.domain.codes import UnknownCode, code_hash, new_code, normalise
from shared.bus.outbox import Tx
from shared.problems import Forbidden, conflict, not_found
from shared.projections import panel_membership_handlers

# ---- panel members: selection letters with login codes, and member login ----------------------

HANDLERS = panel_membership_handlers(m.members)


async def issue_member_letters(tx: Tx, assembly_id: uuid.UUID, only: uuid.UUID | None = None) -> list[dict]:
    """A login code for every active panel member who has none yet (first the panel, later the
    replacements). The codes are returned once, for the letters, and stored only as hashes."""
    await v.load_assembly(tx, assembly_id)
    rows = (await tx.session.execute(
        sa.select(m.members.c.member_id, m.invitations.c.register_entry_id, m.respondents.c.region)
        .join(m.respondents, m.respondents.c.id == m.members.c.member_id)
        .join(m.invitations, m.invitations.c.id == m.respondents.c.invitation_id)
        .join(m.identities, sa.and_(m.identities.c.entry_id == m.invitations.c.register_entry_id,
                                    m.identities.c.erased_at.is_(None)))  # not erased
        .outerjoin(m.member_codes, m.member_codes.c.member_id == m.members.c.member_id)
        .where(m.members.c.assembly_id == assembly_id, m.members.c.active, m.member_codes.c.member_id.is_(None),
               m.respondents.c.withdrawn_at.is_(None),
               *([m.members.c.member_id == only] if only is not None else []))
        .with_for_update(of=m.members)
    )).all()
    people = await vault.read(tx, [r.register_entry_id for r in rows])
    letters = []
    for r in sorted(rows, key=lambda r: (r.region, people[r.register_entry_id].name)):
        p = people[r.register_entry_id]
        code = new_code()
        await tx.session.execute(sa.insert(m.member_codes).values(member_id=r.member_id, assembly_id=assembly_id,
                                                                  code_hash=code_hash(normalise(code))))
        letters.append({"member_id": r.member_id, "name": p.name, "address": p.address, "contact": p.contact,
                        "email": p.email, "phone": p.phone, "region": r.region, "code": code})
    if only is None:
        await tx.audit("member-letters.issued", assembly_id, details={"letters": len(letters)})
    return letters


async def reissue_member_letter(tx: Tx, assembly_id: uuid.UUID, member_id: uuid.UUID) -> dict:
    """A member lost their letter: a new login code replaces the old one, which stops working."""
    row = (await tx.session.execute(
        sa.select(m.members.c.active).where(m.members.c.assembly_id == assembly_id,
                                            m.members.c.member_id == member_id).with_for_update())).first()
    if row is None:
        raise not_found("panel member")
    if not row.active:
        raise conflict("this person is no longer on the panel, so they get no login code", code="not_a_member")
    await tx.session.execute(sa.delete(m.member_codes).where(m.member_codes.c.member_id == member_id))
    await tx.audit("member-letter.reissued", assembly_id, object_id=member_id)
    letters = await issue_member_letters(tx, assembly_id, only=member_id)
    if not letters:
        raise conflict("this member's name and address were erased, so no letter can be printed", code="erased")
    return letters[0]


async def member_login(tx: Tx, *, code: str) -> tuple[uuid.UUID, uuid.UUID]:
    norm = normalise(code)
    row = None if norm is None else (await tx.session.execute(
        sa.select(m.member_codes).where(m.member_codes.c.code_hash == code_hash(norm)).with_for_update())).first()
    if row is None:
        raise UnknownCode("this login code is not recognised: check it against your selection letter")
    active = (await tx.session.execute(
        sa.select(m.members.c.active).where(m.members.c.assembly_id == row.assembly_id,
                                            m.members.c.member_id == row.member_id))).scalar()
    if not active:
        raise Forbidden("you are no longer on this assembly's panel, so this code no longer logs in",
                        code="not_a_member")
    await tx.session.execute(sa.update(m.member_codes).where(m.member_codes.c.member_id == row.member_id)
                             .values(last_login_at=datetime.now(timezone.utc)))
    await tx.audit("member.logged-in", row.assembly_id, object_id=row.member_id, actor=f"member:{row.member_id}")
    return row.assembly_id, row.member_id
