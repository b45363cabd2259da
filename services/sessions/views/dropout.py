"""Attendance over an assembly's sessions, for the drop-out rule and the composition chart: the
sessions held, every mark, when replacements joined, the rule's number, the replacement requests
made, the quotas and members' strata."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from services.sessions import models as m
from services.sessions.domain.dropout import DEFAULT_MISSED_IN_A_ROW, HeldSession, histories
from services.sessions.models import checkin as mc
from services.sessions.models import tables as mt
from services.sessions.views import active_roster
from shared.bus.outbox import Tx


async def rule(tx: Tx, assembly_id: uuid.UUID) -> int:
    n = (await tx.session.execute(sa.select(mc.dropout_rules.c.missed_in_a_row).where(
        mc.dropout_rules.c.assembly_id == assembly_id))).scalar()
    return n or DEFAULT_MISSED_IN_A_ROW


async def held_sessions(tx: Tx, assembly_id: uuid.UUID) -> list[HeldSession]:
    rows = await tx.session.execute(sa.select(m.sessions.c.id, m.sessions.c.held_at).where(
        m.sessions.c.assembly_id == assembly_id, m.sessions.c.held_at.is_not(None)).order_by(m.sessions.c.held_at))
    return [HeldSession(r.id, r.held_at) for r in rows]


async def marks(tx: Tx, assembly_id: uuid.UUID) -> dict[tuple[uuid.UUID, uuid.UUID], bool]:
    """(session, member) -> present, over all the assembly's sessions."""
    rows = await tx.session.execute(
        sa.select(m.attendance.c.session_id, m.attendance.c.member_id, m.attendance.c.present)
        .join(m.sessions, m.sessions.c.id == m.attendance.c.session_id).where(m.sessions.c.assembly_id == assembly_id))
    return {(r.session_id, r.member_id): r.present for r in rows}


async def joined(tx: Tx, assembly_id: uuid.UUID) -> dict:
    rows = await tx.session.execute(sa.select(mc.member_joined.c.member_id, mc.member_joined.c.at).where(
        mc.member_joined.c.assembly_id == assembly_id))
    return dict(rows.all())


async def requested(tx: Tx, assembly_id: uuid.UUID) -> dict[uuid.UUID, object]:
    """Members a replacement was requested for: member -> when."""
    rows = await tx.session.execute(sa.select(mc.replacement_requests.c.member_id,
                                              mc.replacement_requests.c.requested_at).where(
        mc.replacement_requests.c.assembly_id == assembly_id))
    return dict(rows.all())


async def member_histories(tx: Tx, assembly_id: uuid.UUID, roster=None):
    """(the sessions held, each roster member's history); `roster` defaults to the panel now."""
    held = await held_sessions(tx, assembly_id)
    roster = sorted(roster if roster is not None else await active_roster(tx, assembly_id), key=str)
    return held, histories(roster, held, await marks(tx, assembly_id), await joined(tx, assembly_id))


async def quotas(tx: Tx, assembly_id: uuid.UUID):
    return (await tx.session.execute(sa.select(mc.assembly_quotas).where(
        mc.assembly_quotas.c.assembly_id == assembly_id))).first()


async def features(tx: Tx, assembly_id: uuid.UUID) -> dict[uuid.UUID, dict]:
    rows = await tx.session.execute(sa.select(mt.member_strata.c.member_id, mt.member_strata.c.features).where(
        mt.member_strata.c.assembly_id == assembly_id))
    return dict(rows.all())


async def sessions_with_arrivals(tx: Tx, assembly_id: uuid.UUID) -> list[dict]:
    """The sessions at which someone is marked present, in time order, with who was present."""
    rows = (await tx.session.execute(
        sa.select(m.sessions.c.id, m.sessions.c.title, m.sessions.c.starts_at, m.sessions.c.held_at,
                  m.attendance.c.member_id)
        .join(m.attendance, m.attendance.c.session_id == m.sessions.c.id)
        .where(m.sessions.c.assembly_id == assembly_id, m.attendance.c.present.is_(True))
        .order_by(m.sessions.c.starts_at, m.sessions.c.id))).all()
    out: dict[uuid.UUID, dict] = {}
    for r in rows:
        out.setdefault(r.id, {"id": r.id, "title": r.title, "starts_at": r.starts_at, "held": r.held_at is not None,
                              "present": []})["present"].append(r.member_id)
    return list(out.values())
