"""Sessions' writes: the roster from sortition's events (shared/projections.py) and the commands
(schedule, record attendance, hold), one transaction each. Reads are in views.py."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.sessions import models as m
from services.sessions.domain.attendance import held_counts, unknown_members
from services.sessions.views import active_roster, load_session
from shared.bus.outbox import Tx
from shared.problems import conflict, invalid
from shared.events import contracts as ev
from shared.projections import panel_membership_handlers


HANDLERS = panel_membership_handlers(m.roster)


async def schedule(tx: Tx, assembly_id: uuid.UUID, *, title: str, starts_at: datetime, mode: str, phase: str,
                   duration_hours: float) -> uuid.UUID:
    session_id = uuid.uuid4()
    await tx.session.execute(
        sa.insert(m.sessions).values(id=session_id, assembly_id=assembly_id, title=title, starts_at=starts_at,
                                     mode=mode, phase=phase, duration_hours=duration_hours)
    )
    await tx.emit(ev.SessionScheduledV1(assembly_id=assembly_id, session_id=session_id, title=title,
                                        starts_at=starts_at, mode=mode, phase=phase, duration_hours=duration_hours),
                  subject=assembly_id)
    await tx.audit("session.scheduled", assembly_id, object_id=session_id, details={"phase": phase, "mode": mode})
    return session_id


async def record_attendance(tx: Tx, session_id: uuid.UUID, records: list[tuple[uuid.UUID, bool]]) -> int:
    s = await load_session(tx, session_id, lock=True)
    if s.held_at is not None:
        raise conflict("this session is already closed; attendance can no longer change")
    roster = await active_roster(tx, s.assembly_id)
    unknown = unknown_members((mid for mid, _ in records), roster)
    if unknown:
        raise invalid(f"{len(unknown)} member id(s) are not on this assembly's roster",
                      [{"field": "records.member_id", "problem": f"{u} is not a panel member"} for u in unknown[:20]])
    for member_id, present in records:
        await tx.session.execute(
            pg_insert(m.attendance).values(session_id=session_id, member_id=member_id, present=present)
            .on_conflict_do_update(index_elements=["session_id", "member_id"], set_={"present": present})
        )
        await tx.emit(ev.AttendanceRecordedV1(assembly_id=s.assembly_id, session_id=session_id, member_id=member_id,
                                              present=present), subject=s.assembly_id)
    await tx.audit("attendance.recorded", s.assembly_id, object_id=session_id,
                   details={"present": sum(p for _, p in records), "absent": sum(not p for _, p in records)})
    return len(records)


async def hold(tx: Tx, session_id: uuid.UUID) -> dict:
    s = await load_session(tx, session_id, lock=True)
    if s.held_at is not None:
        raise conflict("this session has already been closed")
    roster = await active_roster(tx, s.assembly_id)
    if not roster:
        raise conflict("the assembly has no panel yet; draw the panel before holding sessions")
    marks = dict(
        (await tx.session.execute(
            sa.select(m.attendance.c.member_id, m.attendance.c.present).where(m.attendance.c.session_id == session_id)
        )).all()
    )
    present, absent = held_counts(roster, marks)
    await tx.session.execute(sa.update(m.sessions).where(m.sessions.c.id == session_id)
                             .values(held_at=datetime.now(timezone.utc)))
    await tx.emit(ev.SessionHeldV1(assembly_id=s.assembly_id, session_id=session_id, present=present, absent=absent,
                                   duration_hours=s.duration_hours), subject=s.assembly_id)
    await tx.audit("session.held", s.assembly_id, object_id=session_id, details={"present": present, "absent": absent})
    return {"session_id": session_id, "present": present, "absent": absent}
