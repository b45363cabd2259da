"""Read-model projections that several services keep alike.

`panel_membership_handlers(table)`: who is on an assembly's panel now, from sortition's
panel-drawn and replacement-drawn events, into a service's own table with the columns
(assembly_id, member_id, active), declared with `panel_membership_table(metadata, name)`.
Recruitment keeps its members, sessions its roster and voting its electorate this way.

`audit_head_handlers(table)`: the latest head of every service's audit trail per assembly, from
the `<service>.audit-head.v1` events, into a table made by `shared.audit.audit_heads_table`.
Reporting publishes them in the report and voting signs them into its board's checkpoints.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.dialects.postgresql import insert as pg_insert

from shared.bus.outbox import Tx
from shared.events import contracts as ev
from shared.events.envelope import Envelope


def panel_membership_table(metadata: sa.MetaData, name: str) -> sa.Table:
    """A service's own copy of who is on each assembly's panel (kept by panel_membership_handlers);
    `member_id` is the respondent's pseudonymous id."""
    return sa.Table(
        name,
        metadata,
        sa.Column("assembly_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("member_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    )


async def _upsert(tx: Tx, table: sa.Table, assembly_id, member_ids, *, active: bool, overwrite: bool) -> None:
    if not member_ids:
        return
    stmt = pg_insert(table).values([{"assembly_id": assembly_id, "member_id": x, "active": active} for x in member_ids])
    if overwrite:
        stmt = stmt.on_conflict_do_update(index_elements=["assembly_id", "member_id"], set_={"active": active})
    else:
        stmt = stmt.on_conflict_do_nothing()
    await tx.session.execute(stmt)


def panel_membership_handlers(table: sa.Table) -> dict:
    async def on_panel_drawn(tx: Tx, event: Envelope, p: ev.PanelDrawnV1) -> None:
        # Does not overwrite: a replacement that overtook this event has already set its rows.
        await _upsert(tx, table, p.assembly_id, p.members, active=True, overwrite=False)

    async def on_replacement_drawn(tx: Tx, event: Envelope, p: ev.ReplacementDrawnV1) -> None:
        # Upsert, not update: if this overtakes panel-drawn, the dropped members stay inactive.
        await _upsert(tx, table, p.assembly_id, p.dropped, active=False, overwrite=True)
        await _upsert(tx, table, p.assembly_id, p.added, active=True, overwrite=True)

    return {
        "sortition.panel-drawn.v1": on_panel_drawn,
        "sortition.replacement-drawn.v1": on_replacement_drawn,
    }


def audit_head_handlers(table: sa.Table) -> dict:
    async def on_audit_head(tx: Tx, event: Envelope, p: ev.AuditHeadV1) -> None:
        # Heads of one trail arrive in order (one topic, keyed by assembly); a redelivered or
        # overtaken one never moves the head back.
        stmt = pg_insert(table).values(assembly_id=p.assembly_id, service=p.service, seq=p.seq, hash=p.hash)
        await tx.session.execute(stmt.on_conflict_do_update(
            index_elements=["assembly_id", "service"], set_={"seq": p.seq, "hash": p.hash},
            where=table.c.seq < stmt.excluded.seq))

    return {f"{service}.audit-head.v1": on_audit_head for service in ev.AUDIT_HEADS}
