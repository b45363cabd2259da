"""Recruitment's writes: each command runs in one transaction with the events it causes and its
audit entry; the panel-membership event handlers keep who may get a member letter."""

from __future__ import annotations

import asyncio
import io
import secrets
import uuid
from datetime import date, datetime, timezone
from typing import TextIO

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

from services.recruitment import models as m
from services.recruitment import vault
from services.recruitment import views as v
from services.recruitment.domain.sample import draw_sample, letters_per_region, plan_json, rate_problems
from services.recruitment.domain.answers import check_answers, check_strata
from services.recruitment.domain.letter_details import LETTER_FIELDS
from services.recruitment.domain.consent import consent_record
from services.recruitment.domain.codes import UnknownCode, UsedCode, code_hash, household_key, new_code, normalise
from services.recruitment.domain.register import MAX_PROBLEMS, RegisterCheck, read_register, register_refusal
from services.recruitment.domain.vault import FIELDS, Identity
from shared.bus.outbox import Tx
from shared.db import load_or_404
from shared.problems import Forbidden, conflict, invalid, not_found
from shared.events import contracts as ev
from shared.projections import panel_membership_handlers

def _array(values: list, item_type) -> sa.BindParameter:
    """One array parameter instead of one parameter per value (PostgreSQL caps those at 32767)."""
    return sa.bindparam(None, values, type_=ARRAY(item_type))


async def create_assembly(tx: Tx, *, name: str, panel_size: int, regions: list[dict], strata: list[dict],
                          **letter: object) -> uuid.UUID:
    """`letter`: what the invitation letters say (fields of LETTER_FIELDS; optional)."""
    problems = check_strata(regions, strata, panel_size)
    if problems:
        raise invalid("the mandate cannot be met: " + "; ".join(problems), [{"field": "strata", "problem": p} for p in problems])
    assembly_id = uuid.uuid4()
    details = _letter_columns({k: letter[k] for k in LETTER_FIELDS if letter.get(k) is not None})
    await tx.session.execute(
        sa.insert(m.assemblies).values(id=assembly_id, name=name, panel_size=panel_size, regions=regions, strata=strata,
                                       **details)
    )
    quotas = [{"category": s["category"], "quotas": [{k: q[k] for k in ("value", "min", "max")} for q in s["quotas"]]}
              for s in strata]  # the names in labels stay here: the event's contract has the codes and numbers
    await tx.emit(
        ev.AssemblyCreatedV1(assembly_id=assembly_id, name=name, panel_size=panel_size, regions=regions, strata=quotas),
        subject=assembly_id,
    )
    await tx.audit("assembly.created", assembly_id, object_id=assembly_id, details={"panel_size": panel_size})
    return assembly_id


def _letter_columns(details: dict) -> dict:
    """Dates as the columns take them (the API's JSON gives ISO text)."""
    out = dict(details)
    if isinstance(out.get("reply_by"), str):
        out["reply_by"] = date.fromisoformat(out["reply_by"])
    if out.get("session_dates"):
        out["session_dates"] = sorted({str(d) for d in out["session_dates"]})
    return out


async def set_letter_details(tx: Tx, assembly_id: uuid.UUID, details: dict) -> None:
    """What the invitation letters say about the assembly (commissioner, remit, session dates,
    stipend, reply-by date). Only recruitment prints letters, so no event is sent."""
    await load_or_404(tx, m.assemblies, "assembly", lock=True, id=assembly_id)
    values = _letter_columns({k: details.get(k) for k in LETTER_FIELDS})
    values["session_dates"] = values["session_dates"] or []
    await tx.session.execute(sa.update(m.assemblies).where(m.assemblies.c.id == assembly_id).values(**values))
    await tx.audit("assembly.letter-details-set", assembly_id, object_id=assembly_id,
                   details={"filled": sorted(k for k, x in values.items() if x)})


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


async def name_values(tx: Tx, assembly_id: uuid.UUID, names: list[dict]) -> list[dict]:
    """Give the assembly's quota values their names per language (`[{category, value, labels: {da,
    en}}]`; an empty name removes it). Only what people read changes: the codes, the numbers and
    so the draw stay as they are, and no other service keeps these names, so no event is sent."""
    assembly = await load_or_404(tx, m.assemblies, "assembly", lock=True, id=assembly_id)
    strata = [dict(s, quotas=[dict(q) for q in s["quotas"]]) for s in assembly.strata]
    quotas = {(s["category"], q["value"]): q for s in strata for q in s["quotas"]}
    unknown = [f"{n['category']}={n['value']}" for n in names if (n["category"], n["value"]) not in quotas]
    if unknown:
        raise invalid("these are not quota values of the assembly: " + ", ".join(unknown[:10]),
                      [{"field": "names", "problem": f"{u} is not a quota value"} for u in unknown[:20]])
    for n in names:
        q = quotas[(n["category"], n["value"])]
        labels = {lang: text.strip() for lang, text in (n.get("labels") or {}).items() if text and text.strip()}
        if labels:
            q["labels"] = labels
        else:
            q.pop("labels", None)
    await tx.session.execute(sa.update(m.assemblies).where(m.assemblies.c.id == assembly_id).values(strata=strata))
    await tx.audit("assembly.values-named", assembly_id, object_id=assembly_id, details={"values": len(names)})
    return strata


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
        left = v.left_per_region(await v.register_strata(tx, assembly_id))
        short = {r: n for r, n in per_region.items() if n > left.get(r, 0)}
        if short:
            raise conflict("the register extract has too few people not yet invited in "
                           + ", ".join(f"{r} ({left.get(r, 0)} left, {n} asked)" for r, n in sorted(short.items())),
                           code="register_exhausted")
    strata, rates = await v.sample_plan(tx, assembly_id, count, per_region=per_region, assembly=assembly)
    per_region = {**({r["code"]: 0 for r in assembly.regions} if per_region is None else {}),
                  **letters_per_region(strata)}
    count = sum(per_region.values())
    plan = {**(plan or {}), "sample": plan_json(strata, rates)}
    reg = m.register_entries.c
    candidates: dict[tuple, list[int]] = {}
    regions: dict[int, str] = {}
    for rid, *key in (await tx.session.execute(
            sa.select(reg.id, *v.STRATUM).join(m.data_keys, m.data_keys.c.entry_id == reg.id)  # not erased
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


async def register(tx: Tx, *, code: str, consent: bool, answers: dict[str, str], contact: str | None,
                   secret: str, consent_version: str | None = None, lang: str | None = None) -> dict:
    """Register with a letter's code; the consent's version, language and words' hash are kept
    with the registration. Returns the receipt (respondent id, when, the consent's version)."""
    if not consent:
        raise invalid("consent is required to register: tick the consent box")
    agreed = consent_record(consent_version, lang)
    norm = normalise(code)
    if norm is None:
        raise UnknownCode("this is not a valid invitation code: it has 20 letters and digits, as printed in your letter")
    inv = (
        await tx.session.execute(
            sa.select(m.invitations).where(v.code_matches(code_hash(norm))).with_for_update()
        )
    ).first()
    if inv is None:
        raise UnknownCode("this invitation code is not recognised: check it against your letter")
    if inv.used_at is not None:
        raise UsedCode("this invitation code has already been used to register")
    assembly = await v.load_assembly(tx, inv.assembly_id)
    problems = check_answers(assembly.strata, answers)
    if problems:
        raise invalid("please answer every question with one of the offered options", problems)
    features = dict(answers)
    features["region"] = inv.region
    respondent_id = uuid.uuid4()
    now = datetime.now(timezone.utc)
    await tx.session.execute(sa.update(m.invitations).where(m.invitations.c.id == inv.id).values(used_at=now))
    await tx.session.execute(
        sa.insert(m.respondents).values(id=respondent_id, assembly_id=inv.assembly_id, invitation_id=inv.id,
                                        region=inv.region, features=features, consented_at=now, **agreed)
    )
    if contact:
        await vault.set_contact(tx, inv.register_entry_id, contact)
    person = (await vault.read(tx, [inv.register_entry_id]))[inv.register_entry_id]
    # an erased person has no address: their own household, so the draw cannot pair them
    household = household_key(secret, inv.assembly_id, person.address if person else f"erased:{inv.id}")
    await tx.emit(
        ev.RespondentRegisteredV1(assembly_id=inv.assembly_id, respondent_id=respondent_id, region=inv.region,
                                  features=features, household=household),
        subject=inv.assembly_id,
        region=inv.region,
    )
    await tx.audit("respondent.registered", inv.assembly_id, object_id=respondent_id, actor="public",
                   details={"consent_version": agreed["consent_version"]})
    return {"respondent_id": respondent_id, "registered_at": now, "consent_version": agreed["consent_version"],
            "assembly_id": inv.assembly_id}


async def withdraw(tx: Tx, *, code: str) -> dict:
    """A registered citizen leaves the pool (before or after the draw); their answers go with them.
    Returns the receipt (respondent id, when)."""
    norm = normalise(code)
    inv = None if norm is None else (
        await tx.session.execute(sa.select(m.invitations).where(v.code_matches(code_hash(norm))))
    ).first()
    if inv is None:
        raise UnknownCode("this invitation code is not recognised: check it against your letter")
    resp = (
        await tx.session.execute(sa.select(m.respondents).where(m.respondents.c.invitation_id == inv.id).with_for_update())
    ).first()
    if resp is None:
        raise conflict("nobody has registered with this code, so there is nothing to withdraw", code="not_registered")
    if resp.withdrawn_at is not None:
        raise conflict("this registration has already been withdrawn", code="already_withdrawn")
    now = datetime.now(timezone.utc)
    await tx.session.execute(
        sa.update(m.respondents).where(m.respondents.c.id == resp.id).values(withdrawn_at=now, features={})
    )
    await vault.set_contact(tx, inv.register_entry_id, None)
    await tx.emit(ev.RespondentWithdrewV1(assembly_id=resp.assembly_id, respondent_id=resp.id),
                  subject=resp.assembly_id, region=resp.region)
    await tx.audit("respondent.withdrew", resp.assembly_id, object_id=resp.id, actor="public")
    return {"respondent_id": resp.id, "withdrawn_at": now}


# ---- panel members: selection letters with login codes, and member login ----------------------

HANDLERS = panel_membership_handlers(m.members)


async def issue_member_letters(tx: Tx, assembly_id: uuid.UUID, only: uuid.UUID | None = None) -> list[dict]:
    """A login code for every active panel member who has none yet (first the panel, later the
    replacements). The codes are returned once, for the letters, and stored only as hashes."""
    await v.load_assembly(tx, assembly_id)
    rows = (await tx.session.execute(
        sa.select(m.members.c.member_id, m.invitations.c.register_entry_id, m.respondents.c.region)
        .join(m.respondents, m.respondents.c.id == m.members.c.member_id)
        .join(m.invitations, m.invitations.c.id == m.respondents.c.invitation_id)
        .join(m.data_keys, m.data_keys.c.entry_id == m.invitations.c.register_entry_id)  # not erased
        .outerjoin(m.member_codes, m.member_codes.c.member_id == m.members.c.member_id)
        .where(m.members.c.assembly_id == assembly_id, m.members.c.active, m.member_codes.c.member_id.is_(None),
               m.respondents.c.withdrawn_at.is_(None),
               *([m.members.c.member_id == only] if only is not None else []))
        .with_for_update(of=m.members)
    )).all()
    people = await vault.read(tx, [r.register_entry_id for r in rows])
    letters = []
    for r in sorted(rows, key=lambda r: (r.region, people[r.register_entry_id].name)):
        p = people[r.register_entry_id]
        code = new_code()
        await tx.session.execute(sa.insert(m.member_codes).values(member_id=r.member_id, assembly_id=assembly_id,
                                                                  code_hash=code_hash(normalise(code))))
        letters.append({"member_id": r.member_id, "name": p.name, "address": p.address, "contact": p.contact,
                        "region": r.region, "code": code})
    if only is None:
        await tx.audit("member-letters.issued", assembly_id, details={"letters": len(letters)})
    return letters


async def reissue_member_letter(tx: Tx, assembly_id: uuid.UUID, member_id: uuid.UUID) -> dict:
    """A member lost their letter: a new login code replaces the old one, which stops working."""
    row = (await tx.session.execute(
        sa.select(m.members.c.active).where(m.members.c.assembly_id == assembly_id,
                                            m.members.c.member_id == member_id).with_for_update())).first()
    if row is None:
        raise not_found("panel member")
    if not row.active:
        raise conflict("this person is no longer on the panel, so they get no login code", code="not_a_member")
    await tx.session.execute(sa.delete(m.member_codes).where(m.member_codes.c.member_id == member_id))
    await tx.audit("member-letter.reissued", assembly_id, object_id=member_id)
    letters = await issue_member_letters(tx, assembly_id, only=member_id)
    if not letters:
        raise conflict("this member's name and address were erased, so no letter can be printed", code="erased")
    return letters[0]


async def member_login(tx: Tx, *, code: str) -> tuple[uuid.UUID, uuid.UUID]:
    norm = normalise(code)
    row = None if norm is None else (await tx.session.execute(
        sa.select(m.member_codes).where(m.member_codes.c.code_hash == code_hash(norm)).with_for_update())).first()
    if row is None:
        raise UnknownCode("this login code is not recognised: check it against your selection letter")
    active = (await tx.session.execute(
        sa.select(m.members.c.active).where(m.members.c.assembly_id == row.assembly_id,
                                            m.members.c.member_id == row.member_id))).scalar()
    if not active:
        raise Forbidden("you are no longer on this assembly's panel, so this code no longer logs in",
                        code="not_a_member")
    await tx.session.execute(sa.update(m.member_codes).where(m.member_codes.c.member_id == row.member_id)
                             .values(last_login_at=datetime.now(timezone.utc)))
    await tx.audit("member.logged-in", row.assembly_id, object_id=row.member_id, actor=f"member:{row.member_id}")
    return row.assembly_id, row.member_id
