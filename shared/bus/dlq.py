"""Replay dead letters: after the cause is fixed (a handler bug, a contract mismatch), an operator
sends the messages in a service's dead-letter topic back to their original topics. Consumers'
inboxes make a replay safe to repeat."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer

from shared.bus.kafka import dlq_topic, make_producer


@dataclass
class ReplayReport:
    replayed: int = 0
    skipped: int = 0
    by_topic: dict[str, int] = field(default_factory=dict)


async def replay(bootstrap: str, service: str, *, idle_seconds: float = 3.0, only_topic: str | None = None,
                 progress=lambda n: None, security: dict | None = None) -> ReplayReport:
    """Republish every message of `<service>.dlq.v1` not yet replayed to its original topic.

    Uses the consumer group `<service>-dlq-replay`, whose committed offset remembers how far
    earlier replays got; stops when no new dead letter arrives for `idle_seconds`.
    """
    report = ReplayReport()
    consumer = AIOKafkaConsumer(dlq_topic(service), bootstrap_servers=bootstrap, group_id=f"{service}-dlq-replay",
                                enable_auto_commit=False, auto_offset_reset="earliest", **(security or {}))
    producer = make_producer(bootstrap, f"{service}-dlq-replay", **(security or {}))
    await consumer.start()
    await producer.start()
    try:
        while True:
            batch = await consumer.getmany(timeout_ms=int(idle_seconds * 1000))
            if not batch:
                break
            for tp, msgs in batch.items():
                for msg in msgs:
                    headers = dict(msg.headers or ())
                    topic = headers.get("original_topic", b"").decode()
                    if not topic or (only_topic and topic != only_topic):
                        report.skipped += 1
                        continue
                    await producer.send_and_wait(topic, msg.value, key=msg.key,
                                                 headers=[("replayed_from", dlq_topic(service).encode())])
                    report.replayed += 1
                    report.by_topic[topic] = report.by_topic.get(topic, 0) + 1
                    progress(report.replayed)
                await consumer.commit({tp: msgs[-1].offset + 1})
    finally:
        await consumer.stop()
        await producer.stop()
    return report


def replay_sync(*args, **kwargs) -> ReplayReport:
    return asyncio.run(replay(*args, **kwargs))
