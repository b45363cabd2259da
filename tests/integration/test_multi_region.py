"""Two regions on two embedded brokers, with events mirrored between them as docs/multi-region.md
describes: the residency region writes recruitment's events of the assemblies it owns, the home
region the draws and its own assemblies' events; each topic flows one way only, keeps its partitions
and the order per assembly key, and a mirror that is stopped half way and started again loses
nothing. A mirror may repeat: the home region's consumer (its inbox in the test stack's PostgreSQL)
applies a repeated event once."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from aiokafka import AIOKafkaConsumer

from services.recruitment.app import SPEC as RECRUITMENT
from services.reporting.app import SPEC as REPORTING
from shared.bus.kafka import ensure_topics, make_consumer, make_producer
from shared.bus.relay import Relay
from shared.devstack import free_port
from tests.integration.test_delivery import (  # noqa: F401 (effects is a fixture)
    Recording, count_effects, effect_handler, effects, emit_invitations)
from tests.integration.test_kafka_security import _tansu
from tests.mirror import Mirror

pytestmark = pytest.mark.integration
REGISTERED = "recruitment.respondent-registered.v1"  # written in the region that owns the assembly
DRAWN = "sortition.panel-drawn.v1"  # written in the home region only
PARTITIONS = 3


@pytest.fixture
def regions(tmp_path):
    procs, urls = [], {}
    for name in ("home", "residency"):
        port = free_port()
        procs.append(_tansu(tmp_path / f"{name}.log", port, port))
        urls[name] = f"127.0.0.1:{port}"
    try:
        yield urls
    finally:
        for p in procs:
            p.terminate()
            p.wait(10)


async def _write(bootstrap: str, topic: str, assembly: uuid.UUID, seqs: range, region: str) -> dict[int, int]:
    """Events of one assembly, numbered; returns seq -> partition."""
    producer = make_producer(bootstrap, f"writer-{region}")
    await producer.start()
    try:
        where = {}
        for seq in seqs:
            md = await producer.send_and_wait(
                topic, json.dumps({"seq": seq}).encode(), key=str(assembly).encode(),
                headers=[("event_id", str(uuid.uuid5(assembly, f"{topic}/{seq}")).encode()), ("region", region.encode())])
            where[seq] = md.partition
        return where
    finally:
        await producer.stop()


async def _read(bootstrap: str, topic: str) -> list:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None,
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    try:
        out = []
        while batch := await consumer.getmany(timeout_ms=1000):
            for records in batch.values():
                out.extend(records)
        return out
    finally:
        await consumer.stop()


def _by_assembly(records) -> dict[str, list]:
    out: dict[str, list] = {}
    for r in records:
        out.setdefault(r.key.decode(), []).append(r)
    return out


async def test_events_cross_regions_one_way_in_order_per_assembly(regions):
    home, residency = regions["home"], regions["residency"]
    for url in (home, residency):
        await ensure_topics(url, [REGISTERED, DRAWN], partitions=PARTITIONS)
    # assembly keys are owned by one region each: A's registrations happen in the residency region,
    # B is an assembly of the home region (its recruitment runs there)
    a, b = uuid.UUID(int=1), uuid.UUID(int=2)
    placed_a = await _write(residency, REGISTERED, a, range(0, 40), "residency")
    placed_b = await _write(home, REGISTERED, b, range(0, 15), "home")
    await _write(home, DRAWN, a, range(0, 5), "home")  # the draw for A happens at home

    to_home = Mirror(residency, home, [REGISTERED], group="mirror-to-home")
    to_residency = Mirror(home, residency, [DRAWN], group="mirror-to-residency")
    # the mirror to home stops half way, more registrations arrive, and it starts again
    first = await to_home.run_until_idle(stop_after=15)
    assert 15 <= first < 40
    placed_a.update(await _write(residency, REGISTERED, a, range(40, 60), "residency"))
    rest = await to_home.run_until_idle()
    assert first + rest == 60
    assert await to_residency.run_until_idle() == 5

    at_home = _by_assembly(await _read(home, REGISTERED))
    seen = [json.loads(r.value)["seq"] for r in at_home[str(a)]]
    assert seen == list(range(60)), "every event of A, once, in the order it was written"
    assert all(r.partition == placed_a[json.loads(r.value)["seq"]] for r in at_home[str(a)]), "same partition"
    assert {dict(r.headers)["region"] for r in at_home[str(a)]} == {b"residency"}, "A is written by one region"
    assert [json.loads(r.value)["seq"] for r in at_home[str(b)]] == list(range(15)), "home's own assembly untouched"
    assert {r.partition for r in at_home[str(b)]} == set(placed_b.values())

    # one way only: the residency region never receives registrations back, nor home its draws twice
    at_residency = _by_assembly(await _read(residency, REGISTERED))
    assert set(at_residency) == {str(a)} and len(at_residency[str(a)]) == 60
    assert len(await _read(home, DRAWN)) == 5
    drawn_there = await _read(residency, DRAWN)
    assert [json.loads(r.value)["seq"] for r in drawn_there] == list(range(5))
    # the event id travels with the event: a consumer's inbox recognises a mirrored repeat
    assert {dict(r.headers)["event_id"] for r in drawn_there} == {
        str(uuid.uuid5(a, f"{DRAWN}/{i}")).encode() for i in range(5)}
    await asyncio.sleep(0)


@pytest.mark.usefixtures("effects")
async def test_a_mirrored_repeat_is_applied_once_by_the_home_regions_consumer(regions, sessionmaker, engine):
    """The residency region's relay publishes real envelopes; the mirror copies them to home twice
    (a mirror that lost its offsets starts over); the home region's consumer applies each once."""
    home, residency = regions["home"], regions["residency"]
    topic = "recruitment.invitations-sent.v1"
    for url in (home, residency):
        await ensure_topics(url, [topic], partitions=PARTITIONS)
    ids = {str(await emit_invitations(sessionmaker)) for _ in range(5)}
    producer = make_producer(residency, "residency-relay")
    await producer.start()
    try:
        relay = Relay("recruitment", sessionmaker, RECRUITMENT.outbox, producer)
        while await relay.publish_batch():
            pass
    finally:
        await producer.stop()
    assert await Mirror(residency, home, [topic], group="mirror-1").run_until_idle() >= 5
    assert await Mirror(residency, home, [topic], group="mirror-2").run_until_idle() >= 5  # starts over
    copies = [json.loads(r.value)["id"] for r in await _read(home, topic)]
    assert all(copies.count(i) == 2 for i in ids), "the home topic holds every event twice"

    name = f"home-{uuid.uuid4().hex[:6]}"
    stop = asyncio.Event()
    kc = make_consumer(home, name, [topic], 10000)
    dlq = make_producer(home, f"{name}-dlq")
    await kc.start()
    await dlq.start()
    c = Recording(name, sessionmaker, REPORTING.outbox, REPORTING.inbox, {topic: effect_handler(name)}, kc, dlq)
    task = asyncio.create_task(c.run(stop))
    try:
        for _ in range(600):  # until both copies of every event went through the consumer
            if all(len(c.outcomes.get(i, [])) >= 2 for i in ids) or task.done():
                break
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
        await kc.stop()
        await dlq.stop()
    assert all(len(c.outcomes[i]) == 2 for i in ids), c.outcomes
    for i in ids:
        assert await count_effects(engine, name, uuid.UUID(i)) == 1, "applied once, the repeat skipped"
