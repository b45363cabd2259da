"""Check-in's writes, one transaction each: a member checked in at the door by their personal code,
a member checking themselves in online, staff opening a session's online check-in early, and a
staff correction of a mark with its reason (audited; the note stays out of the audit trail), also
after the session is closed (the attendance sheet's late changes come this way)."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.sessions import models as m
from services.sessions.domain.checkin import (REASONS, correction_problems, member_with_code, online_refusal,
                                              read_code)
from services.sessions.models import checkin as mc
from services.sessions.views import active_roster, load_session
from services.sessions.views.checkin import former_members, online_opened
from shared.bus.outbox import Tx
from shared.events import contracts as ev
from shared.problems import Conflict, Forbidden, InvalidInput, conflict

ONLINE_REFUSALS = {
    "session_held": "this session is closed; check-in is over",
    "not_online": "this session takes place at the venue only: check in at the door with your code",
    "not_open_yet": "online check-in opens 30 minutes before the session starts",
    "over": "this session is over; ask the secretariat if you took part",
}


async def _open_session(tx: Tx, session_id: uuid.UUID):
    s = await load_session(tx, session_id, lock=True)
    if s.held_at is not None:
        raise conflict("this session is already closed; attendance can no longer change", code="session_held")
    return s


async def _previous(tx: Tx, session_id: uuid.UUID, member_id: uuid.UUID) -> bool | None:
    return (await tx.session.execute(sa.select(m.attendance.c.present).where(
        m.attendance.c.session_id == session_id, m.attendance.c.member_id == member_id))).scalar()


async def mark(tx: Tx, s, member_id: uuid.UUID, present: bool, how: str, now: datetime) -> bool | None:
    """Record a member's mark (attendance-recorded) and, when they arrive, their check-in
    (member-checked-in); returns the mark before."""
    before = await _previous(tx, s.id, member_id)
    await tx.session.execute(
        pg_insert(m.attendance).values(session_id=s.id, member_id=member_id, present=present)
        .on_conflict_do_update(index_elements=["session_id", "member_id"], set_={"present": present}))
    await tx.emit(ev.AttendanceRecordedV1(assembly_id=s.assembly_id, session_id=s.id, member_id=member_id,
                                          present=present), subject=s.assembly_id)
    if present and before is not True:
        await tx.session.execute(
            pg_insert(mc.checkins).values(session_id=s.id, member_id=member_id, how=how, at=now)
            .on_conflict_do_update(index_elements=["session_id", "member_id"], set_={"how": how, "at": now}))
        await tx.emit(ev.MemberCheckedInV1(assembly_id=s.assembly_id, session_id=s.id, member_id=member_id, how=how,
                                           at=now), subject=s.assembly_id)
    return before


async def check_in_by_code(tx: Tx, session_id: uuid.UUID, raw_code: str, *, key: bytes) -> dict:
    """The door: the member whose personal code this is arrives. Checking in twice is harmless."""
    code = read_code(raw_code)
    if code is None:
        raise InvalidInput("a check-in code has 10 letters and digits, for example K7QM4-XRT2P",
                           code="code_unreadable", details=[{"field": "code", "problem": "not a check-in code"}])
    s = await _open_session(tx, session_id)
    member_id = member_with_code(key, s.assembly_id, await active_roster(tx, s.assembly_id), code)
    if member_id is None:
        if member_with_code(key, s.assembly_id, await former_members(tx, s.assembly_id), code) is not None:
            raise Conflict("this code belongs to a member who has left the panel", code="member_left")
        raise InvalidInput("no member of this assembly has this check-in code", code="code_unknown",
                           details=[{"field": "code", "problem": "unknown code"}])
    if await _previous(tx, s.id, member_id) is True:
        return {"member_id": member_id, "already": True}
    await mark(tx, s, member_id, True, "code", datetime.now(timezone.utc))
    await tx.audit("attendance.checked-in", s.assembly_id, object_id=session_id,
                   details={"member": str(member_id), "how": "code"})
    return {"member_id": member_id, "already": False}


async def check_in_online(tx: Tx, session_id: uuid.UUID, member_id: uuid.UUID) -> dict:
    """A member checks themselves in to a digital or hybrid session while its online check-in is open."""
    s = await load_session(tx, session_id, lock=True)
    now = datetime.now(timezone.utc)
    refusal = online_refusal(mode=s.mode, starts_at=s.starts_at, duration_hours=s.duration_hours, now=now,
                             opened=await online_opened(tx, session_id), held=s.held_at is not None)
    if refusal:
        raise Conflict(ONLINE_REFUSALS[refusal], code=refusal)
    if member_id not in await active_roster(tx, s.assembly_id):
        raise Forbidden("only members of the panel check in to its sessions", code="not_a_member")
    if await _previous(tx, session_id, member_id) is True:
        return {"member_id": member_id, "already": True}
    await mark(tx, s, member_id, True, "online", now)
    await tx.audit("attendance.checked-in", s.assembly_id, object_id=session_id,
                   details={"member": str(member_id), "how": "online"})
    return {"member_id": member_id, "already": False}


async def open_online(tx: Tx, session_id: uuid.UUID) -> None:
    """Staff open a digital or hybrid session's online check-in now (before its usual window)."""
    s = await _open_session(tx, session_id)
    if s.mode == "physical":
        raise conflict("this session takes place at the venue only; it has no online check-in", code="not_online")
    await tx.session.execute(pg_insert(mc.online_checkin).values(session_id=session_id,
                                                                  opened_at=datetime.now(timezone.utc))
                             .on_conflict_do_nothing())
    await tx.audit("online-check-in.opened", s.assembly_id, object_id=session_id)


async def correct(tx: Tx, session_id: uuid.UUID, member_id: uuid.UUID, *, present: bool, reason: str, note: str,
                  actor: str) -> dict:
    """Staff change a member's mark, giving a reason (and a note, needed for "other"). A closed
    session's marks change only this way: the audit trail says the change came after the close."""
    problems = correction_problems(reason, note)
    if problems:
        raise InvalidInput("give one of the reasons " + ", ".join(REASONS) +
                           ", and a note of at most 200 characters when the reason is other",
                           details=[{"field": f, "problem": k} for f, k in problems])
    s = await load_session(tx, session_id, lock=True)
    if member_id not in await active_roster(tx, s.assembly_id):
        raise InvalidInput("this member is not on the assembly's panel",
                           details=[{"field": "member_id", "problem": "not a panel member"}])
    before = await _previous(tx, session_id, member_id)
    if before is present:
        raise conflict("the member is already marked " + ("present" if present else "absent"), code="unchanged")
    now = datetime.now(timezone.utc)
    await mark(tx, s, member_id, present, "correction", now)
    if not present:
        await tx.session.execute(sa.delete(mc.checkins).where(mc.checkins.c.session_id == session_id,
                                                              mc.checkins.c.member_id == member_id))
    await tx.session.execute(sa.insert(mc.attendance_corrections).values(
        session_id=session_id, member_id=member_id, present_before=before, present=present, reason=reason,
        note=(note or "").strip(), actor=actor, at=now))
    details = {"member": str(member_id), "from": before, "to": present, "reason": reason}
    if s.held_at is not None:
        details["after_close"] = True
    await tx.audit("attendance.corrected", s.assembly_id, object_id=session_id, details=details)
    return {"member_id": member_id, "present_before": before, "present": present}
