"""Recruitment's reads: an assembly, its invitation and registration counts, and the
registrations (with personal data; the API decides per role what leaves)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from services.recruitment import models as m
from services.recruitment import vault
from services.recruitment.domain.sample import Cell, ReplyRates, Stratum, plan_sample, reply_rates
from shared.bus.outbox import Tx
from shared.db import load_or_404
from shared.problems import not_found


async def load_assembly(tx: Tx, assembly_id: uuid.UUID):
    return await load_or_404(tx, m.assemblies, "assembly", id=assembly_id)


async def stats(tx: Tx, assembly_id: uuid.UUID) -> dict:
    await load_assembly(tx, assembly_id)
    inv = dict(
        (await tx.session.execute(
            sa.select(m.invitations.c.region, sa.func.count()).where(m.invitations.c.assembly_id == assembly_id)
            .group_by(m.invitations.c.region))).all()
    )
    reg = dict(
        (await tx.session.execute(
            sa.select(m.respondents.c.region, sa.func.count()).where(m.respondents.c.assembly_id == assembly_id,
                                                                     m.respondents.c.withdrawn_at.is_(None))
            .group_by(m.respondents.c.region))).all()
    )
    return {
        "invitations": sum(inv.values()),
        "registrations": sum(reg.values()),
        "per_region": {r: {"invitations": inv.get(r, 0), "registrations": reg.get(r, 0)} for r in sorted(inv)},
    }


async def registrations(tx: Tx, assembly_id: uuid.UUID, respondent_id: uuid.UUID | None = None, *,
                        identities: bool = False) -> list[dict]:
    """Everyone who registered (or one of them); with `identities` (registrars, the person
    themself) their name, address and contact opened from the vault, None and `erased` where the
    vault's key is gone."""
    await load_assembly(tx, assembly_id)
    one = [m.respondents.c.id == respondent_id] if respondent_id is not None else []
    rows = (await tx.session.execute(
        sa.select(m.respondents.c.id, m.respondents.c.region, m.respondents.c.features,
                  m.respondents.c.consented_at, m.respondents.c.withdrawn_at, m.invitations.c.register_entry_id)
        .join(m.invitations, m.invitations.c.id == m.respondents.c.invitation_id)
        .where(m.respondents.c.assembly_id == assembly_id, *one).order_by(m.respondents.c.consented_at)
    )).mappings().all()
    people = await vault.read(tx, [r["register_entry_id"] for r in rows]) if identities else {}
    return [{**r, **identity_fields(people.get(r["register_entry_id"]), identities)} for r in rows]


def identity_fields(person, opened: bool = True) -> dict:
    """A person's name, address and contact as screens show them (`erased` once the key is gone)."""
    if not opened:
        return {}
    if person is None:
        return {"name": None, "address": None, "contact": None, "erased": True}
    return {"name": person.name, "address": person.address, "contact": person.contact, "erased": False}


async def own_registration(tx: Tx, assembly_id: uuid.UUID, member_id: uuid.UUID) -> dict:
    regs = await registrations(tx, assembly_id, member_id, identities=True)
    if not regs:
        raise not_found("registration")
    return regs[0]


def code_matches(hashed: str):
    """The invitation a code opens: the first letter's code, or the reminder's (both work)."""
    return sa.or_(m.invitations.c.code_hash == hashed, m.invitations.c.reminder_code_hash == hashed)


async def assembly_of_code(tx: Tx, code_hash: str) -> uuid.UUID | None:
    """The assembly an unused invitation code belongs to (the registration page's first step)."""
    return (await tx.session.execute(
        sa.select(m.invitations.c.assembly_id).where(code_matches(code_hash),
                                                     m.invitations.c.used_at.is_(None)))).scalar()


# ---- for the staff's pages ---------------------------------------------------------------------


async def all_assemblies(tx: Tx) -> list[dict]:
    """Every assembly, newest first (the operator's list)."""
    rows = (await tx.session.execute(
        sa.select(m.assemblies.c.id, m.assemblies.c.name, m.assemblies.c.panel_size, m.assemblies.c.created_at)
        .order_by(m.assemblies.c.created_at.desc()))).mappings().all()
    return [dict(r) for r in rows]


async def register_counts(tx: Tx, assembly_id: uuid.UUID) -> dict[str, dict[str, int]]:
    """People imported from the register per region: {region: {"imported": n, "invited": n}}."""
    rows = (await tx.session.execute(
        sa.select(m.register_entries.c.region, sa.func.count(),
                  sa.func.count().filter(m.register_entries.c.invited))
        .where(m.register_entries.c.assembly_id == assembly_id).group_by(m.register_entries.c.region))).all()
    return {region: {"imported": n, "invited": invited} for region, n, invited in rows}


async def invitation_batches(tx: Tx, assembly_id: uuid.UUID) -> list[dict]:
    """The invitation batches sent, newest first (counts only: the letters left with the response)."""
    rows = (await tx.session.execute(
        sa.select(m.invitation_batches.c.id, m.invitation_batches.c.count, m.invitation_batches.c.per_region,
                  m.invitation_batches.c.created_at, m.invitation_batches.c.kind, m.invitation_batches.c.plan)
        .where(m.invitation_batches.c.assembly_id == assembly_id)
        .order_by(m.invitation_batches.c.created_at.desc()))).mappings().all()
    return [{**r, "sent": sum(r["per_region"].values())} for r in rows]


async def registered_features(tx: Tx, assembly_id: uuid.UUID) -> list[dict]:
    """The answers (and region) of everyone registered and not withdrawn: no personal data."""
    rows = (await tx.session.execute(
        sa.select(m.respondents.c.features).where(m.respondents.c.assembly_id == assembly_id,
                                                  m.respondents.c.withdrawn_at.is_(None)))).scalars().all()
    return list(rows)


async def member_letters(tx: Tx, assembly_id: uuid.UUID, only: uuid.UUID | None = None) -> list[dict]:
    """The panel as recruitment knows it, with each member's name and region and whether their
    login code was issued and used (personal data: for registrars)."""
    rows = (await tx.session.execute(
        sa.select(m.members.c.member_id, m.members.c.active, m.respondents.c.region, m.invitations.c.register_entry_id,
                  m.member_codes.c.issued_at, m.member_codes.c.last_login_at)
        .join(m.respondents, m.respondents.c.id == m.members.c.member_id)
        .join(m.invitations, m.invitations.c.id == m.respondents.c.invitation_id)
        .outerjoin(m.member_codes, m.member_codes.c.member_id == m.members.c.member_id)
        .where(m.members.c.assembly_id == assembly_id, *([m.members.c.member_id == only] if only else [])))
    ).mappings().all()
    people = await vault.read(tx, [r["register_entry_id"] for r in rows])
    out = [{**r, **identity_fields(people[r["register_entry_id"]])} for r in rows]
    return sorted(out, key=lambda r: (not r["active"], r["region"], r["name"] is None, r["name"] or ""))


async def letter_counts(tx: Tx, assembly_id: uuid.UUID) -> dict[str, int]:
    """How many are on the panel now, and how many of them have a selection letter (counts only)."""
    row = (await tx.session.execute(
        sa.select(sa.func.count(), sa.func.count(m.member_codes.c.member_id))
        .select_from(m.members)
        .outerjoin(m.member_codes, m.member_codes.c.member_id == m.members.c.member_id)
        .where(m.members.c.assembly_id == assembly_id, m.members.c.active))).one()
    return {"panel": row[0], "letters": row[1]}


async def member_letter(tx: Tx, assembly_id: uuid.UUID, member_id: uuid.UUID) -> dict:
    found = await member_letters(tx, assembly_id, only=member_id)
    if not found:
        raise not_found("panel member")
    return found[0]


# ---- waves: what the second wave and the reminders are computed from ---------------------------


async def wave_counts(tx: Tx, assembly_id: uuid.UUID) -> dict:
    """Per region: letters delivered (sent, less the returned), registered (not withdrawn) and the
    people of the register not yet invited; and the assembly's returned letters, reminders sent,
    and invitations that could get a reminder (counts only)."""
    inv = m.invitations.c
    per_region = (await tx.session.execute(
        sa.select(inv.region, sa.func.count().filter(inv.undeliverable_at.is_(None)))
        .where(inv.assembly_id == assembly_id).group_by(inv.region))).all()
    totals = (await tx.session.execute(
        sa.select(sa.func.count().filter(inv.undeliverable_at.is_not(None)),
                  sa.func.count().filter(inv.reminded_at.is_not(None)),
                  sa.func.count().filter(inv.used_at.is_(None), inv.undeliverable_at.is_(None),
                                         inv.reminded_at.is_(None)))
        .where(inv.assembly_id == assembly_id))).one()
    register = await register_counts(tx, assembly_id)
    stats_ = await stats(tx, assembly_id)
    return {
        "delivered": dict(per_region),
        "registered": {r: x["registrations"] for r, x in stats_["per_region"].items()},
        "available": {r: x["imported"] - x["invited"] for r, x in register.items()},
        "returned": totals[0], "reminded": totals[1], "to_remind": totals[2],
    }


async def returned_reasons(tx: Tx, assembly_id: uuid.UUID) -> list[tuple[str, int]]:
    """Returned letters per reason, most first (no personal data)."""
    inv = m.invitations.c
    reason = sa.func.coalesce(inv.undeliverable_reason, "")
    rows = (await tx.session.execute(
        sa.select(reason, sa.func.count())
        .where(inv.assembly_id == assembly_id, inv.undeliverable_at.is_not(None))
        .group_by(reason).order_by(sa.func.count().desc()))).all()
    return [(reason, n) for reason, n in rows]


# ---- the invitation sample: the register's strata and the letters per stratum -------------------

_reg = m.register_entries.c
STRATUM = (_reg.region, sa.func.coalesce(_reg.age_band, ""), sa.func.coalesce(_reg.gender, ""))


async def register_strata(tx: Tx, assembly_id: uuid.UUID) -> tuple[dict[Cell, int], dict[Cell, int]]:
    """People of the register extract per stratum (region, age band, gender): all of them (the
    extract's composition) and those not yet invited."""
    rows = (await tx.session.execute(
        sa.select(*STRATUM, sa.func.count(),
                  sa.func.count().filter(_reg.invited.is_(False), m.data_keys.c.entry_id.is_not(None)))  # not erased
        .outerjoin(m.data_keys, m.data_keys.c.entry_id == _reg.id)
        .where(_reg.assembly_id == assembly_id).group_by(*STRATUM))).all()
    return {(r, a, g): n for r, a, g, n, _left in rows}, {(r, a, g): left for r, a, g, _n, left in rows}


def left_per_region(strata: tuple[dict[Cell, int], dict[Cell, int]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for (region, _a, _g), n in strata[1].items():
        out[region] = out.get(region, 0) + n
    return out


async def sample_plan(tx: Tx, assembly_id: uuid.UUID, count: int | None, *, per_region: dict[str, int] | None = None,
                      assembly=None) -> tuple[list[Stratum], ReplyRates]:
    """The invitation sample's letters per stratum for `count` letters (or a wave's `per_region`)
    as the register stands, with the assembly's expected reply rates (nothing is drawn)."""
    assembly = assembly or await load_assembly(tx, assembly_id)
    composition, available = await register_strata(tx, assembly_id)
    rates = reply_rates(assembly.reply_rates)
    return plan_sample(count, {r["code"]: r["population"] for r in assembly.regions}, composition, available, rates,
                       per_region=per_region), rates
