"""Places and stipends (writes, one transaction each): a member confirms or declines their place
(a decline asks sortition for a replacement: place-declined), the assembly's rates, the sessions
and attendance from sessions' events (the ledger's source), members' claims with receipts, the
four-eyes approvals, and payment exports. Reads are in views/stipends.py; docs/stipends.md."""

from __future__ import annotations

import csv
import hashlib
import io
import uuid
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.recruitment import models as m
from services.recruitment.domain import stipends as d
from services.recruitment.domain.places import answer_place
from services.recruitment.views import stipends as v
from shared.bus.outbox import Tx
from shared.events import contracts as ev
from shared.events.envelope import Envelope
from shared.problems import Forbidden, conflict, invalid, not_found


def _now() -> datetime:
    return datetime.now(timezone.utc)


# ---- a member's place --------------------------------------------------------------------------


async def answer(tx: Tx, assembly_id: uuid.UUID, member_id: uuid.UUID, value: str) -> dict:
    """The member confirms (`confirmed`) or declines (`declined`) their place."""
    if not await v.is_active_member(tx, assembly_id, member_id):
        raise Forbidden("you are not on this assembly's panel (any more)", code="not_a_member")
    current = (await tx.session.execute(sa.select(m.places.c.answer).where(m.places.c.member_id == member_id)
                                        .with_for_update())).scalar()
    value = answer_place(current, value)
    now = _now()
    await tx.session.execute(pg_insert(m.places).values(member_id=member_id, assembly_id=assembly_id, answer=value,
                                                        answered_at=now)
                             .on_conflict_do_update(index_elements=["member_id"],
                                                    set_={"answer": value, "answered_at": now}))
    if value == "declined":
        await tx.emit(ev.PlaceDeclinedV1(assembly_id=assembly_id, member_id=member_id), subject=assembly_id)
    await tx.audit(f"place.{value}", assembly_id, object_id=member_id, actor=f"member:{member_id}")
    return {"answer": value, "answered_at": now}


# ---- sessions' events: the ledger's source -----------------------------------------------------


async def on_session_scheduled(tx: Tx, event: Envelope, p: ev.SessionScheduledV1 | ev.SessionScheduledV2) -> None:
    stmt = pg_insert(m.stipend_sessions).values(session_id=p.session_id, assembly_id=p.assembly_id, title=p.title,
                                                starts_at=p.starts_at)
    await tx.session.execute(stmt.on_conflict_do_update(index_elements=["session_id"],
                                                        set_={"title": p.title, "starts_at": p.starts_at}))


async def on_attendance_recorded(tx: Tx, event: Envelope, p: ev.AttendanceRecordedV1) -> None:
    # One topic keyed by the assembly: a member's marks arrive in order, the last one counts.
    await tx.session.execute(pg_insert(m.stipend_sessions).values(session_id=p.session_id, assembly_id=p.assembly_id)
                             .on_conflict_do_nothing())
    stmt = pg_insert(m.stipend_attendance).values(session_id=p.session_id, member_id=p.member_id,
                                                  assembly_id=p.assembly_id, present=p.present)
    await tx.session.execute(stmt.on_conflict_do_update(index_elements=["session_id", "member_id"],
                                                        set_={"present": p.present}))


async def on_session_held(tx: Tx, event: Envelope, p: ev.SessionHeldV1) -> None:
    """Attendance is final: the session pays its rate as it is now to those present."""
    rate = (await v.rates(tx, p.assembly_id)).session_ore
    stmt = pg_insert(m.stipend_sessions).values(session_id=p.session_id, assembly_id=p.assembly_id,
                                                held_at=event.time, rate_ore=rate, present=p.present)
    await tx.session.execute(stmt.on_conflict_do_update(
        index_elements=["session_id"], set_={"held_at": event.time, "rate_ore": rate, "present": p.present},
        where=m.stipend_sessions.c.held_at.is_(None)))


HANDLERS = {
    "sessions.session-scheduled.v1": on_session_scheduled,
    "sessions.session-scheduled.v2": on_session_scheduled,
    "sessions.attendance-recorded.v1": on_attendance_recorded,
    "sessions.session-held.v1": on_session_held,
}


# ---- rates and claims --------------------------------------------------------------------------


async def set_rates(tx: Tx, assembly_id: uuid.UUID, rates: d.Rates) -> d.Rates:
    """What the assembly pays from now on; sessions already held keep the rate they were held at."""
    problems = d.check_rates(rates)
    if problems:
        raise invalid("the rates must be whole numbers of øre", problems)
    values = {"session_ore": rates.session_ore, "travel_cap_ore": rates.travel_cap_ore,
              "childcare_cap_ore": rates.childcare_cap_ore, "updated_at": _now()}
    await tx.session.execute(pg_insert(m.stipend_rates).values(assembly_id=assembly_id, **values)
                             .on_conflict_do_update(index_elements=["assembly_id"], set_=values))
    await tx.audit("stipend.rates-set", assembly_id, object_id=assembly_id,
                   details={k: v for k, v in values.items() if k != "updated_at"})
    return rates


async def submit_claim(tx: Tx, assembly_id: uuid.UUID, member_id: uuid.UUID, *, session_id: uuid.UUID, kind: str,
                       amount_ore: int, receipt: bytes) -> uuid.UUID:
    session = (await tx.session.execute(sa.select(m.stipend_sessions.c.assembly_id).where(
        m.stipend_sessions.c.session_id == session_id))).scalar()
    if session != assembly_id:
        raise not_found("session")
    await tx.session.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"claim:{member_id}"})
    earlier = (await tx.session.execute(sa.select(sa.func.count()).where(
        m.stipend_claims.c.member_id == member_id, m.stipend_claims.c.session_id == session_id,
        m.stipend_claims.c.kind == kind, m.stipend_claims.c.status != "rejected"))).scalar_one()
    media = d.receipt_type(receipt)
    d.check_claim(await v.rates(tx, assembly_id), kind=kind, amount_ore=amount_ore,
                  present=await v.present_at(tx, session_id, member_id), earlier=earlier, receipt_type=media,
                  receipt_size=len(receipt))
    claim_id = uuid.uuid4()
    await tx.session.execute(sa.insert(m.stipend_claims).values(
        id=claim_id, assembly_id=assembly_id, member_id=member_id, session_id=session_id, kind=kind,
        amount_ore=amount_ore, receipt=receipt, receipt_type=media, receipt_sha256=hashlib.sha256(receipt).hexdigest()))
    await tx.audit("stipend.claim-submitted", assembly_id, object_id=claim_id, actor=f"member:{member_id}",
                   details={"kind": kind, "amount_ore": amount_ore})
    return claim_id


async def _claim(tx: Tx, claim_id: uuid.UUID):
    row = (await tx.session.execute(sa.select(m.stipend_claims.c.assembly_id, m.stipend_claims.c.status,
                                              m.stipend_claims.c.approvals)
                                    .where(m.stipend_claims.c.id == claim_id).with_for_update())).first()
    if row is None:
        raise not_found("claim")
    return row


async def approve_claim(tx: Tx, claim_id: uuid.UUID, staff: str) -> dict:
    """One of the two approvals a claim needs, each by a different member of staff (four eyes)."""
    row = await _claim(tx, claim_id)
    status, approvals = d.approve(row.status, row.approvals, staff)
    decided = {"decided_by": staff, "decided_at": _now()} if status == "approved" else {}
    await tx.session.execute(sa.update(m.stipend_claims).where(m.stipend_claims.c.id == claim_id)
                             .values(status=status, approvals=list(approvals), **decided))
    await tx.audit("stipend.claim-approved" if status == "approved" else "stipend.claim-first-approval",
                   row.assembly_id, object_id=claim_id, details={"approvals": len(approvals)})
    return {"id": claim_id, "status": status, "approvals": len(approvals)}


async def reject_claim(tx: Tx, claim_id: uuid.UUID, staff: str, reason: str) -> dict:
    row = await _claim(tx, claim_id)
    status = d.reject(row.status)
    await tx.session.execute(sa.update(m.stipend_claims).where(m.stipend_claims.c.id == claim_id)
                             .values(status=status, decided_by=staff, decided_at=_now(), reason=reason))
    await tx.audit("stipend.claim-rejected", row.assembly_id, object_id=claim_id)
    return {"id": claim_id, "status": status, "approvals": len(row.approvals)}


# ---- payment exports ---------------------------------------------------------------------------


async def export_payment(tx: Tx, assembly_id: uuid.UUID, staff: str) -> tuple[dict, str]:
    """Pay what is due: every earned line not paid before goes into a new payment (each line is
    paid once: stipend_paid's key), and the payment file for the agency's payment system."""
    await tx.session.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"payment:{assembly_id}"})
    state = await v.book(tx, assembly_id)
    if state["incomplete"]:
        raise conflict(f"the attendance of {len(state['incomplete'])} held session(s) is still arriving from "
                       f"sessions; try again in a moment", code="attendance_incomplete")
    due = {mid: d.payable(b) for mid, b in state["books"].items()}
    due = {mid: lines for mid, lines in due.items() if lines}
    if not due:
        raise conflict("nothing is due: every earned amount has been paid", code="nothing_due")
    number = (await tx.session.execute(sa.select(sa.func.coalesce(sa.func.max(m.stipend_payments.c.number), 0))
                                       .where(m.stipend_payments.c.assembly_id == assembly_id))).scalar_one() + 1
    payment_id = uuid.uuid4()
    total = sum(x.amount_ore for lines in due.values() for x in lines)
    await tx.session.execute(sa.insert(m.stipend_payments).values(
        id=payment_id, assembly_id=assembly_id, number=number, payees=len(due), total_ore=total, created_by=staff))
    await tx.session.execute(sa.insert(m.stipend_paid), [
        {"payment_id": payment_id, "assembly_id": assembly_id, "member_id": uuid.UUID(mid), "kind": x.kind,
         "ref": x.ref, "amount_ore": x.amount_ore} for mid, lines in due.items() for x in lines])
    await tx.audit("stipend.payment-exported", assembly_id, object_id=payment_id,
                   details={"number": number, "payees": len(due), "total_ore": total})
    payment = {"id": payment_id, "number": number, "payees": len(due), "total_ore": total}
    return payment, await payment_file(tx, payment_id, number)


async def payment_file(tx: Tx, payment_id: uuid.UUID, number: int) -> str:
    """The payment file (CSV; docs/stipends.md): one line per payee with their total."""
    lines = await v.payment_lines(tx, payment_id)
    per: dict[uuid.UUID, list] = {}
    for x in lines:
        per.setdefault(x.member_id, []).append(d.Line(x.kind, x.ref, "", int(x.amount_ore), "", True))
    who = await v.payees(tx, list(per))
    out = io.StringIO()
    w = csv.writer(out, delimiter=";", lineterminator="\r\n")
    w.writerow(d.PAYMENT_COLUMNS)
    for i, (mid, items) in enumerate(sorted(per.items(), key=lambda kv: str(kv[0])), 1):
        person_ref, name = who.get(mid, ("", ""))
        total = sum(x.amount_ore for x in items)
        w.writerow([str(payment_id), i, person_ref, name, total, d.amount_dkk(total), d.payment_text(items),
                    f"BT-{number}-{i}"])
    return out.getvalue()
