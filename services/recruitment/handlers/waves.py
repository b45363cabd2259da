"""Waves after the first batch (writes, each in one transaction): reminder letters to those who
have not replied, a targeted second wave sized per region from the gap between the pool and the
quotas (domain/waves.py), and the letters the post or Digital Post returned as undeliverable."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timezone

import sqlalchemy as sa

from services.recruitment import models as m
from services.recruitment import vault
from services.recruitment import views as v
from services.recruitment.domain.codes import code_hash, new_code
from services.recruitment.domain.waves import (
    DEFAULT_REPLY_RATE,
    WaveRow,
    parse_returns,
    region_seats,
    second_wave,
    wave_plan,
)
from services.recruitment.handlers import invitations as h
from services.recruitment.views import waves as waves_reads
from shared.bus.outbox import Tx
from shared.problems import conflict, invalid

REMINDER_CHUNK = 5000


def _expected_rate(assembly, given: float | None) -> float:
    return given if given is not None else float((assembly.reply_rates or {}).get("expected", DEFAULT_REPLY_RATE))


async def plan_second_wave(tx: Tx, assembly_id: uuid.UUID, pool_factor: float,
                           expected_rate: float | None = None) -> tuple[list[WaveRow], float]:
    """The targeted wave's letters per region as the pool stands now (nothing is written), and the
    expected reply rate used for regions without a reply yet (`expected_rate`; default: the
    assembly's, else 3 %)."""
    assembly = await v.load_assembly(tx, assembly_id)
    counts = await waves_reads.wave_counts(tx, assembly_id)
    minimums = {q["value"]: q["min"] for s in assembly.strata if s["category"] == "region" for q in s["quotas"]}
    seats = region_seats(assembly.panel_size, {r["code"]: r["population"] for r in assembly.regions}, minimums)
    rate = _expected_rate(assembly, expected_rate)
    return second_wave(seats, counts["registered"], counts["delivered"], counts["available"],
                       pool_factor=pool_factor, expected_rate=rate), rate


async def send_second_wave(tx: Tx, assembly_id: uuid.UUID, pool_factor: float, seed: int | None,
                           expected_rate: float | None = None) -> tuple[uuid.UUID, dict, list[dict], list[WaveRow], float]:
    """Draw and issue the targeted wave: per region the letters `plan_second_wave` computes, kept
    with the batch (its plan) so the screen can explain it later."""
    await tx.session.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"wave:{assembly_id}"})
    rows, rate = await plan_second_wave(tx, assembly_id, pool_factor, expected_rate)
    per_region = {r.region: r.letters for r in rows if r.letters}
    if not per_region:
        raise conflict("the pool already holds the registrations the quotas need in every region, or the register "
                       "has nobody left to invite there: there is no second wave to send", code="no_gap")
    batch_id, per_region, letters = await h.send_invitations(
        tx, assembly_id, 0, seed, per_region=per_region, kind="targeted", plan=wave_plan(rows, pool_factor, rate))
    return batch_id, per_region, letters, rows, rate


async def send_reminders(tx: Tx, assembly_id: uuid.UUID) -> tuple[uuid.UUID, list[dict]]:
    """A reminder letter to everyone invited who has not registered, whose letter was not returned
    and who had no reminder yet: a second code for the same invitation (the first still works),
    returned once for the letters and stored as a hash. Reminders are no new invitations: no event."""
    await v.load_assembly(tx, assembly_id)
    await tx.session.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"invite:{assembly_id}"})
    inv = m.invitations.c
    rows = (await tx.session.execute(
        sa.select(inv.id, inv.region, inv.register_entry_id)
        .join(m.identities, sa.and_(m.identities.c.entry_id == inv.register_entry_id,
                                    m.identities.c.erased_at.is_(None)))  # not erased
        .where(inv.assembly_id == assembly_id, inv.used_at.is_(None), inv.undeliverable_at.is_(None),
               inv.reminded_at.is_(None))
        .order_by(inv.region, inv.id))).all()
    if not rows:
        raise conflict("everyone invited has replied, had a reminder, or their letter came back: there is nobody "
                       "to remind", code="nobody_to_remind")
    now = datetime.now(timezone.utc)
    people = await vault.read(tx, [r.register_entry_id for r in rows])
    letters, updates = [], []
    for r in rows:
        code = new_code()
        p = people[r.register_entry_id]
        updates.append({"b_id": r.id, "b_hash": code_hash(code)})
        letters.append({"letter_id": r.id, "name": p.name, "address": p.address, "region": r.region, "code": code,
                        "person_ref": p.person_ref})
    stmt = (sa.update(m.invitations).where(inv.id == sa.bindparam("b_id"))
            .values(reminder_code_hash=sa.bindparam("b_hash"), reminded_at=now))
    for i in range(0, len(updates), REMINDER_CHUNK):
        await (await tx.session.connection()).execute(stmt, updates[i:i + REMINDER_CHUNK])
    per_region: dict[str, int] = {}
    for x in letters:
        per_region[x["region"]] = per_region.get(x["region"], 0) + 1
    batch_id = uuid.uuid4()
    await tx.session.execute(sa.insert(m.invitation_batches).values(
        id=batch_id, assembly_id=assembly_id, count=len(letters), per_region=per_region,
        seed=secrets.randbits(62), kind="reminder"))
    await tx.audit("reminders.sent", assembly_id, object_id=batch_id, details={"count": len(letters)})
    return batch_id, letters


async def mark_returned(tx: Tx, assembly_id: uuid.UUID, text: str) -> dict[str, int]:
    """Book the returned letters of a file (parse_returns): each marks its invitation undeliverable
    (it then gets no reminder and counts as not delivered in the second wave's reply rates).
    Returns {"marked", "already", "unknown"}; refuses the whole file on a malformed line."""
    await v.load_assembly(tx, assembly_id)
    rows, problems = parse_returns(text)
    if problems:
        words = {"missing_column": "the file needs a letter_id column (and may have a reason column)",
                 "bad_id": "is not a letter id or the reference printed on a letter",
                 "no_rows": "the file has no letters in it"}
        raise invalid(f"line {problems[0][0]}: {words[problems[0][1]]}" if problems[0][1] == "bad_id"
                      else words[problems[0][1]],
                      [{"field": f"line {line}", "problem": words[kind], "kind": kind, "line": line}
                       for line, kind in problems])
    inv = m.invitations.c
    marked = already = unknown = 0
    now = datetime.now(timezone.utc)
    for ref, reason in rows:
        match = inv.id == uuid.UUID(ref) if len(ref) == 36 else sa.cast(inv.id, sa.Text).like(f"{ref}%")
        found = (await tx.session.execute(
            sa.select(inv.id, inv.undeliverable_at).where(inv.assembly_id == assembly_id, match).with_for_update())).all()
        if len(found) != 1:
            unknown += 1
        elif found[0].undeliverable_at is not None:
            already += 1
        else:
            await tx.session.execute(sa.update(m.invitations).where(inv.id == found[0].id)
                                     .values(undeliverable_at=now, undeliverable_reason=reason or None))
            marked += 1
    await tx.audit("letters.returned", assembly_id, details={"marked": marked, "already": already, "unknown": unknown})
    return {"marked": marked, "already": already, "unknown": unknown}
