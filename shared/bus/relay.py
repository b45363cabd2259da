"""Outbox relay: publish unsent outbox rows in order, then mark them sent.

Rows are claimed with FOR UPDATE SKIP LOCKED, so several relays can run side by side. A crash
between publish and mark means the rows are published again; consumers' inboxes absorb that.
"""

from __future__ import annotations

import asyncio
import time

import sqlalchemy as sa
import structlog
from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import async_sessionmaker

from shared import faults
from shared.metrics import EVENTS_PUBLISHED, OUTBOX_BACKLOG, OUTBOX_PUBLISHED

log = structlog.get_logger()
BACKLOG_EVERY = 5.0  # seconds: the most the backlog gauge lags behind while batches are full


class Relay:
    def __init__(self, service: str, sessionmaker: async_sessionmaker, outbox: sa.Table,
                 producer: AIOKafkaProducer, *, batch_size: int = 200, idle_seconds: float = 0.2,
                 retention_hours: float = 24 * 7) -> None:
        self.service = service
        self.sessionmaker = sessionmaker
        self.outbox = outbox
        self.producer = producer
        self.batch_size = batch_size
        self.idle_seconds = idle_seconds
        self.retention_hours = retention_hours
        self._last_prune = 0.0
        self._last_backlog = 0.0
        # The series exist from the start (at 0), so that "backlog > 0 and nothing published" can
        # fire for a relay that has never published once.
        OUTBOX_PUBLISHED.labels(service)
        OUTBOX_BACKLOG.labels(service)

    async def publish_batch(self) -> int:
        """Publish one batch; returns how many rows were published and marked sent."""
        o = self.outbox
        async with self.sessionmaker() as session, session.begin():
            # The envelope as the database's JSON text and its type: no decoding and re-encoding here.
            rows = (
                await session.execute(
                    sa.select(o.c.id, o.c.topic, o.c.key, o.c.event_id, o.c.envelope["type"].astext.label("type"),
                              sa.cast(o.c.envelope, sa.Text).label("body"))
                    .where(o.c.sent_at.is_(None))
                    .order_by(o.c.id)
                    .limit(self.batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0
            futures = []
            for row in rows:
                headers = [("event_type", row.type.encode()), ("event_id", str(row.event_id).encode())]
                futures.append(
                    await self.producer.send(row.topic, row.body.encode(), key=row.key.encode(), headers=headers)
                )
            await asyncio.gather(*futures)  # every record acknowledged by the broker (acks=all)
            faults.hit("relay.after_publish")
            await session.execute(sa.update(o).where(o.c.id.in_([r.id for r in rows])).values(sent_at=sa.func.now()))
        for row in rows:
            EVENTS_PUBLISHED.labels(self.service, row.type).inc()
        OUTBOX_PUBLISHED.labels(self.service).inc(len(rows))
        log.info("outbox published", rows=len(rows))
        return len(rows)

    async def backlog(self) -> int:
        async with self.sessionmaker() as session:
            n = (await session.execute(sa.select(sa.func.count()).where(self.outbox.c.sent_at.is_(None)))).scalar_one()
        OUTBOX_BACKLOG.labels(self.service).set(n)
        self._last_backlog = time.monotonic()
        return n

    async def measure_backlog(self) -> None:
        """The backlog gauge, whatever the broker does: measured while the relay cannot publish (that
        is when it matters) and at least every BACKLOG_EVERY seconds under load."""
        try:
            await self.backlog()
        except Exception:  # the database is down too: /readyz and its own alert say so
            log.warning("outbox backlog cannot be measured")

    async def prune(self) -> int:
        """Delete sent rows older than the retention; unsent rows are never deleted."""
        o = self.outbox
        async with self.sessionmaker() as session, session.begin():
            result = await session.execute(
                sa.delete(o).where(o.c.sent_at.is_not(None),
                                   o.c.sent_at < sa.func.now() - sa.text(f"interval '{float(self.retention_hours)} hours'"))
            )
        if result.rowcount:
            log.info("outbox pruned", rows=result.rowcount)
        return result.rowcount

    async def run(self, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        while not stop.is_set():
            try:
                n = await self.publish_batch()
                if n < self.batch_size or time.monotonic() - self._last_backlog > BACKLOG_EVERY:
                    await self.backlog()
                if n < self.batch_size:
                    if time.monotonic() - self._last_prune > 3600:
                        self._last_prune = time.monotonic()
                        await self.prune()
                    try:
                        await asyncio.wait_for(stop.wait(), timeout=self.idle_seconds)
                    except asyncio.TimeoutError:
                        pass
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("relay batch failed; retrying")
                await self.measure_backlog()
                await asyncio.sleep(1.0)
