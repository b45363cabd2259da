"""Check-in's reads: how members were checked in at a session, its corrections, whether staff
opened its online check-in, who has left the panel, and a member's own sessions with their marks."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from services.sessions import models as m
from services.sessions.models import checkin as mc
from shared.bus.outbox import Tx


async def checkins_of(tx: Tx, session_id: uuid.UUID) -> dict[uuid.UUID, tuple[str, object]]:
    """member -> (how, when) of their last check-in at the session."""
    rows = await tx.session.execute(sa.select(mc.checkins.c.member_id, mc.checkins.c.how, mc.checkins.c.at)
                                    .where(mc.checkins.c.session_id == session_id))
    return {r.member_id: (r.how, r.at) for r in rows}


async def corrections_of(tx: Tx, session_id: uuid.UUID) -> list:
    """The session's corrections, the newest first."""
    c = mc.attendance_corrections.c
    return (await tx.session.execute(sa.select(mc.attendance_corrections).where(c.session_id == session_id)
                                     .order_by(c.id.desc()))).all()


async def online_opened(tx: Tx, session_id: uuid.UUID) -> bool:
    return (await tx.session.execute(sa.select(sa.literal(True)).where(
        mc.online_checkin.c.session_id == session_id))).scalar() is True


async def former_members(tx: Tx, assembly_id: uuid.UUID) -> set[uuid.UUID]:
    """Members who were on the panel and have been replaced."""
    rows = await tx.session.execute(sa.select(m.roster.c.member_id).where(
        m.roster.c.assembly_id == assembly_id, m.roster.c.active.is_(False)))
    return {r[0] for r in rows}


async def my_sessions(tx: Tx, assembly_id: uuid.UUID, member_id: uuid.UUID) -> list[dict]:
    """The assembly's sessions in time order with the member's mark (True, False, None) and whether
    staff opened the online check-in."""
    a, o = m.attendance.c, mc.online_checkin.c
    rows = (await tx.session.execute(
        sa.select(m.sessions, a.present, o.opened_at)
        .outerjoin(m.attendance, sa.and_(a.session_id == m.sessions.c.id, a.member_id == member_id))
        .outerjoin(mc.online_checkin, o.session_id == m.sessions.c.id)
        .where(m.sessions.c.assembly_id == assembly_id).order_by(m.sessions.c.starts_at))).all()
    return [{"id": r.id, "title": r.title, "starts_at": r.starts_at, "mode": r.mode,
             "duration_hours": r.duration_hours, "held": r.held_at is not None, "present": r.present,
             "opened": r.opened_at is not None} for r in rows]
