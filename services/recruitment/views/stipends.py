"""Reads of places and stipends: the rates, each member's ledger (domain/stipends.py) from the
sessions and attendance sessions' events told recruitment, the claims, and the payment exports."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from services.recruitment import models as m
from services.recruitment import vault
from services.recruitment.domain.stipends import Claim, Ledger, Rates, incomplete, ledgers
from shared.bus.outbox import Tx
from shared.problems import not_found

_S, _A, _C, _P = m.stipend_sessions, m.stipend_attendance, m.stipend_claims, m.stipend_paid


async def rates(tx: Tx, assembly_id: uuid.UUID) -> Rates:
    """The assembly's rates; before any are set, the session rate is the letters' stipend."""
    row = (await tx.session.execute(sa.select(m.stipend_rates).where(m.stipend_rates.c.assembly_id == assembly_id))).first()
    if row is not None:
        return Rates(int(row.session_ore), int(row.travel_cap_ore), int(row.childcare_cap_ore))
    letter = (await tx.session.execute(sa.select(m.assemblies.c.stipend_ore).where(m.assemblies.c.id == assembly_id))).scalar()
    return Rates(int(letter or 0))


async def rates_set(tx: Tx, assembly_id: uuid.UUID) -> bool:
    return (await tx.session.execute(sa.select(m.stipend_rates.c.assembly_id)
                                     .where(m.stipend_rates.c.assembly_id == assembly_id))).first() is not None


async def place(tx: Tx, member_id: uuid.UUID) -> dict | None:
    row = (await tx.session.execute(sa.select(m.places).where(m.places.c.member_id == member_id))).first()
    return None if row is None else {"answer": row.answer, "answered_at": row.answered_at}


async def places(tx: Tx, assembly_id: uuid.UUID) -> dict[str, int]:
    rows = (await tx.session.execute(sa.select(m.places.c.answer, sa.func.count()).where(
        m.places.c.assembly_id == assembly_id).group_by(m.places.c.answer))).all()
    return {a: n for a, n in rows}


async def is_active_member(tx: Tx, assembly_id: uuid.UUID, member_id: uuid.UUID) -> bool:
    return bool((await tx.session.execute(sa.select(m.members.c.active).where(
        m.members.c.assembly_id == assembly_id, m.members.c.member_id == member_id))).scalar())


async def sessions(tx: Tx, assembly_id: uuid.UUID) -> list[dict]:
    """The assembly's sessions in order (held or not), as sessions' events told them."""
    rows = (await tx.session.execute(sa.select(_S).where(_S.c.assembly_id == assembly_id)
                                     .order_by(_S.c.starts_at.nulls_last(), _S.c.session_id))).all()
    return [dict(r._mapping) for r in rows]


async def present_at(tx: Tx, session_id: uuid.UUID, member_id: uuid.UUID) -> bool | None:
    return (await tx.session.execute(sa.select(_A.c.present).where(_A.c.session_id == session_id,
                                                                    _A.c.member_id == member_id))).scalar()


def _claim(r) -> Claim:
    return Claim(str(r.id), str(r.member_id), str(r.session_id), r.kind, int(r.amount_ore), r.status)


async def book(tx: Tx, assembly_id: uuid.UUID, member_id: uuid.UUID | None = None) -> dict:
    """The ledgers of the assembly's members (or of one), with what they rest on: the sessions, the
    rates, and the held sessions whose attendance is still arriving."""
    s = tx.session
    rate = await rates(tx, assembly_id)
    all_sessions = await sessions(tx, assembly_id)
    held = [(str(x["session_id"]), int(x["rate_ore"] if x["rate_ore"] is not None else rate.session_ore))
            for x in all_sessions if x["held_at"] is not None]
    one = (lambda col: [col == member_id]) if member_id is not None else (lambda col: [])
    marks = {(str(r.session_id), str(r.member_id)): r.present for r in (await s.execute(
        sa.select(_A.c.session_id, _A.c.member_id, _A.c.present).where(_A.c.assembly_id == assembly_id,
                                                                          *one(_A.c.member_id)))).all()}
    claims = [_claim(r) for r in (await s.execute(
        sa.select(_C.c.id, _C.c.member_id, _C.c.session_id, _C.c.kind, _C.c.amount_ore, _C.c.status)
        .where(_C.c.assembly_id == assembly_id, *one(_C.c.member_id)))).all()]
    paid = {(f"{r.kind}:{r.member_id}", r.ref): int(r.amount_ore) for r in (await s.execute(
        sa.select(_P.c.member_id, _P.c.kind, _P.c.ref, _P.c.amount_ore)
        .where(_P.c.assembly_id == assembly_id, *one(_P.c.member_id)))).all()}
    panel = [member_id] if member_id is not None else [r[0] for r in (await s.execute(
        sa.select(m.members.c.member_id).where(m.members.c.assembly_id == assembly_id, m.members.c.active))).all()]
    books = ledgers(held, marks, claims, paid, [str(x) for x in panel])
    counted = (await s.execute(sa.select(_A.c.session_id, sa.func.count()).where(
        _A.c.assembly_id == assembly_id, _A.c.present).group_by(_A.c.session_id))).all()
    waiting = incomplete([(str(x["session_id"]), x["present"]) for x in all_sessions if x["held_at"] is not None],
                         {str(k): n for k, n in counted})
    return {"rates": rate, "sessions": all_sessions, "books": books, "incomplete": waiting}


def book_out(b: Ledger) -> dict:
    return {"member_id": b.member_id, "earned_ore": b.earned_ore, "paid_ore": b.paid_ore, "due_ore": b.due_ore,
            "sessions_present": b.sessions_present,
            "lines": [{"kind": x.kind, "ref": x.ref, "session_id": x.session_id, "amount_ore": x.amount_ore,
                       "status": x.status, "paid": x.paid} for x in b.lines]}


async def claims(tx: Tx, assembly_id: uuid.UUID, member_id: uuid.UUID | None = None) -> list[dict]:
    cols = [c for c in _C.c if c.name != "receipt"]
    query = sa.select(*cols).where(_C.c.assembly_id == assembly_id).order_by(_C.c.submitted_at)
    if member_id is not None:
        query = query.where(_C.c.member_id == member_id)
    return [dict(r._mapping) for r in (await tx.session.execute(query)).all()]


async def claim_assembly(tx: Tx, claim_id: uuid.UUID) -> uuid.UUID:
    aid = (await tx.session.execute(sa.select(_C.c.assembly_id).where(_C.c.id == claim_id))).scalar()
    if aid is None:
        raise not_found("claim")
    return aid


async def receipt(tx: Tx, claim_id: uuid.UUID) -> tuple[bytes, str]:
    row = (await tx.session.execute(sa.select(_C.c.receipt, _C.c.receipt_type).where(_C.c.id == claim_id))).first()
    if row is None:
        raise not_found("claim")
    return bytes(row.receipt), row.receipt_type


async def payments(tx: Tx, assembly_id: uuid.UUID) -> list[dict]:
    rows = (await tx.session.execute(sa.select(m.stipend_payments).where(
        m.stipend_payments.c.assembly_id == assembly_id).order_by(m.stipend_payments.c.number))).all()
    return [dict(r._mapping) for r in rows]


async def payees(tx: Tx, member_ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[str, str]]:
    """member id -> (person_ref, name), opened from the identity vault: the payment file pays the
    person's NemKonto by their register id (personal data: for the registrar's export only). A
    person whose identity was erased gets empty fields, for the agency to resolve by hand."""
    if not member_ids:
        return {}
    rows = (await tx.session.execute(
        sa.select(m.respondents.c.id, m.invitations.c.register_entry_id)
        .join(m.invitations, m.invitations.c.id == m.respondents.c.invitation_id)
        .where(m.respondents.c.id.in_(member_ids)))).all()
    people = await vault.read(tx, [r.register_entry_id for r in rows])
    out = {}
    for r in rows:
        person = people.get(r.register_entry_id)
        out[r.id] = (person.person_ref, person.name) if person is not None else ("", "")
    return out


async def payment_lines(tx: Tx, payment_id: uuid.UUID) -> list:
    return (await tx.session.execute(sa.select(_P).where(_P.c.payment_id == payment_id)
                                     .order_by(_P.c.member_id, _P.c.kind, _P.c.ref))).all()
