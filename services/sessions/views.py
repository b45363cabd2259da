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
