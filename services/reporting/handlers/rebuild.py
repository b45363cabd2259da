"""The rebuild of reporting's read models: every table built from events (and the inbox) is
emptied, and every topic reporting reads is applied again from offset 0 through the same handlers
and the same consumer as the live stream (shared/bus/consumer.py), up to the end offsets seen when
the rebuild began. Reporting's own data (models.OWN) is left alone.

Run it with the consumer stopped (`borgerting reporting rebuild`, docs/evaluation.md): the figures
are incomplete until it ends. Should the consumer run meanwhile, nothing is lost or counted twice
(the inbox skips what either applied), but what the pages show is incomplete all the same."""

from __future__ import annotations

import time
from dataclasses import dataclass

import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from sqlalchemy.ext.asyncio import async_sessionmaker

from services.reporting import models as m
from services.reporting.handlers import HANDLERS
from shared.bus.consumer import Consumer


@dataclass(frozen=True)
class Rebuilt:
    events: int  # messages read from the topics (those of other assemblies and duplicates included)
    applied: int  # events in the inbox afterwards
    seconds: float
    tables: tuple[str, ...]


async def wipe(sessionmaker: async_sessionmaker) -> tuple[str, ...]:
    """Empties every table built from events and the inbox, in one statement."""
    tables = m.read_models()
    async with sessionmaker() as session, session.begin():
        await session.execute(sa.text("TRUNCATE " + ", ".join(t.fullname for t in tables)))
    return tuple(t.name for t in tables)


async def rebuild(service: str, sessionmaker: async_sessionmaker, reader: AIOKafkaConsumer,
                  dlq: AIOKafkaProducer) -> Rebuilt:
    """`reader`: a started consumer without a group (shared.bus.kafka.make_reader); `dlq`: a started
    producer for the dead letters (a message that cannot be applied is dead-lettered again)."""
    t0 = time.monotonic()
    topics = sorted(HANDLERS)
    await reader.topics()  # the partitions of every topic
    partitions = [TopicPartition(t, p) for t in topics for p in sorted(reader.partitions_for_topic(t) or ())]
    tables = await wipe(sessionmaker)
    reader.assign(partitions)
    await reader.seek_to_beginning(*partitions)
    ends = await reader.end_offsets(partitions)
    consumer = Consumer(service, sessionmaker, m.outbox, m.inbox, HANDLERS, reader, dlq, audit=m.audit)
    read = await consumer.replay(ends)
    async with sessionmaker() as session:
        applied = (await session.execute(sa.select(sa.func.count()).select_from(m.inbox))).scalar_one()
    return Rebuilt(events=read, applied=applied, seconds=time.monotonic() - t0, tables=tables)
