"""Sortition's event handlers (pool from recruitment's events) and the draw command."""

from __future__ import annotations

import secrets
import uuid

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.sortition import models as m
from services.sortition.domain import baseline_draw
from shared.bus.outbox import Tx
from shared.errors import conflict, invalid, not_found
from shared.events import contracts as ev
from shared.events.envelope import Envelope


async def on_assembly_created(tx: Tx, event: Envelope, p: ev.AssemblyCreatedV1) -> None:
    await tx.session.execute(
        pg_insert(m.assemblies)
        .values(id=p.assembly_id, panel_size=p.panel_size, strata=[s.model_dump() for s in p.strata])
        .on_conflict_do_nothing()
    )


async def on_respondent_registered(tx: Tx, event: Envelope, p: ev.RespondentRegisteredV1) -> None:
    await tx.session.execute(
        pg_insert(m.pool)
        .values(respondent_id=p.respondent_id, assembly_id=p.assembly_id, features=p.features, household=p.household)
        .on_conflict_do_nothing()
    )


async def on_respondent_withdrew(tx: Tx, event: Envelope, p: ev.RespondentWithdrewV1) -> None:
    # The withdrawal may arrive before the registration (different topics): leave a tombstone
    # that the later registration does not overwrite.
    await tx.session.execute(
        pg_insert(m.pool)
        .values(respondent_id=p.respondent_id, assembly_id=p.assembly_id, features={}, withdrawn=True)
        .on_conflict_do_update(index_elements=["respondent_id"], set_={"withdrawn": True, "features": {}})
    )


HANDLERS = {
    "recruitment.assembly-created.v1": on_assembly_created,
    "recruitment.respondent-registered.v1": on_respondent_registered,
    "recruitment.respondent-withdrew.v1": on_respondent_withdrew,
}


async def load_assembly(tx: Tx, assembly_id: uuid.UUID):
    row = (await tx.session.execute(sa.select(m.assemblies).where(m.assemblies.c.id == assembly_id))).first()
    if row is None:
        raise not_found("assembly (not yet known to sortition)")
    return row


async def load_pool(tx: Tx, assembly_id: uuid.UUID) -> list:
    return (
        await tx.session.execute(
            sa.select(m.pool).where(m.pool.c.assembly_id == assembly_id, m.pool.c.withdrawn.is_(False))
            .order_by(m.pool.c.respondent_id)
        )
    ).all()


async def pool_summary(tx: Tx, assembly_id: uuid.UUID) -> dict:
    a = await load_assembly(tx, assembly_id)
    people = await load_pool(tx, assembly_id)
    per_category = {
        s["category"]: {q["value"]: sum(1 for p in people if p.features.get(s["category"]) == q["value"]) for q in s["quotas"]}
        for s in a.strata
    }
    return {"size": len(people), "panel_size": a.panel_size, "per_category": per_category}


async def draw_panel(tx: Tx, assembly_id: uuid.UUID, *, seed: int | None, reserves: int) -> dict:
    a = await load_assembly(tx, assembly_id)
    await tx.session.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"draw:{assembly_id}"})
    existing = (await tx.session.execute(sa.select(m.panels.c.id).where(m.panels.c.assembly_id == assembly_id))).first()
    if existing is not None:
        raise conflict("a panel has already been drawn for this assembly; use replacements for drop-outs")
    people = await load_pool(tx, assembly_id)
    seed = seed if seed is not None else secrets.randbits(62)
    try:
        chosen = baseline_draw.draw([p.features for p in people], a.strata, a.panel_size, seed,
                                    [p.household for p in people])
    except baseline_draw.Infeasible as exc:
        raise invalid(f"no panel can be drawn from this pool: {exc}") from exc
    reserve_idx = baseline_draw.reserve_order(len(people), chosen, seed, reserves)
    members = [people[i].respondent_id for i in chosen]
    reserve_ids = [people[i].respondent_id for i in reserve_idx]
    panel_id = uuid.uuid4()
    await tx.session.execute(
        sa.insert(m.panels).values(id=panel_id, assembly_id=assembly_id, algorithm="baseline", seed=seed,
                                   pool_size=len(people), members=[str(x) for x in members],
                                   reserves=[str(x) for x in reserve_ids])
    )
    await tx.emit(
        ev.PanelDrawnV1(assembly_id=assembly_id, panel_id=panel_id, algorithm="baseline", members=members,
                        reserves=reserve_ids, pool_size=len(people)),
        subject=assembly_id,
    )
    return {"panel_id": panel_id, "algorithm": "baseline", "seed": seed, "pool_size": len(people),
            "members": members, "reserves": reserve_ids}


async def get_panel(tx: Tx, assembly_id: uuid.UUID) -> dict:
    row = (await tx.session.execute(sa.select(m.panels).where(m.panels.c.assembly_id == assembly_id))).first()
    if row is None:
        raise not_found("panel")
    return {"panel_id": row.id, "algorithm": row.algorithm, "seed": row.seed, "pool_size": row.pool_size,
            "members": row.members, "reserves": row.reserves}
