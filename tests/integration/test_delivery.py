"""Delivery is proven, not assumed (real PostgreSQL and a real Kafka-protocol broker):
(a) the relay dies after publishing and before marking sent -> the event is published twice and
    applied once; (b) a consumer dies after its effect and before committing the offset -> the
    redelivered event is skipped; (c) a malformed message goes to the dead-letter topic and the
    consumer goes on with the next ones."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid

import pytest
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer

from services.recruitment.app import SPEC as RECRUITMENT
from services.reporting.app import SPEC as REPORTING
from shared.bus import consumer as consumer_module
from shared.bus.consumer import Consumer
from shared.bus.kafka import dlq_topic, ensure_topics, all_topics, make_consumer, make_producer
from shared.bus.outbox import transaction
from shared.bus.relay import Relay
from shared.devstack import free_port
from shared.events import contracts as ev
from shared.events.envelope import new_event

pytestmark = pytest.mark.integration
TOPIC = "recruitment.invitations-sent.v1"


@pytest.fixture(scope="module")
async def effects(engine, settings):
    await ensure_topics(settings.kafka_bootstrap_servers, all_topics())
    async with engine.begin() as conn:
        await conn.execute(sa.text(
            "CREATE TABLE IF NOT EXISTS public.delivery_effects (consumer text, event_id uuid, at timestamptz default now())"))
    return None


def effect_handler(consumer_name: str):
    async def handler(tx, event, payload):
        await tx.session.execute(sa.text("INSERT INTO public.delivery_effects (consumer, event_id) VALUES (:c, :e)"),
                                 {"c": consumer_name, "e": event.id})
    return handler


async def count_effects(engine, consumer_name: str, event_id: uuid.UUID) -> int:
    async with engine.connect() as conn:
        return (await conn.execute(sa.text("SELECT count(*) FROM public.delivery_effects WHERE consumer=:c AND event_id=:e"),
                                   {"c": consumer_name, "e": event_id})).scalar_one()


async def emit_invitations(sessionmaker) -> uuid.UUID:
    assembly = uuid.uuid4()
    async with transaction(sessionmaker, RECRUITMENT.outbox) as tx:
        env = await tx.emit(ev.InvitationsSentV1(assembly_id=assembly, batch_id=uuid.uuid4(), count=3,
                                                 per_region={"DK01": 3}), subject=assembly)
    return env.id


async def publish_all(settings, sessionmaker) -> int:
    producer = make_producer(settings.kafka_bootstrap_servers, "test-relay")
    await producer.start()
    try:
        relay = Relay("recruitment", sessionmaker, RECRUITMENT.outbox, producer)
        total = 0
        while (n := await relay.publish_batch()) > 0:
            total += n
        return total
    finally:
        await producer.stop()


class Recording(Consumer):
    """A consumer that records each outcome per event id (batched or one by one), and stops once
    it has seen `until`."""

    def __init__(self, *a, until: set | None = None, stop: asyncio.Event | None = None, **kw):
        super().__init__(*a, **kw)
        self.outcomes: dict[str, list[str]] = {}
        self.until, self.stop = until or set(), stop

    def processed(self, msg, outcome):
        try:
            key = json.loads(msg.value)["id"]
        except Exception:
            key = f"raw:{msg.offset}"
        self.outcomes.setdefault(key, []).append(outcome)
        if self.stop is not None and self.until <= set(self.outcomes):
            self.stop.set()


async def make_recording(settings, sessionmaker, name, topic, group, **kw) -> Recording:
    kc = make_consumer(settings.kafka_bootstrap_servers, group, [topic], 10000)
    dlq = make_producer(settings.kafka_bootstrap_servers, f"{name}-dlq")
    await kc.start()
    await dlq.start()
    return Recording(name, sessionmaker, REPORTING.outbox, REPORTING.inbox, {topic: effect_handler(name)}, kc, dlq, **kw)


async def close(c: Consumer) -> None:
    await c.consumer.stop()
    await c.dlq.stop()


async def test_relay_killed_between_publish_and_mark_is_applied_once(settings, sessionmaker, engine, effects):
    event_id = await emit_invitations(sessionmaker)
    env = {**os.environ, "BORGERTING_FAULT_POINT": "relay.after_publish", "BORGERTING_PORT": str(free_port())}
    proc = subprocess.run([sys.executable, "-m", "services.recruitment.app", "relay"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 137, proc.stderr[-2000:]
    assert "fault injected" in proc.stderr
    async with sessionmaker() as s:
        sent_at = (await s.execute(sa.select(RECRUITMENT.outbox.c.sent_at)
                                   .where(RECRUITMENT.outbox.c.event_id == event_id))).scalar_one()
    assert sent_at is None, "the killed relay must not have marked the row sent"
    assert await publish_all(settings, sessionmaker) >= 1  # the next relay publishes it again

    stop = asyncio.Event()
    name = f"delivery-a-{uuid.uuid4().hex[:8]}"
    c = await make_recording(settings, sessionmaker, name, TOPIC, name, until={str(event_id)}, stop=stop)
    try:
        async def both_copies_seen():
            while c.outcomes.get(str(event_id), []).__len__() < 2:
                await asyncio.sleep(0.1)
        run = asyncio.create_task(c.run(asyncio.Event()))
        await asyncio.wait_for(both_copies_seen(), timeout=60)
        run.cancel()
    finally:
        await close(c)
    assert c.outcomes[str(event_id)] == ["applied", "duplicate"]
    assert await count_effects(engine, name, event_id) == 1


async def test_consumer_killed_after_effect_before_commit_skips_redelivery(settings, sessionmaker, engine, effects,
                                                                          monkeypatch):
    event_id = await emit_invitations(sessionmaker)
    await publish_all(settings, sessionmaker)
    name = f"delivery-b-{uuid.uuid4().hex[:8]}"

    class Crash(BaseException):
        pass

    def crash_before_commit(point):
        if point == "consumer.before_commit":
            raise Crash(point)

    monkeypatch.setattr(consumer_module.faults, "hit", crash_before_commit)
    first = await make_recording(settings, sessionmaker, name, TOPIC, name)
    try:
        with pytest.raises(Crash):
            await asyncio.wait_for(first.run(asyncio.Event()), timeout=60)
    finally:
        await close(first)  # leaves the group without committing: like a killed process
    assert first.outcomes[str(event_id)] == ["applied"]
    assert await count_effects(engine, name, event_id) == 1

    monkeypatch.undo()
    stop = asyncio.Event()
    second = await make_recording(settings, sessionmaker, name, TOPIC, name, until={str(event_id)}, stop=stop)
    try:
        await asyncio.wait_for(second.run(stop), timeout=60)
    finally:
        await close(second)
    assert second.outcomes[str(event_id)] == ["duplicate"], "the event must be redelivered and skipped"
    assert await count_effects(engine, name, event_id) == 1


async def test_poison_messages_go_to_the_dead_letter_topic_and_the_consumer_goes_on(settings, sessionmaker, engine,
                                                                                   effects):
    topic = "recruitment.respondent-withdrew.v1"
    assembly = uuid.uuid4()
    good = new_event(ev.RespondentWithdrewV1(assembly_id=assembly, respondent_id=uuid.uuid4()), subject=assembly)
    bad_payload = good.model_copy(update={"id": uuid.uuid4(), "payload": {"assembly_id": "not-a-uuid"}})
    producer = make_producer(settings.kafka_bootstrap_servers, "poison")
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"{not json", key=str(assembly).encode())
        await producer.send_and_wait(topic, bad_payload.model_dump_json().encode(), key=str(assembly).encode())
        await producer.send_and_wait(topic, good.model_dump_json().encode(), key=str(assembly).encode())
    finally:
        await producer.stop()

    name = f"delivery-c-{uuid.uuid4().hex[:8]}"
    stop = asyncio.Event()
    c = await make_recording(settings, sessionmaker, name, topic, name, until={str(good.id)}, stop=stop)
    try:
        await asyncio.wait_for(c.run(stop), timeout=60)
    finally:
        await close(c)
    assert c.outcomes[str(good.id)] == ["applied"]
    assert c.outcomes[str(bad_payload.id)] == ["dead_lettered"]
    assert any(v == ["dead_lettered"] for k, v in c.outcomes.items() if k.startswith("raw:"))
    assert await count_effects(engine, name, good.id) == 1

    reader = AIOKafkaConsumer(dlq_topic(name), bootstrap_servers=settings.kafka_bootstrap_servers,
                              auto_offset_reset="earliest", enable_auto_commit=False, group_id=None)
    await reader.start()
    try:
        seen = []
        while len(seen) < 2:
            batch = await asyncio.wait_for(reader.getmany(timeout_ms=1000), timeout=30)
            for msgs in batch.values():
                seen.extend(msgs)
    finally:
        await reader.stop()
    errors = [dict(m.headers)["error"].decode() for m in seen]
    assert errors[0].startswith("malformed envelope")
    assert errors[1].startswith("invalid payload: assembly_id")
    assert dict(seen[0].headers)["original_topic"] == topic.encode()
    assert seen[0].value == b"{not json"


async def send_raw(settings, topic: str, values: list[bytes], key: bytes) -> None:
    producer = make_producer(settings.kafka_bootstrap_servers, "raw")
    await producer.start()
    try:
        for v in values:
            await producer.send_and_wait(topic, v, key=key)
    finally:
        await producer.stop()


def invitations(n: int, correlation: str | None = None) -> list:
    a = uuid.uuid4()
    return [new_event(ev.InvitationsSentV1(assembly_id=a, batch_id=uuid.uuid4(), count=1, per_region={"DK01": 1}),
                      subject=a, correlation_id=correlation and f"{correlation}-{i % 2}") for i in range(n)]


class Lines:
    """Stands in for the consumer module's logger: keeps each line's event and fields."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, dict]] = []

    def info(self, event, **kw):
        self.lines.append((event, kw))

    warning = error = info


def consumed(service: str, event_type: str, outcome: str) -> float:
    from shared.metrics import EVENTS_CONSUMED

    return EVENTS_CONSUMED.labels(service, event_type, outcome)._value.get()


async def test_a_batch_is_applied_in_one_transaction_and_a_copy_in_it_once(settings, sessionmaker, engine, effects,
                                                                           monkeypatch):
    """Several events of a partition, one of them twice in the same poll: one call of the bulk
    handler, one transaction, each effect once and the copy reported as a duplicate. The batch
    is logged in one line naming its correlation ids, and counted per event type and outcome."""
    from shared.bus.consumer import Bulk

    events = invitations(4, correlation=f"req-{uuid.uuid4().hex[:8]}")
    logged = Lines()
    monkeypatch.setattr(consumer_module, "log", logged)
    values = [e.model_dump_json().encode() for e in events]
    await send_raw(settings, TOPIC, values + [values[1]], key=str(events[0].subject).encode())
    name = f"delivery-f-{uuid.uuid4().hex[:8]}"
    calls: list[int] = []
    real = effect_handler(name)

    async def many(tx, batch):
        calls.append(len(batch))
        for e, p in batch:
            await real(tx, e, p)

    stop = asyncio.Event()
    c = await make_recording(settings, sessionmaker, name, TOPIC, name, until={str(e.id) for e in events}, stop=stop)
    c.handlers[TOPIC] = Bulk(many)
    try:
        await asyncio.wait_for(c.run(stop), timeout=60)
    finally:
        await close(c)
    assert max(calls) >= len(events), "the events of one poll are applied together (the copy is not applied)"
    assert c.outcomes[str(events[1].id)] == ["applied", "duplicate"]
    for e in events:
        assert await count_effects(engine, name, e.id) == 1
    # One line per batch (a poll that brought a single message logs that event's line). The group
    # is new, so it also reads what earlier tests sent to the topic: count against all it read.
    outcomes = [o for seen in c.outcomes.values() for o in seen if o != "dead_lettered"]
    batches = [kw for line, kw in logged.lines if line == "events processed"]
    singles = [kw for line, kw in logged.lines if line == "event processed"]
    assert sum(b["events"] for b in batches) + len(singles) == len(outcomes) and len(batches) <= 3, logged.lines
    for outcome in ("applied", "duplicate"):
        assert sum(b.get(outcome, 0) for b in batches) + sum(x["outcome"] == outcome for x in singles) == \
            outcomes.count(outcome) == consumed(name, "invitations-sent", outcome)
    assert all(sum(b["topics"].values()) == b["events"] for b in batches)
    ours = {e.correlation_id for e in events}
    assert len(ours) == 2 and ours <= {x for b in batches for x in b["correlation_ids"]}  # each id named once
    assert all(b["correlation_ids"] == sorted(set(b["correlation_ids"])) for b in batches)


async def test_a_poll_of_several_partitions_is_one_transaction_and_one_offset_commit(settings, sessionmaker, engine,
                                                                                     effects):
    """The events of one poll from several partitions (here two topics) are applied in one
    transaction, their offsets committed in one call after it; each effect once, in order per
    partition (the projection lag's fix, docs/evaluation.md)."""
    other = "recruitment.respondent-withdrew.v1"
    events = invitations(3)
    a = uuid.uuid4()
    withdrawals = [new_event(ev.RespondentWithdrewV1(assembly_id=a, respondent_id=uuid.uuid4()), subject=a)
                   for _ in range(3)]
    await send_raw(settings, TOPIC, [e.model_dump_json().encode() for e in events], key=str(events[0].subject).encode())
    await send_raw(settings, other, [e.model_dump_json().encode() for e in withdrawals], key=str(a).encode())
    name = f"delivery-p-{uuid.uuid4().hex[:8]}"
    kc = make_consumer(settings.kafka_bootstrap_servers, name, [TOPIC, other], 10000)
    dlq = make_producer(settings.kafka_bootstrap_servers, f"{name}-dlq")
    await kc.start()
    await dlq.start()
    stop = asyncio.Event()
    c = Recording(name, sessionmaker, REPORTING.outbox, REPORTING.inbox,
                  {TOPIC: effect_handler(name), other: effect_handler(name)}, kc, dlq,
                  until={str(e.id) for e in events + withdrawals}, stop=stop)
    polls: list[list[tuple[str, int]]] = []
    commits: list[set[str]] = []
    process_batch, commit = c.process_batch, kc.commit

    async def recording_batch(msgs):
        polls.append([(m.topic, m.offset) for m in msgs])
        return await process_batch(msgs)

    async def recording_commit(offsets):
        commits.append({tp.topic for tp in offsets})
        return await commit(offsets)

    c.process_batch, kc.commit = recording_batch, recording_commit
    try:
        await asyncio.wait_for(c.run(stop), timeout=60)
    finally:
        await close(c)
    both = [p for p in polls if {t for t, _ in p} == {TOPIC, other}]
    assert both, f"a poll with both topics' events is applied as one batch: {polls}"
    assert {TOPIC, other} in commits, "and its offsets are committed in one call"
    for p in polls:  # each partition's messages in their order, a topic's messages together
        assert [t for t, _ in p] == sorted(t for t, _ in p)
        for topic in {t for t, _ in p}:
            offsets = [o for t, o in p if t == topic]
            assert offsets == sorted(offsets)
    for e in events + withdrawals:
        assert await count_effects(engine, name, e.id) == 1
        assert c.outcomes[str(e.id)] == ["applied"]


async def test_a_bad_event_in_a_batch_goes_to_the_dead_letters_alone(settings, sessionmaker, engine, effects):
    """The batch fails because of one event: its events are applied one by one, the bad one is
    dead-lettered with its error and the good ones before and after it are applied once."""
    events = invitations(5)
    bad = events[2]
    await send_raw(settings, TOPIC, [e.model_dump_json().encode() for e in events], key=str(bad.subject).encode())
    name = f"delivery-g-{uuid.uuid4().hex[:8]}"
    real = effect_handler(name)

    async def handler(tx, event, payload):
        if event.id == bad.id:
            raise ValueError("a handler bug")
        await real(tx, event, payload)

    stop = asyncio.Event()
    c = await make_recording(settings, sessionmaker, name, TOPIC, name, until={str(e.id) for e in events}, stop=stop)
    c.handlers[TOPIC] = handler
    c_batches: list[int] = []
    apply_many = c.apply_many

    async def counting(items):
        c_batches.append(len(items))
        return await apply_many(items)

    c.apply_many = counting
    try:
        await asyncio.wait_for(c.run(stop), timeout=60)
    finally:
        await close(c)
    assert max(c_batches) >= 5, "the events were tried as one batch first"
    assert c.outcomes[str(bad.id)] == ["dead_lettered"]
    for e in events:
        assert await count_effects(engine, name, e.id) == (0 if e is bad else 1)
        if e is not bad:
            assert c.outcomes[str(e.id)] == ["applied"]
    reader = AIOKafkaConsumer(dlq_topic(name), bootstrap_servers=settings.kafka_bootstrap_servers,
                              auto_offset_reset="earliest", enable_auto_commit=False, group_id=None)
    await reader.start()
    try:
        batch = await asyncio.wait_for(reader.getmany(timeout_ms=5000), timeout=30)
    finally:
        await reader.stop()
    seen = [m for msgs in batch.values() for m in msgs]
    assert len(seen) == 1 and json.loads(seen[0].value)["id"] == str(bad.id)
    assert dict(seen[0].headers)["error"].decode().startswith("failed 3 times: ValueError('a handler bug')")


async def test_database_outage_is_retried_not_dead_lettered(settings, sessionmaker, engine, effects):
    """An infrastructure error (here: the database refusing) is not the event's fault: the consumer
    waits and retries past max_attempts instead of dead-lettering a good event."""
    from sqlalchemy.exc import OperationalError

    event_id = await emit_invitations(sessionmaker)
    await publish_all(settings, sessionmaker)
    name = f"delivery-d-{uuid.uuid4().hex[:8]}"
    outage = {"left": 5}
    real = effect_handler(name)

    async def flaky(tx, event, payload):
        if event.id == event_id and outage["left"] > 0:
            outage["left"] -= 1
            raise OperationalError("INSERT", {}, ConnectionRefusedError("database restarting"))
        await real(tx, event, payload)

    stop = asyncio.Event()
    c = await make_recording(settings, sessionmaker, name, TOPIC, name, until={str(event_id)}, stop=stop)
    c.handlers[TOPIC] = flaky
    c.transient_backoff = 0.05
    try:
        await asyncio.wait_for(c.run(stop), timeout=60)
    finally:
        await close(c)
    assert outage["left"] == 0 and c.max_attempts < 5
    assert c.outcomes[str(event_id)] == ["applied"]
    assert await count_effects(engine, name, event_id) == 1


async def test_dead_letters_replay_after_the_bug_is_fixed(settings, sessionmaker, engine, effects):
    from shared.bus.dlq import replay

    event_id = await emit_invitations(sessionmaker)
    await publish_all(settings, sessionmaker)
    name = f"delivery-e-{uuid.uuid4().hex[:8]}"
    fixed = {"yes": False}
    real = effect_handler(name)

    async def buggy_until_fixed(tx, event, payload):
        if event.id == event_id and not fixed["yes"]:
            raise ValueError("a handler bug")
        await real(tx, event, payload)

    stop = asyncio.Event()
    c = await make_recording(settings, sessionmaker, name, TOPIC, name, until={str(event_id)}, stop=stop)
    c.handlers[TOPIC] = buggy_until_fixed
    try:
        await asyncio.wait_for(c.run(stop), timeout=60)
        assert c.outcomes[str(event_id)] == ["dead_lettered"]
        assert await count_effects(engine, name, event_id) == 0

        fixed["yes"] = True  # the fix is deployed; the operator replays the dead letters
        report = await replay(settings.kafka_bootstrap_servers, name, idle_seconds=2)
        assert report.replayed == 1 and report.by_topic == {TOPIC: 1}
        again = await replay(settings.kafka_bootstrap_servers, name, idle_seconds=1)
        assert again.replayed == 0, "a second replay must not resend what was replayed"

        stop.clear()
        c.outcomes.clear()
        await asyncio.wait_for(c.run(stop), timeout=60)
    finally:
        await close(c)
    assert c.outcomes[str(event_id)] == ["applied"]
    assert await count_effects(engine, name, event_id) == 1


async def test_a_withdrawal_that_overtakes_its_registration_still_wins(sessionmaker):
    """Registration and withdrawal travel on different topics; sortition must end with the
    respondent out of the pool whichever arrives first."""
    from services.sortition import handlers as sh
    from services.sortition import models as sm_

    for first_withdrawal in (True, False):
        a, r = uuid.uuid4(), uuid.uuid4()
        reg = ev.RespondentRegisteredV1(assembly_id=a, respondent_id=r, region="X", features={"g": "f"})
        wd = ev.RespondentWithdrewV1(assembly_id=a, respondent_id=r)
        steps = [(sh.on_respondent_withdrew, wd), (sh.on_respondent_registered, reg)]
        for handler, payload in (steps if first_withdrawal else steps[::-1]):
            async with transaction(sessionmaker, sm_.outbox) as tx:
                await handler(tx, new_event(payload, subject=a), payload)
        async with sessionmaker() as s:
            row = (await s.execute(sa.select(sm_.pool).where(sm_.pool.c.respondent_id == r))).one()
        assert row.withdrawn is True and row.features == {}


async def test_pruning_keeps_unsent_outbox_rows_and_recent_inbox_rows(sessionmaker, engine):
    o, i = RECRUITMENT.outbox, RECRUITMENT.inbox
    old_sent, old_unsent, new_sent = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    async with engine.begin() as conn:
        for eid, sent, age in ((old_sent, True, 200), (old_unsent, False, 200), (new_sent, True, 1)):
            await conn.execute(sa.insert(o).values(
                event_id=eid, topic="t", key="k", envelope={},
                created_at=sa.func.now() - sa.text(f"interval '{age} hours'"),
                sent_at=(sa.func.now() - sa.text(f"interval '{age} hours'")) if sent else None))
        old_in, new_in = uuid.uuid4(), uuid.uuid4()
        for eid, age in ((old_in, 800), (new_in, 1)):
            await conn.execute(sa.insert(i).values(consumer="prune-test", event_id=eid, topic="t",
                                                   processed_at=sa.func.now() - sa.text(f"interval '{age} hours'")))
    relay = Relay("recruitment", sessionmaker, o, producer=None, retention_hours=168)
    assert await relay.prune() >= 1
    c = Consumer("prune-test", sessionmaker, o, i, {}, consumer=None, dlq_producer=None)
    assert await c.prune_inbox(720) == 1
    async with engine.connect() as conn:
        left = {r[0] for r in await conn.execute(sa.select(o.c.event_id).where(
            o.c.event_id.in_([old_sent, old_unsent, new_sent])))}
        inbox_left = {r[0] for r in await conn.execute(sa.select(i.c.event_id).where(i.c.consumer == "prune-test"))}
    async with engine.begin() as conn:  # an unsent row without an envelope would reach later tests' relays
        await conn.execute(sa.delete(o).where(o.c.event_id.in_([old_unsent, new_sent])))
    assert left == {old_unsent, new_sent}
    assert inbox_left == {new_in}


async def test_a_replacement_that_overtakes_the_panel_still_wins(sessionmaker):
    """panel-drawn and replacement-drawn travel on different topics; the roster must end with the
    replacement applied whichever arrives first (sessions' roster and voting's electorate)."""
    from services.sessions import handlers as sh
    from services.sessions import models as sm_
    from services.voting import handlers as vh
    from services.voting import models as vm_

    for handlers, models, table in ((sh.HANDLERS, sm_, sm_.roster), (vh.HANDLERS, vm_, vm_.eligible)):
        for replacement_first in (True, False):
            a, stay, drop, new = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
            panel = ev.PanelDrawnV1(assembly_id=a, panel_id=uuid.uuid4(), algorithm="t", members=[stay, drop],
                                    pool_size=3)
            repl = ev.ReplacementDrawnV1(assembly_id=a, panel_id=panel.panel_id, dropped=[drop], added=[new])
            steps = [("sortition.panel-drawn.v1", panel), ("sortition.replacement-drawn.v1", repl)]
            for topic, payload in (steps[::-1] if replacement_first else steps):
                async with transaction(sessionmaker, models.outbox) as tx:
                    await handlers[topic](tx, new_event(payload, subject=a), payload)
            async with sessionmaker() as s:
                active = {r[0] for r in await s.execute(
                    sa.select(table.c.member_id).where(table.c.assembly_id == a, table.c.active.is_(True)))}
            assert active == {stay, new}, (table.name, replacement_first)
