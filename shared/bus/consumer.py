"""Idempotent consumer: the events' effects and their inbox rows in ONE transaction; the offset
is committed after that. Poison messages go to the service's dead-letter topic and the consumer
moves on.

Batches: the messages that one poll returns, of every partition, are applied together in one
transaction (their inbox rows in one statement; a redelivered event finds its row and is skipped),
and the offsets of all those partitions are committed together after it. Each partition's messages
keep their order, and the partitions of a topic are applied one after the other, so a `Bulk`
handler gets the poll's events of its topic in one call. (A transaction and an offset commit per
partition were the consumer's cost under load: a poll returns a few events from each of dozens of
partitions; docs/evaluation.md has the figures.) A batch is logged in one line and counted in one
increment per event type and outcome, not per event. If applying a batch fails, its events are applied
again one by one, each in its own transaction, so that only a bad event is retried and
dead-lettered and the good ones around it are applied.

A handler is `async def handler(tx: Tx, event: Envelope, payload: Contract) -> None`. A `Bulk`
handler also applies many events of its topic at once (one statement for a whole batch).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from itertools import groupby
from typing import Awaitable, Callable

import sqlalchemy as sa
import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from pydantic import BaseModel, ValidationError
from sqlalchemy.dialects.postgresql import ARRAY, UUID
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


class Bulk:
    """A handler that can apply many events of its topic in one go: `many(tx, [(event, payload), ...])`
    gets the new (not yet applied) events of a batch, in order. Called with one event it is an
    ordinary handler."""

    def __init__(self, many: Callable[[Tx, list[tuple[Envelope, BaseModel]]], Awaitable[None]]) -> None:
        self.many = many

    async def __call__(self, tx: Tx, event: Envelope, payload: BaseModel) -> None:
        await self.many(tx, [(event, payload)])


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
        # The inbox rows of a whole batch in one statement; returns the ids not seen before.
        self._inbox_many = sa.text(
            f"INSERT INTO {inbox.fullname} (consumer, event_id, topic) "
            "SELECT :consumer, u.event_id, u.topic FROM unnest(:ids, :topics) AS u(event_id, topic) "
            "ON CONFLICT DO NOTHING RETURNING event_id"
        ).bindparams(sa.bindparam("ids", type_=ARRAY(UUID(as_uuid=True))),
                     sa.bindparam("topics", type_=ARRAY(sa.Text))).columns(event_id=UUID(as_uuid=True))

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

    async def apply_many(self, items: list[tuple[str, Envelope, BaseModel]]) -> list[bool]:
        """Apply many events in ONE transaction, in order; per event False if it was applied
        before (a redelivery, or a second copy in the same batch)."""
        ids, topics, first = [], [], []
        seen: set = set()
        for topic, env, _ in items:
            first.append(env.id not in seen)
            if env.id not in seen:
                seen.add(env.id)
                ids.append(env.id)
                topics.append(topic)
        async with self.sessionmaker() as session, session.begin():
            new = set((await session.execute(self._inbox_many, {"consumer": self.service, "ids": ids,
                                                                "topics": topics})).scalars())
            fresh = [f and env.id in new for f, (_, env, _) in zip(first, items)]
            tx = Tx(session=session, outbox=self.outbox, audit_table=self.audit)
            todo = [item for item, f in zip(items, fresh) if f]
            for topic, run in groupby(todo, key=lambda item: item[0]):
                handler = self.handlers[topic]
                if isinstance(handler, Bulk):  # a run of events of one topic, in one call
                    await handler.many(tx, [(env, payload) for _, env, payload in run])
                    continue
                for _, env, payload in run:
                    structlog.contextvars.bind_contextvars(event_id=str(env.id), correlation_id=env.correlation_id)
                    await handler(tx, env, payload)
            # the batch's own log line must not carry the last event's ids
            structlog.contextvars.unbind_contextvars("event_id", "correlation_id")
        faults.hit("consumer.after_effect")
        return fresh

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

    def processed(self, msg, outcome: str) -> None:
        """Called once per message with its outcome (applied, duplicate, dead_lettered), in the
        order of the messages, before the offset is committed. A hook for tests and tools."""

    async def process(self, msg) -> str:
        """One message on its own, in its own transaction."""
        outcome = await self._process_one(msg)
        self.processed(msg, outcome)
        return outcome

    async def _poison(self, msg, exc: PoisonMessage) -> str:
        await self.dead_letter(msg, str(exc))
        EVENTS_CONSUMED.labels(self.service, "unknown", "dead_lettered").inc()
        return "dead_lettered"

    async def process_batch(self, msgs: list) -> list[str]:
        """The messages (of one poll) in one transaction, in their order; one by one if that fails."""
        if len(msgs) == 1:
            return [await self.process(msgs[0])]
        outcomes: list[str | None] = [None] * len(msgs)
        good: list[tuple[int, str, Envelope, BaseModel]] = []
        for k, msg in enumerate(msgs):
            try:
                env, payload = self.parse(msg.topic, msg.value)
            except PoisonMessage as exc:
                structlog.contextvars.bind_contextvars(topic=msg.topic, offset=msg.offset)
                outcomes[k] = await self._poison(msg, exc)
                continue
            good.append((k, msg.topic, env, payload))
        if good:
            EVENTS_IN_FLIGHT.labels(self.service).inc(len(good))
            try:
                fresh = await self.apply_many([(t, e, p) for _, t, e, p in good])
            except Exception as exc:  # a bad event, or the database: each on its own, with its retries
                log.warning("batch failed; applying its events one by one", events=len(good), error=repr(exc))
                for k, *_ in good:
                    outcomes[k] = await self._process_one(msgs[k])
            else:
                counted: Counter = Counter()
                for (k, _, env, _), f in zip(good, fresh):
                    outcomes[k] = "applied" if f else "duplicate"
                    counted[env.type, outcomes[k]] += 1
                self._log_batch(good, counted)
            finally:
                EVENTS_IN_FLIGHT.labels(self.service).dec(len(good))
        for msg, outcome in zip(msgs, outcomes):
            self.processed(msg, outcome)
        return outcomes

    def _log_batch(self, good: list[tuple[int, str, Envelope, BaseModel]], counted: Counter) -> None:
        """One log line and one counter increment per (event type, outcome) for a whole batch: a line
        and a counter update per event were a third of the consumer's time at 1,000 events/s
        (docs/evaluation.md). The line names the batch's correlation ids, so that a request can
        still be followed into the consumer that applied its events."""
        for (event_type, outcome), n in counted.items():
            EVENTS_CONSUMED.labels(self.service, event_type, outcome).inc(n)
        outcomes: Counter = Counter()
        for (_, outcome), n in counted.items():
            outcomes[outcome] += n
        log.info("events processed", events=len(good), **outcomes,
                 topics=dict(Counter(topic for _, topic, _, _ in good)),
                 correlation_ids=sorted({e.correlation_id for _, _, e, _ in good if e.correlation_id}))

    async def _process_one(self, msg) -> str:
        structlog.contextvars.bind_contextvars(topic=msg.topic, offset=msg.offset)
        try:
            env, payload = self.parse(msg.topic, msg.value)
        except PoisonMessage as exc:
            return await self._poison(msg, exc)
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

    async def _poll(self) -> list[tuple[TopicPartition, list]]:
        """One poll, applied: each partition's messages in their order, a topic's partitions
        together. Returns the poll's partitions and messages (none: nothing came)."""
        batches = await self.consumer.getmany(timeout_ms=300, max_records=500)
        if not batches:
            return []
        parts = sorted(batches.items(), key=lambda item: (item[0].topic, item[0].partition))
        await self.process_batch([m for _, msgs in parts for m in msgs])
        structlog.contextvars.unbind_contextvars("topic", "offset", "event_id", "correlation_id")
        return parts

    async def run(self, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        while not stop.is_set():
            parts = await self._poll()
            if not parts:
                continue
            faults.hit("consumer.before_commit")
            await self.consumer.commit({tp: msgs[-1].offset + 1 for tp, msgs in parts})
            for tp, msgs in parts:
                self._record_lag(tp, msgs[-1].offset + 1)

    async def replay(self, ends: dict[TopicPartition, int]) -> int:
        """Applies the assigned partitions' messages (a consumer without a group, each partition
        sought to where the replay starts) until every partition has reached its offset in `ends`
        (the end offsets when the replay began); commits no offsets. The rebuild of a read model
        from offset 0. Returns how many messages were read."""
        left = {tp: end for tp, end in ends.items() if await self.consumer.position(tp) < end}
        read = 0
        while left:
            parts = await self._poll()
            for tp, msgs in parts:
                read += len(msgs)
                if msgs[-1].offset + 1 >= left.get(tp, 0):
                    left.pop(tp, None)
            if not parts:  # offsets without a message (compacted away, control records) end a partition too
                left = {tp: end for tp, end in left.items() if await self.consumer.position(tp) < end}
        return read

    def _record_lag(self, tp: TopicPartition, position: int) -> None:
        high = self.consumer.highwater(tp)
        if high is not None:
            CONSUMER_LAG.labels(self.service, tp.topic).set(max(0, high - position))
