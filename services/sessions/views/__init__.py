"""Sessions' reads: the roster (from sortition's events), an assembly's agenda, one session."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from services.sessions import models as m
from shared.bus.outbox import Tx
from shared.db import load_or_404


async def active_roster(tx: Tx, assembly_id: uuid.UUID) -> set[uuid.UUID]:
    rows = await tx.session.execute(
        sa.select(m.roster.c.member_id).where(m.roster.c.assembly_id == assembly_id, m.roster.c.active.is_(True))
    )
    return {r[0] for r in rows}


async def load_session(tx: Tx, session_id: uuid.UUID, *, lock: bool = False):
    return await load_or_404(tx, m.sessions, "session", lock=lock, id=session_id)


async def agenda(tx: Tx, assembly_id: uuid.UUID) -> list[dict]:
    """The assembly's sessions in time order, each with whether it was held."""
    rows = (await tx.session.execute(
        sa.select(m.sessions).where(m.sessions.c.assembly_id == assembly_id).order_by(m.sessions.c.starts_at))).all()
    return [{"id": r.id, "title": r.title, "starts_at": r.starts_at, "mode": r.mode, "phase": r.phase,
             "duration_hours": r.duration_hours, "held": r.held_at is not None} for r in rows]


async def attendance_marks(tx: Tx, session_id: uuid.UUID) -> dict[uuid.UUID, bool]:
    """Who has been marked present (True) or absent (False) at a session so far."""
    rows = await tx.session.execute(
        sa.select(m.attendance.c.member_id, m.attendance.c.present).where(m.attendance.c.session_id == session_id))
    return dict(rows.all())


async def attendance_counts(tx: Tx, assembly_id: uuid.UUID) -> dict[uuid.UUID, dict[str, int]]:
    """Per session of the assembly: how many are marked present and absent so far."""
    rows = await tx.session.execute(
        sa.select(m.attendance.c.session_id, sa.func.count().filter(m.attendance.c.present),
                  sa.func.count().filter(sa.not_(m.attendance.c.present)))
        .join(m.sessions, m.sessions.c.id == m.attendance.c.session_id)
        .where(m.sessions.c.assembly_id == assembly_id).group_by(m.attendance.c.session_id))
    return {sid: {"present": p, "absent": a} for sid, p, a in rows.all()}
