"""Reads of the first letters: people of the register per region and stratum, the invitation
batches, and the invitation sample's plan."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from services.recruitment import models as m
from services.recruitment.domain.sample import Cell, ReplyRates, Stratum, plan_sample, reply_rates
from services.recruitment.views import load_assembly
from shared.bus.outbox import Tx


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


# ---- the invitation sample: the register's strata and the letters per stratum -------------------

_reg = m.register_entries.c
STRATUM = (_reg.region, sa.func.coalesce(_reg.age_band, ""), sa.func.coalesce(_reg.gender, ""))


async def register_strata(tx: Tx, assembly_id: uuid.UUID) -> tuple[dict[Cell, int], dict[Cell, int]]:
    """People of the register extract per stratum (region, age band, gender): all of them (the
    extract's composition) and those not yet invited."""
    rows = (await tx.session.execute(
        sa.select(*STRATUM, sa.func.count(),
                  sa.func.count().filter(_reg.invited.is_(False), m.identities.c.entry_id.is_not(None),
                                         m.identities.c.erased_at.is_(None)))  # not erased
        .outerjoin(m.identities, m.identities.c.entry_id == _reg.id)
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
