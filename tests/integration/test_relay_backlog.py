"""The outbox backlog gauge tells the truth when it matters: while the broker cannot be reached —
both when the relay starts without a broker and when publishing fails."""

from __future__ import annotations

import asyncio
import uuid
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from services.recruitment.app import SPEC as RECRUITMENT
from shared.bus.kafka import make_producer
from shared.bus.relay import Relay
from shared.devstack import free_port
from shared.metrics import OUTBOX_BACKLOG, OUTBOX_PUBLISHED
from shared.runtime import _run_relay
from tests.integration.test_kafka_security import _tansu

pytestmark = pytest.mark.integration
TOPIC = "backlog.test.v1"


def _value(metric, service: str) -> float:
    return metric.labels(service)._value.get()


@pytest.fixture
async def unsent(engine):
    """Three unsent outbox rows more than before; returns the unsent count."""
    o = RECRUITMENT.outbox
    async with engine.begin() as conn:
        for _ in range(3):
            await conn.execute(sa.insert(o).values(event_id=uuid.uuid4(), topic=TOPIC, key="a", envelope={"type": TOPIC}))
        n = (await conn.execute(sa.select(sa.func.count()).where(o.c.sent_at.is_(None)))).scalar_one()
    yield n
    async with engine.begin() as conn:
        await conn.execute(sa.delete(o).where(o.c.topic == TOPIC))


async def _until_measured(service: str, want: int, task: asyncio.Task, stop: asyncio.Event) -> None:
    for _ in range(100):
        if _value(OUTBOX_BACKLOG, service) == want or task.done():
            break
        await asyncio.sleep(0.1)
    stop.set()
    await asyncio.wait_for(task, 15)


async def test_a_relay_without_a_broker_waits_and_measures_its_backlog(settings, sessionmaker, unsent):
    service = f"backlog-{uuid.uuid4().hex[:6]}"
    down = settings.model_copy(update={"kafka_bootstrap_servers": f"127.0.0.1:{free_port()}", "create_topics": False})
    rt = SimpleNamespace(settings=down, sessionmaker=sessionmaker, spec=SimpleNamespace(name=service, outbox=RECRUITMENT.outbox))
    stop = asyncio.Event()
    task = asyncio.create_task(_run_relay(rt, stop))
    await _until_measured(service, unsent, task, stop)
    assert task.exception() is None, "the relay must wait for the broker, not die"
    assert _value(OUTBOX_BACKLOG, service) == unsent
    assert _value(OUTBOX_PUBLISHED, service) == 0, "the counter exists from the start, so 'nothing published' can alert"


async def test_the_backlog_is_measured_when_the_broker_goes_away(sessionmaker, unsent, tmp_path):
    service = f"backlog-{uuid.uuid4().hex[:6]}"
    port = free_port()
    broker = _tansu(tmp_path / "tansu.log", port, port)  # a broker of its own, to stop
    producer = make_producer(f"127.0.0.1:{port}", "backlog-test", request_timeout_ms=1000)
    try:
        await producer.start()
        broker.terminate()
        broker.wait(10)
        relay = Relay(service, sessionmaker, RECRUITMENT.outbox, producer, idle_seconds=0.1)
        stop = asyncio.Event()
        task = asyncio.create_task(relay.run(stop))
        await _until_measured(service, unsent, task, stop)
        assert _value(OUTBOX_BACKLOG, service) == unsent
        assert _value(OUTBOX_PUBLISHED, service) == 0
    finally:
        broker.kill()
        await producer.stop()
