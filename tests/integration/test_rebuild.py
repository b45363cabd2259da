"""A rebuild of every read model from offset 0 gives byte-identical summaries (issue 14), on the
embedded stack (real PostgreSQL and Kafka): a small assembly's events (one of every kind reporting
reads, from the contracts' examples, and a few dozen registrations, check-ins and votes) go to
Kafka; reporting's consumer applies them into a database of its own; everything reporting serves
of the assembly is taken; then `borgerting reporting rebuild` (services/reporting/cli.py) empties
the read models and applies every topic again from offset 0, and it must all be byte for byte
the same. The database is a fresh one, so that the wipe touches no other test's rows."""

from __future__ import annotations

import asyncio
import json
import random
import re
import uuid
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from services.reporting import models as m
from services.reporting.app import SPEC as REPORTING
from services.reporting.cli import run_rebuild
from services.reporting.handlers import HANDLERS
from services.reporting.views.evaluation import report_summary
from shared.bus.consumer import Consumer
from shared.bus.outbox import Tx
from shared.bus.kafka import all_topics, ensure_topics, make_consumer, make_producer
from shared.db import make_engine, make_sessionmaker
from shared.events import contracts as ev
from shared.events.envelope import new_event
from shared.migrations import upgrade
from tests.integration.test_apis import client

pytestmark = pytest.mark.integration
EXAMPLES = Path(ev.__file__).parent / "examples"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
CSRF = re.compile(rb'name="csrf_token" value="[^"]*"')  # a page's form token is new at every request


def assembly_events(rng: random.Random) -> tuple[uuid.UUID, list]:
    """Every event reporting reads, as one assembly's history: the contracts' examples with every
    id made new for this run (the same example id -> the same new id, so they still refer to
    each other), then registrations, check-ins and votes in numbers."""
    run = uuid.UUID(int=rng.getrandbits(128))
    # The examples of one event's versions share ids (one ballot opened as v2, v3 and v4), which
    # no history has: an older version's example is a thing of its own (its ids made new apart),
    # except the assembly. Both versions of session-scheduled are written for one session, though:
    # tests/integration/test_evaluation.py reads those in every order.
    example_assembly = json.loads((EXAMPLES / "recruitment.assembly-created.v1.json").read_text())["assembly_id"]
    newest: dict[str, int] = {}
    for topic in REPORTING.handlers:
        kind, version = topic.rsplit(".v", 1)
        newest[kind] = max(newest.get(kind, 0), int(version))
    events = []
    for topic in sorted(REPORTING.handlers):
        kind, version = topic.rsplit(".v", 1)
        space = run if int(version) == newest[kind] else uuid.uuid5(run, f"v{version}")
        text = (EXAMPLES / f"{topic}.json").read_text()
        text = UUID.sub(lambda x: str(uuid.uuid5(run if x.group(0) == example_assembly else space, x.group(0))), text)
        events.append(ev.spec_for_topic(topic).model.model_validate_json(text))
    created = next(e for e in events if isinstance(e, ev.AssemblyCreatedV1))
    aid = created.assembly_id
    opened = next(e for e in events if isinstance(e, ev.BallotOpenedV4))
    session = next(e for e in events if isinstance(e, ev.SessionScheduledV2)).session_id
    people = [uuid.UUID(int=rng.getrandbits(128)) for _ in range(40)]
    for p in people:
        events.append(ev.RespondentRegisteredV1(
            assembly_id=aid, respondent_id=p, region=rng.choice(created.regions).code,
            features={s.category: rng.choice(s.quotas).value for s in created.strata}))
    for p in people[:25]:
        events.append(ev.AttendanceRecordedV1(assembly_id=aid, session_id=session, member_id=p,
                                              present=rng.random() < 0.8))
    for position in range(2, 22):  # the example's vote is the board's first
        events.append(ev.VoteCastV2(assembly_id=aid, ballot_id=opened.ballot_id, position=position,
                                    entry_hash=f"{position:064x}", kind="online", token_hash=f"{position:064x}",
                                    choices={q.question_id: rng.choice(("yes", "no", "abstain"))
                                             for q in opened.questions}))
    assert all(getattr(e, "assembly_id", aid) == aid for e in events)
    return aid, [new_event(e, subject=aid) for e in events]


async def send(bootstrap: str, envelopes: list) -> None:
    producer = make_producer(bootstrap, "test-rebuild")
    await producer.start()
    try:
        for env in envelopes:
            await producer.send(env.topic, env.model_dump_json().encode(), key=str(env.subject).encode())
        await producer.flush()
    finally:
        await producer.stop()


async def consume_until(settings, sessionmaker, ids: set[uuid.UUID]) -> None:
    """Reporting's consumer (its handlers, a consumer group of its own) until `ids` are applied."""
    group = f"reporting-test-{uuid.uuid4().hex[:8]}"
    kc = make_consumer(settings.kafka_bootstrap_servers, group, sorted(REPORTING.handlers), 10_000)
    dlq = make_producer(settings.kafka_bootstrap_servers, f"{group}-dlq")
    await kc.start()
    await dlq.start()
    stop = asyncio.Event()
    consumer = Consumer(REPORTING.name, sessionmaker, m.outbox, m.inbox, REPORTING.handlers, kc, dlq, audit=m.audit)
    task = asyncio.create_task(consumer.run(stop))
    try:
        for _ in range(1200):  # the group reads every earlier test's events on these topics too
            async with sessionmaker() as s:
                done = (await s.execute(sa.select(sa.func.count()).select_from(m.inbox)
                                        .where(m.inbox.c.event_id.in_(ids)))).scalar_one()
            if done == len(ids) or task.done():
                break
            await asyncio.sleep(0.1)
        assert done == len(ids), f"{done} of {len(ids)} events applied"
    finally:
        stop.set()
        await task
        await kc.stop()
        await dlq.stop()


async def served(settings, aid: uuid.UUID) -> dict[str, bytes]:
    """Everything reporting serves of the assembly, as the bytes it serves."""
    out = {}
    async with client("reporting", settings) as api:
        for path in ("summary", "live", "evaluation.json", "evaluation.csv", "report?lang=en", "report?lang=da",
                     "followup?lang=en", "followup?lang=da", "dashboard?lang=en"):
            r = await api.get(f"/assemblies/{aid}/{path}")
            assert r.status_code == 200, (path, r.text[:500])
            out[path] = CSRF.sub(b'name="csrf_token" value=""', r.content)
        rt = api._transport.app.state.rt
        async with rt.transaction() as tx:  # the figures a published report is made of
            out["report figures"] = json.dumps(await report_summary(tx, aid, k=5, response_days=90,
                                                                    today=date(2028, 1, 1)),
                                               sort_keys=True, default=str).encode()
        await rt.close()
    return out


@pytest.fixture
async def own_database(settings, engine):
    """A fresh database on the test stack's server with reporting's schema; dropped afterwards."""
    name = f"rebuild_{uuid.uuid4().hex[:8]}"
    async with engine.connect() as c:
        await c.execution_options(isolation_level="AUTOCOMMIT")
        await c.execute(sa.text(f"CREATE DATABASE {name}"))
    url = str(sa.make_url(settings.database_url).set(database=name).render_as_string(hide_password=False))
    await asyncio.to_thread(upgrade, REPORTING.migrations_dir, url)
    yield settings.model_copy(update={"database_url": url})
    async with engine.connect() as c:
        await c.execution_options(isolation_level="AUTOCOMMIT")
        await c.execute(sa.text(f"DROP DATABASE {name} WITH (FORCE)"))


async def test_a_rebuild_from_offset_0_gives_byte_identical_read_models(settings, own_database):
    s = own_database
    await ensure_topics(s.kafka_bootstrap_servers, all_topics())
    aid, envelopes = assembly_events(random.Random(14))
    await send(s.kafka_bootstrap_servers, envelopes)
    engine = make_engine(s.database_url, pool_size=2)
    sm = make_sessionmaker(engine)
    try:
        await consume_until(s, sm, {e.id for e in envelopes})
        before = await served(s, aid)
        # 41 registered, the example's respondent withdrew
        assert json.loads(before["summary"])["registrations"] == 40 and json.loads(before["summary"])["votes_cast"] > 0
        # a row no event wrote: the rebuild must drop it (the read models are emptied first)
        async with sm() as session, session.begin():
            await session.execute(sa.insert(m.respondents).values(
                respondent_id=uuid.uuid4(), assembly_id=aid, region="DK01", features={}))
        assert json.loads((await served(s, aid))["summary"])["registrations"] == 41

        done = await run_rebuild(s)

        async with sm() as session:  # every event of the assembly applied again
            again = (await session.execute(sa.select(sa.func.count()).select_from(m.inbox).where(
                m.inbox.c.event_id.in_({e.id for e in envelopes})))).scalar_one()
        assert again == len(envelopes) and done["events_read"] >= len(envelopes)
        assert {"respondents", "votes", "inbox"} <= set(done["tables"]) and "report_versions" not in done["tables"]
        after = await served(s, aid)
        for key in before:
            if after[key] != before[key]:
                at = next(i for i, (x, y) in enumerate(zip(after[key], before[key])) if x != y)
                pytest.fail(f"{key} differs after the rebuild at {at}: {before[key][at - 80:at + 80]!r} -> "
                            f"{after[key][at - 80:at + 80]!r}")
    finally:
        await engine.dispose()


def interleave(envelopes: list, rng: random.Random) -> list:
    """One order a consumer could read the history in: each topic's events in their own order (one
    partition per assembly), the topics interleaved at random."""
    queues: dict[str, list] = {}
    for e in envelopes:
        queues.setdefault(e.topic, []).append(e)
    out = []
    while queues:
        topic = rng.choice(sorted(queues))
        out.append(queues[topic].pop(0))
        if not queues[topic]:
            del queues[topic]
    return out


async def test_the_read_models_do_not_depend_on_the_order_the_topics_are_read_in(settings, own_database):
    """The rebuild test above sees one or two interleavings of the topics, whichever the broker
    gives; this one applies the same history in 8 seeded interleavings (and in topic order, and
    its reverse), each in a transaction rolled back afterwards, and the report's figures must be
    the same every time. (tests/integration/test_evaluation.py reads the pairs of topics known to
    touch one row — schedule v1/v2, withdrawal/registration, close/opening — in every order.)"""
    aid, envelopes = assembly_events(random.Random(17))
    engine = make_engine(own_database.database_url, pool_size=2)
    sm = make_sessionmaker(engine)
    topics = sorted({e.topic for e in envelopes})
    orders = {"written": envelopes,
              "by topic": [e for t in topics for e in envelopes if e.topic == t],
              "by topic, reversed": [e for t in reversed(topics) for e in envelopes if e.topic == t]}
    orders |= {f"shuffle {i}": interleave(envelopes, random.Random(i)) for i in range(8)}
    figures = {}
    try:
        for name, order in orders.items():
            async with sm() as session:
                await session.begin()
                tx = Tx(session=session, outbox=m.outbox, audit_table=m.audit)
                for e in order:
                    payload = ev.spec_for_topic(e.topic).model.model_validate(e.payload)
                    await HANDLERS[e.topic](tx, e, payload)
                figures[name] = json.dumps(await report_summary(tx, aid, k=5, response_days=90,
                                                                today=date(2028, 1, 1)), sort_keys=True, default=str)
                await session.rollback()
    finally:
        await engine.dispose()
    assert json.loads(figures["written"])["registrations"] == 40
    for name, got in figures.items():
        if got != figures["written"]:
            at = next(i for i, (x, y) in enumerate(zip(got, figures["written"])) if x != y)
            pytest.fail(f"read in the order '{name}' the figures differ at {at}: "
                        f"{figures['written'][at - 80:at + 80]!r} -> {got[at - 80:at + 80]!r}")
