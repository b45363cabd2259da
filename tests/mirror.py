"""A one-way topic mirror on aiokafka: what MirrorMaker 2 with IdentityReplicationPolicy does between
two regions (deploy/k8s/overlays/multi-region), in miniature, for tests on two embedded brokers.

Same topic names; each record keeps its partition, key, value and headers, so the order per key (per
assembly) is the source's. The source offsets it has copied are committed in the source cluster (its
consumer group) only after the target acknowledged the batch, so a mirror that stops and starts
again resumes there: at least once, like MirrorMaker 2 — the consumers' inbox absorbs a repeat.
"""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.bus.kafka import make_producer


class Mirror:
    def __init__(self, source: str, target: str, topics: list[str], group: str) -> None:
        self.source, self.target, self.topics, self.group = source, target, topics, group

    async def run_until_idle(self, idle_seconds: float = 1.5, stop_after: int | None = None) -> int:
        """Copy until nothing new arrives for `idle_seconds` (or after about `stop_after` records,
        as a mirror that is stopped half way); returns how many records were copied."""
        consumer = AIOKafkaConsumer(*self.topics, bootstrap_servers=self.source, group_id=self.group,
                                    enable_auto_commit=False, auto_offset_reset="earliest",
                                    session_timeout_ms=3000, heartbeat_interval_ms=1000, fetch_max_wait_ms=100)
        producer = make_producer(self.target, self.group)
        await consumer.start()
        await producer.start()
        copied = 0
        try:
            while stop_after is None or copied < stop_after:
                batch = await consumer.getmany(timeout_ms=int(idle_seconds * 1000),
                                               max_records=5 if stop_after is not None else 500)
                if not batch:
                    break
                for tp, records in batch.items():
                    sent = [await producer.send(r.topic, r.value, key=r.key, partition=r.partition,
                                                headers=list(r.headers or ())) for r in records]
                    await asyncio.gather(*sent)  # acknowledged by the target (acks=all) ...
                    await consumer.commit({TopicPartition(tp.topic, tp.partition): records[-1].offset + 1})  # ... then
                    copied += len(records)
        finally:
            await producer.stop()
            await consumer.stop()
        return copied
