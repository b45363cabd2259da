"""Table plans' reads: members' strata and seating needs, a session's plan, a member's tables."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import sqlalchemy as sa

from services.sessions.models import tables as mt
from shared.bus.outbox import Tx


async def strata_of(tx: Tx, assembly_id: uuid.UUID, members: Iterable[uuid.UUID]) -> dict[uuid.UUID, dict]:
    ids = list(members)
    rows = await tx.session.execute(sa.select(mt.member_strata.c.member_id, mt.member_strata.c.features).where(
        mt.member_strata.c.assembly_id == assembly_id, mt.member_strata.c.member_id.in_(ids)))
    return dict(rows.all())


async def needs_of(tx: Tx, assembly_id: uuid.UUID) -> dict[uuid.UUID, tuple[str | None, bool]]:
    rows = await tx.session.execute(sa.select(mt.table_needs).where(mt.table_needs.c.assembly_id == assembly_id))
    return {r.member_id: (r.language, r.accessible) for r in rows}


async def load_plan(tx: Tx, session_id: uuid.UUID, *, lock: bool = False):
    q = sa.select(mt.table_plans).where(mt.table_plans.c.session_id == session_id)
    if lock:
        q = q.with_for_update()
    return (await tx.session.execute(q)).first()


def plan_out(row) -> dict:
    """A plan as the API shows it (staff): settings, figures, both the current and published seats."""
    return {"session_id": row.session_id, "plan_id": row.plan_id, "version": row.version,
            "settings": row.settings, "figures": row.figures, "made_at": row.made_at,
            "rounds": row.rounds, "published_version": row.published_version, "published_at": row.published_at}


def tables_of(rounds: list[list[list[str]]], member_id: uuid.UUID) -> list[int | None]:
    """The member's table number (from 1) in each round; None where not seated."""
    key = str(member_id)
    return [next((t + 1 for t, table in enumerate(tables) if key in table), None) for tables in rounds]
