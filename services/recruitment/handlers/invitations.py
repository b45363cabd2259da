"""Writes of the first letters: the register extract's import (sealed into the vault), the expected
reply rates, and invitation batches with single-use codes."""

from __future__ import annotations

import asyncio
import io
import secrets
import uuid
from typing import TextIO

import sqlalchemy as sa

from services.recruitment import models as m
from services.recruitment import vault
from services.recruitment import views as v
from services.recruitment.domain.codes import code_hash, new_code
from services.recruitment.domain.register import MAX_PROBLEMS, RegisterCheck, read_register, register_refusal
from services.recruitment.domain.sample import draw_sample, letters_per_region, plan_json, rate_problems
from services.recruitment.domain.vault import FIELDS, Identity
from services.recruitment.handlers import _array
from services.recruitment.views import invitations as invitations_reads
from shared.bus.outbox import Tx
from shared.db import load_or_404
from shared.events import contracts as ev
from shared.problems import conflict, invalid


async def set_reply_rates(tx: Tx, assembly_id: uuid.UUID, rates: dict) -> dict:
    """The expected reply rates (overall, and per region, age band and gender) that give the
    invitation sample's oversampling factors and the waves' expected rate. Recruitment's own
    planning: no event."""
    await load_or_404(tx, m.assemblies, "assembly", lock=True, id=assembly_id)
    stored = {k: x for k, x in rates.items() if x or k == "expected"}
    problems = rate_problems(stored)
    if problems:
        raise invalid(problems[0][1], [{"field": f, "problem": p} for f, p in problems])
    await tx.session.execute(sa.update(m.assemblies).where(m.assemblies.c.id == assembly_id).values(reply_rates=stored))
    await tx.audit("assembly.reply-rates-set", assembly_id, object_id=assembly_id,
                   details={"expected": stored["expected"], "strata": sum(len(x) for k, x in stored.items()
                                                                          if k != "expected")})
    return stored


async def import_register(tx: Tx, assembly_id: uuid.UUID, source: TextIO | str) -> int:
    """Import a register extract as it streams from `source` (a text file, read twice): batches of
    lines are parsed off the event loop, and only an extract without a problem is imported, in
    this transaction. Memory stays flat whatever the extract's size."""
    assembly = await v.load_assembly(tx, assembly_id)
    regions = {r["code"] for r in assembly.regions}
    if isinstance(source, str):
        source = io.StringIO(source)
    # Pass 1: every line checked, and the keyed hash of each register id staged (a temporary
    # table) so that people repeated in the file or imported before are found by the database.
    check = RegisterCheck(regions)
    raw = (await (await tx.session.connection()).get_raw_connection()).driver_connection
    await raw.execute("CREATE TEMP TABLE register_stage (line integer, person_key text) ON COMMIT DROP")
    batches = read_register(source, check)
    while (batch := await asyncio.to_thread(next, batches, None)) is not None:
        keys = vault.person_keys(assembly_id, [r["person_ref"] for _line, r in batch])
        await raw.copy_records_to_table("register_stage", columns=("line", "person_key"),
                                        records=[(line, key) for (line, _r), key in zip(batch, keys)])
    duplicates = [line for (line,) in await raw.fetch(
        "SELECT line FROM (SELECT line, row_number() OVER (PARTITION BY person_key ORDER BY line) AS n "
        "FROM register_stage) AS s WHERE n > 1 ORDER BY line LIMIT $1", MAX_PROBLEMS)]
    problems = check.finish(duplicates)
    if problems:
        raise register_refusal(problems, regions)
    existing = await raw.fetchval(
        "SELECT count(*) FROM register_stage s JOIN recruitment.register_entries e "
        "ON e.assembly_id = $1 AND e.person_key = s.person_key", assembly_id)
    await raw.execute("DROP TABLE register_stage")
    if existing:
        raise conflict(f"{existing} people in this extract were already imported for this assembly: nothing was "
                       "imported", code="already_imported")
    # Pass 2: the same file again, each batch into the table, names, addresses and register ids
    # into the vault (sealed per person).
    source.seek(0)
    n = 0
    batches = read_register(source, RegisterCheck(regions))
    while (batch := await asyncio.to_thread(next, batches, None)) is not None:
        rows = [r for _line, r in batch]
        keys = vault.person_keys(assembly_id, [r["person_ref"] for r in rows])
        entries = [{**{k: x for k, x in r.items() if k not in FIELDS}, "assembly_id": assembly_id, "person_key": key}
                   for r, key in zip(rows, keys)]
        ids = (await tx.session.execute(
            sa.insert(m.register_entries).returning(m.register_entries.c.id, sort_by_parameter_order=True), entries
        )).scalars().all()
        await vault.store(tx, assembly_id, [(i, Identity(r["name"], r["address"], r["person_ref"]))
                                            for i, r in zip(ids, rows)])
        n += len(rows)
    await tx.audit("register.imported", assembly_id, details={"rows": n})
    return n


async def send_invitations(tx: Tx, assembly_id: uuid.UUID, count: int, seed: int | None, *,
                           per_region: dict[str, int] | None = None, kind: str = "invitation",
                           plan: dict | None = None) -> tuple[uuid.UUID, dict, list[dict]]:
    """Draw `count` people across the strata (region, and the register's age band and gender)
    in proportion to population times each stratum's oversampling factor (domain/sample.py), or
    exactly `per_region` (a targeted wave's letters with its `plan`) split across each region's
    strata, and issue their codes. The sample's computation is stored with the batch.

    Returns the batch id, letters per region, and the letters (letter_id, name, address, region,
    code, person_ref) for printing: the codes exist in clear only in this response; the database
    keeps their hashes. person_ref (the register's id, a CPR number in Denmark) is for the Digital
    Post batch only, never for paper or a file name.
    """
    assembly = await v.load_assembly(tx, assembly_id)
    await tx.session.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"invite:{assembly_id}"})
    if per_region is not None:
        left = invitations_reads.left_per_region(await invitations_reads.register_strata(tx, assembly_id))
        short = {r: n for r, n in per_region.items() if n > left.get(r, 0)}
        if short:
            raise conflict("the register extract has too few people not yet invited in "
                           + ", ".join(f"{r} ({left.get(r, 0)} left, {n} asked)" for r, n in sorted(short.items())),
                           code="register_exhausted")
    strata, rates = await invitations_reads.sample_plan(tx, assembly_id, count, per_region=per_region, assembly=assembly)
    per_region = {**({r["code"]: 0 for r in assembly.regions} if per_region is None else {}),
                  **letters_per_region(strata)}
    count = sum(per_region.values())
    plan = {**(plan or {}), "sample": plan_json(strata, rates)}
    reg = m.register_entries.c
    candidates: dict[tuple, list[int]] = {}
    regions: dict[int, str] = {}
    for rid, *key in (await tx.session.execute(
            sa.select(reg.id, *invitations_reads.STRATUM)
            .join(m.identities, sa.and_(m.identities.c.entry_id == reg.id, m.identities.c.erased_at.is_(None)))  # not erased
            .where(reg.assembly_id == assembly_id, reg.invited.is_(False)))).all():
        candidates.setdefault(tuple(key), []).append(rid)
        regions[rid] = key[0]
    seed = seed if seed is not None else secrets.randbits(62)
    chosen = draw_sample(candidates, {s.cell: s.letters for s in strata}, seed)
    batch_id = uuid.uuid4()
    await tx.session.execute(
        sa.insert(m.invitation_batches).values(id=batch_id, assembly_id=assembly_id, count=count,
                                               per_region=per_region, seed=seed, kind=kind, plan=plan)
    )
    people = await vault.read(tx, chosen)  # the letters: opened here, never stored in clear
    letters, inv_rows = [], []
    for entry_id in chosen:
        code = new_code()
        p = people[entry_id]
        letter_id = uuid.uuid4()
        inv_rows.append({"id": letter_id, "assembly_id": assembly_id, "batch_id": batch_id,
                         "register_entry_id": entry_id, "region": regions[entry_id], "code_hash": code_hash(code)})
        letters.append({"letter_id": letter_id, "name": p.name, "address": p.address, "region": regions[entry_id],
                        "code": code, "person_ref": p.person_ref})
    if inv_rows:
        await tx.session.execute(sa.insert(m.invitations), inv_rows)
        await tx.session.execute(
            sa.update(m.register_entries).where(m.register_entries.c.id == sa.any_(_array(chosen, sa.BigInteger)))
            .values(invited=True)
        )
    await tx.emit(ev.InvitationsSentV1(assembly_id=assembly_id, batch_id=batch_id, count=len(chosen),
                                       per_region=per_region), subject=assembly_id)
    await tx.audit("invitations.sent", assembly_id, object_id=batch_id,
                   details={"count": len(chosen), "seed": seed, "kind": kind})
    return batch_id, per_region, letters
