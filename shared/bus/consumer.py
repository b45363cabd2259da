"""Idempotent consumer: each event's effect and its inbox row in ONE transaction; the offset is
committed after that. Poison messages go to the service's dead-letter topic and the consumer
moves on.

A handler is `async def handler(tx: Tx, event: Envelope, payload: Contract) -> None`.
"""

from __future__ import annotations

import asyncio
from typing import Awaitable, Callable

import sqlalchemy as sa
import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from pydantic import BaseModel, ValidationError
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import async_sessionmaker

from shared import faults
from shared.bus.kafka import dlq_topic
from shared.bus.outbox import Tx
from shared.events.contracts import spec_for_topic
from shared.events.envelope import Envelope
from shared.metrics import CONSUMER_LAG, DEAD_LETTERS, EVENTS_CONSUMED, EVENTS_IN_FLIGHT

log = structlog.get_logger()

Handler = Callable[[Tx, Envelope, BaseModel], Awaitable[None]]


# Errors that say the infrastructure is unavailable, not that the event is bad.
TRANSIENT = (OperationalError, InterfaceError, ConnectionError, OSError, asyncio.TimeoutError)


class PoisonMessage(Exception):
    """The message can never be applied (malformed, unknown type, invalid payload)."""


class Consumer:
    def __init__(self, service: str, sessionmaker: async_sessionmaker, outbox: sa.Table, inbox: sa.Table,
                 handlers: dict[str, Handler], consumer: AIOKafkaConsumer, dlq_producer: AIOKafkaProducer,
                 *, max_attempts: int = 3, transient_backoff: float = 1.0, audit: sa.Table | None = None) -> None:
        self.service = service
        self.audit = audit
        self.sessionmaker = sessionmaker
        self.outbox = outbox
        self.inbox = inbox
        self.handlers = handlers
        self.consumer = consumer
        self.dlq = dlq_producer
        self.max_attempts = max_attempts
        self.transient_backoff = transient_backoff

    # ---- one message ------------------------------------------------------------------

    def parse(self, topic: str, value: bytes | None) -> tuple[Envelope, BaseModel]:
        spec = spec_for_topic(topic)
        if spec is None or topic not in self.handlers:
            raise PoisonMessage(f"no handler for topic {topic}")
        try:
            env = Envelope.model_validate_json(value or b"")
        except ValidationError as exc:
            raise PoisonMessage(f"malformed envelope: {exc.errors()[0]['msg']}") from exc
        if (env.type, env.version, env.source) != (spec.type, spec.version, spec.source):
            raise PoisonMessage(f"event {env.type} v{env.version} from {env.source} on topic {topic}")
        try:
            payload = spec.model.model_validate(env.payload)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise PoisonMessage(f"invalid payload: {'.'.join(map(str, first['loc']))}: {first['msg']}") from exc
        return env, payload

    async def apply(self, topic: str, env: Envelope, payload: BaseModel) -> bool:
        """Apply once. Returns False if the event was already applied (a redelivery)."""
        async with self.sessionmaker() as session, session.begin():
            inserted = (
                await session.execute(
                    pg_insert(self.inbox)
                    .values(consumer=self.service, event_id=env.id, topic=topic)
                    .on_conflict_do_nothing()
                    .returning(self.inbox.c.event_id)
                )
            ).first()
            if inserted is None:
                return False
            await self.handlers[topic](Tx(session=session, outbox=self.outbox, audit_table=self.audit), env, payload)
        faults.hit("consumer.after_effect")
        return True

    async def dead_letter(self, msg, reason: str) -> None:
        headers = [
            ("error", reason.encode()[:1000]),
            ("original_topic", msg.topic.encode()),
            ("original_partition", str(msg.partition).encode()),
            ("original_offset", str(msg.offset).encode()),
        ]
        await self.dlq.send_and_wait(dlq_topic(self.service), msg.value or b"", key=msg.key, headers=headers)
        DEAD_LETTERS.labels(self.service).inc()
        log.warning("event dead-lettered", topic=msg.topic, offset=msg.offset, reason=reason)

    async def process(self, msg) -> str:
        structlog.contextvars.bind_contextvars(topic=msg.topic, offset=msg.offset)
        try:
            env, payload = self.parse(msg.topic, msg.value)
        except PoisonMessage as exc:
            await self.dead_letter(msg, str(exc))
            EVENTS_CONSUMED.labels(self.service, "unknown", "dead_lettered").inc()
            return "dead_lettered"
        structlog.contextvars.bind_contextvars(event_id=str(env.id), correlation_id=env.correlation_id)
        EVENTS_IN_FLIGHT.labels(self.service).inc()
        try:
            attempt = 0
            while True:
                try:
                    outcome = "applied" if await self.apply(msg.topic, env, payload) else "duplicate"
                    break
                except TRANSIENT as exc:
                    # The database (or network) is down: not the event's fault. Wait and retry
                    # without limit; the offset stays uncommitted and /readyz reports the outage.
                    log.warning("infrastructure unavailable; retrying event", error=repr(exc))
                    EVENTS_CONSUMED.labels(self.service, env.type, "failed").inc()
                    await asyncio.sleep(self.transient_backoff)
                except Exception as exc:  # a handler bug: give up after max_attempts
                    attempt += 1
                    log.warning("event failed", attempt=attempt, error=repr(exc))
                    EVENTS_CONSUMED.labels(self.service, env.type, "failed").inc()
                    if attempt >= self.max_attempts:
                        await self.dead_letter(msg, f"failed {attempt} times: {exc!r}")
                        outcome = "dead_lettered"
                        break
                    await asyncio.sleep(0.2 * attempt)
        finally:
            EVENTS_IN_FLIGHT.labels(self.service).dec()
        EVENTS_CONSUMED.labels(self.service, env.type, outcome).inc()
        log.info("event processed", outcome=outcome, event_type=env.type)
        return outcome

    async def prune_inbox(self, retention_hours: float) -> int:
        i = self.inbox
        async with self.sessionmaker() as session, session.begin():
            result = await session.execute(
                sa.delete(i).where(i.c.consumer == self.service,
                                   i.c.processed_at < sa.func.now() - sa.text(f"interval '{float(retention_hours)} hours'"))
            )
        return result.rowcount

    # ---- the loop ---------------------------------------------------------------------

    async def run(self, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        while not stop.is_set():
            batches = await self.consumer.getmany(timeout_ms=300, max_records=500)
            for tp, msgs in batches.items():
                for msg in msgs:
                    await self.process(msg)
                    structlog.contextvars.unbind_contextvars("topic", "offset", "event_id", "correlation_id")
                faults.hit("consumer.before_commit")
                await self.consumer.commit({tp: msgs[-1].offset + 1})
                self._record_lag(tp, msgs[-1].offset + 1)

    def _record_lag(self, tp: TopicPartition, position: int) -> None:
        high = self.consumer.highwater(tp)
        if high is not None:
            CONSUMER_LAG.labels(self.service, tp.topic).set(max(0, high - position))
