"""Unit of work: a state change and the events it causes, written in ONE database transaction."""

from __future__ import annotations

import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import AsyncIterator

import sqlalchemy as sa
import structlog
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.audit import append
from shared.auth.principal import current_principal
from shared.events.contracts import AUDIT_HEADS
from shared.events.envelope import Envelope, new_event


@dataclass
class Tx:
    """What a handler gets: the session, and `emit` to add an event to the outbox."""

    session: AsyncSession
    outbox: sa.Table
    audit_table: sa.Table | None = None
    emitted: list[Envelope] = field(default_factory=list)

    async def audit(self, action: str, assembly_id: uuid.UUID, *, object_id=None, details: dict | None = None,
                    actor: str | None = None) -> dict:
        """Add a state change of consequence to the assembly's audit trail, in this transaction.
        The actor is the request's principal (or `system` for event handlers) unless the flow's
        own credential says who acts (a letter's code). No personal data."""
        if self.audit_table is None:
            raise RuntimeError("this transaction has no audit table (ServiceSpec.audit)")
        principal = current_principal.get()
        ctx = structlog.contextvars.get_contextvars()
        entry = await append(self.session, self.audit_table, assembly_id=assembly_id,
                             actor=actor or (principal.actor if principal else "system"), action=action,
                             object_id=object_id, details=details, correlation_id=ctx.get("correlation_id"))
        # The new head leaves the service with the change (anchored by reporting and voting).
        head = AUDIT_HEADS.get(self.audit_table.schema or "")
        if head is not None:
            await self.emit(head(assembly_id=assembly_id, service=self.audit_table.schema, seq=entry["seq"],
                                 hash=entry["hash"]), subject=assembly_id)
        return entry

    async def emit(self, payload: BaseModel, *, subject: uuid.UUID, region: str | None = None) -> Envelope:
        ctx = structlog.contextvars.get_contextvars()
        env = new_event(payload, subject=subject, region=region, correlation_id=ctx.get("correlation_id"))
        await self.session.execute(
            sa.insert(self.outbox).values(
                event_id=env.id, topic=env.topic, key=str(env.subject), envelope=env.model_dump(mode="json")
            )
        )
        self.emitted.append(env)
        return env


@asynccontextmanager
async def transaction(sessionmaker: async_sessionmaker, outbox: sa.Table,
                      audit: sa.Table | None = None) -> AsyncIterator[Tx]:
    async with sessionmaker() as session, session.begin():
        yield Tx(session=session, outbox=outbox, audit_table=audit)
