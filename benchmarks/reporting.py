"""Reporting's projection lag and a full rebuild of its read model, on the embedded stack (issue 14:
"p99 < 1 s at 1,000 events/s into reporting; a rebuild from offset 0 gives byte-identical summaries").

Writes a realistic mix of events straight to Kafka at --rate events per second for --seconds
(assemblies created, invitation batches, registrations, sessions, check-ins, ballots opened, votes
cast; a few assemblies), while a real reporting consumer process applies them. The lag of an event
is the time from its envelope's `time` (set when it is sent) to the commit of the transaction that
applied it (its inbox row's commit timestamp: PostgreSQL runs with track_commit_timestamp here):
p50/p95/p99 and the max are printed, and the applied rate. The lag to the inbox row's `processed_at`
(the applying transaction's start, as measured before) is printed beside it.

Then the rebuild: the consumer stops and `borgerting reporting rebuild` (services/reporting/cli.py,
run in this process) empties every table built from events (and the inbox) and applies every topic
again from offset 0 through reporting's consumer and handlers. The summary of each assembly
(views.summary, as JSON) is compared byte for byte with the one before, and the rebuild's time and
rate are printed. The surveys' tables and the published report versions are reporting's own data,
not from events, and are left alone (models.OWN).

    .venv/bin/python benchmarks/reporting.py [--rate 1000] [--seconds 20] [--assemblies 5] [--seed 14]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa
import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.reporting import models as rep  # noqa: E402
from services.reporting import views  # noqa: E402
from services.reporting.app import SPEC as REPORTING  # noqa: E402
from services.reporting.cli import run_rebuild  # noqa: E402
from shared.bus.kafka import ensure_topics  # noqa: E402
from shared.bus.outbox import transaction  # noqa: E402
from shared.db import make_engine, make_sessionmaker  # noqa: E402
from shared.devstack import DevStack, free_port  # noqa: E402
from shared.events import contracts as ev  # noqa: E402
from shared.events.envelope import new_event  # noqa: E402
from shared.migrations import upgrade  # noqa: E402
from shared.settings import Settings  # noqa: E402

STRATA = [{"category": "gender", "quotas": [{"value": "female", "min": 20, "max": 30},
                                            {"value": "male", "min": 20, "max": 30}]},
          {"category": "age", "quotas": [{"value": v, "min": 10, "max": 25} for v in ("18-34", "35-59", "60+")]}]
REGIONS = [{"code": c, "name": c, "population": p} for c, p in (("DK01", 1870), ("DK02", 850), ("DK03", 1240))]


class Consumer:
    """reporting's consumer as a process of its own (as in production)."""

    def __init__(self, env: dict, logs: Path) -> None:
        self.env, self.logs, self.p = env, logs, None

    def start(self) -> None:
        log = open(self.logs / "consumer.log", "ab")
        self.p = subprocess.Popen([sys.executable, "-m", "services.reporting.app", "consumer"],
                                  env={**self.env, "BORGERTING_PORT": str(free_port())},
                                  stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def stop(self) -> None:
        if self.p and self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(20)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()


def events_for(rng: random.Random, assemblies: list[uuid.UUID]):
    """An endless, seeded stream of events as an assembly's life produces them (mostly registrations,
    check-ins and votes: the busy topics), spread over `assemblies`."""
    sessions = {a: [uuid.uuid4() for _ in range(3)] for a in assemblies}
    ballots = {a: uuid.uuid4() for a in assemblies}
    people = {a: [] for a in assemblies}
    position = {a: 0 for a in assemblies}
    for a in assemblies:
        yield ev.AssemblyCreatedV1(assembly_id=a, name=f"Benchmark {str(a)[:8]}", panel_size=50, regions=REGIONS,
                                   strata=STRATA)
        for i, s in enumerate(sessions[a]):
            yield ev.SessionScheduledV1(assembly_id=a, session_id=s, title=f"Session {i + 1}",
                                        starts_at=datetime(2027, 3, 6 + 7 * i, 9, tzinfo=timezone.utc),
                                        mode="physical", phase=("learning", "values", "voting")[i], duration_hours=7)
        yield ev.BallotOpenedV4(assembly_id=a, ballot_id=ballots[a], title="Final vote", members=50,
                                threshold={"fraction": "1/2", "base": "valid_votes", "strict": True},
                                quorum_min_ballots=0, quorum_min_fraction="0", board_id=f"assembly-{a}",
                                board_key_fingerprint="f" * 64, token_key_id="k" * 64, kind="trial",
                                questions=[{"question_id": "q1", "text": "A recommendation", "type": "yes_no_abstain",
                                            "recommendation": True}])
    while True:
        a = rng.choice(assemblies)
        x = rng.random()
        if x < 0.05:
            yield ev.InvitationsSentV1(assembly_id=a, batch_id=uuid.uuid4(), count=100,
                                       per_region={r["code"]: rng.randint(20, 40) for r in REGIONS})
        elif x < 0.6 or not people[a]:
            p = uuid.uuid4()
            people[a].append(p)
            yield ev.RespondentRegisteredV1(assembly_id=a, respondent_id=p, region=rng.choice(REGIONS)["code"],
                                            features={"gender": rng.choice(("female", "male")),
                                                      "age": rng.choice(("18-34", "35-59", "60+"))})
        elif x < 0.8:
            yield ev.AttendanceRecordedV1(assembly_id=a, session_id=rng.choice(sessions[a]),
                                          member_id=rng.choice(people[a]), present=rng.random() < 0.9)
        else:
            position[a] += 1
            yield ev.VoteCastV2(assembly_id=a, ballot_id=ballots[a], position=position[a],
                                entry_hash=f"{position[a]:064x}", kind="online", token_hash=uuid.uuid4().hex * 2,
                                choices={"q1": rng.choice(("yes", "no", "abstain"))})


async def produce(bootstrap: str, rng: random.Random, assemblies: list[uuid.UUID], rate: float, seconds: float) -> int:
    """Sends events at `rate` per second (in ticks of 10 ms) for `seconds`; returns how many."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=2)
    await producer.start()
    stream = events_for(rng, assemblies)
    sent, t0 = 0, time.monotonic()
    try:
        while (elapsed := time.monotonic() - t0) < seconds:
            due = int(rate * elapsed) + 1
            futures = []
            while sent < due:
                payload = next(stream)
                env = new_event(payload, subject=payload.assembly_id)  # its time: now, as it is sent
                futures.append(await producer.send(
                    ev.spec_for_model(type(payload)).topic, env.model_dump_json().encode(),
                    key=str(env.subject).encode(),
                    headers=[("event_type", env.type.encode()), ("event_id", str(env.id).encode())]))
                sent += 1
            await asyncio.gather(*futures)
            await asyncio.sleep(max(0.0, t0 + (sent / rate) - time.monotonic()))
    finally:
        await producer.stop()
    return sent


async def wait_applied(engine, n: int, timeout: float) -> float:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        async with engine.connect() as c:
            if (await c.execute(sa.select(sa.func.count()).select_from(rep.inbox))).scalar_one() >= n:
                return time.monotonic() - t0
        await asyncio.sleep(0.25)
    raise RuntimeError(f"reporting did not apply {n} events within {timeout} s (see .state/bench-reporting/logs)")


async def summaries(sm, assemblies: list[uuid.UUID]) -> bytes:
    async with transaction(sm, rep.outbox, audit=rep.audit) as tx:
        out = {str(a): await views.summary(tx, a) for a in assemblies}
    return json.dumps(out, sort_keys=True, default=str).encode()


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] if values else float("nan")


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rate", type=float, default=1000.0, help="events per second sent to Kafka")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--assemblies", type=int, default=5)
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("--timeout", type=float, default=600.0)
    args = ap.parse_args()

    state = ROOT / ".state" / "bench-reporting"
    shutil.rmtree(state, ignore_errors=True)
    (state / "logs").mkdir(parents=True)
    stack = DevStack(state / "stack", postgres_settings={"track_commit_timestamp": "on"})
    env = {**os.environ, **stack.start()}
    os.environ.update(env)
    rng = random.Random(args.seed)
    assemblies = [uuid.UUID(int=rng.getrandbits(128)) for _ in range(args.assemblies)]
    topics = sorted(REPORTING.handlers)
    consumer = Consumer(env, state / "logs")
    try:
        await asyncio.to_thread(upgrade, REPORTING.migrations_dir, env["DATABASE_URL"])
        bootstrap = env["KAFKA_BOOTSTRAP_SERVERS"]
        await ensure_topics(bootstrap, topics, 3, 1)
        engine = make_engine(env["DATABASE_URL"])
        sm = make_sessionmaker(engine)
        consumer.start()
        # warm-up: the consumer has joined its group and applied a first event
        warm = await produce(bootstrap, random.Random(0), [uuid.uuid4()], 50.0, 0.1)
        await wait_applied(engine, warm, 120)
        t0 = time.monotonic()
        sent = await produce(bootstrap, rng, assemblies, args.rate, args.seconds)
        sending = time.monotonic() - t0
        await wait_applied(engine, warm + sent, args.timeout)
        applied_after = time.monotonic() - t0
        async with engine.connect() as c:
            rows = (await c.execute(sa.text("SELECT event_id, processed_at, pg_xact_commit_timestamp(xmin) AS "
                                            "committed_at FROM reporting.inbox"))).all()
        subjects = {str(a) for a in assemblies}
        lags = await lags_from_topics(bootstrap, topics, {str(r.event_id): r.committed_at for r in rows}, subjects)
        started = await lags_from_topics(bootstrap, topics, {str(r.event_id): r.processed_at for r in rows}, subjects)
        before = await summaries(sm, assemblies)

        # the rebuild from offset 0, as `borgerting reporting rebuild` does it (its log to a file)
        consumer.stop()
        structlog.configure(logger_factory=structlog.PrintLoggerFactory(file=open(state / "logs" / "rebuild.log", "a")))
        rebuilt = await run_rebuild(Settings())  # the stack's, from the environment
        rebuilt_in = rebuilt["seconds"]
        after = await summaries(sm, assemblies)
        await engine.dispose()
    finally:
        consumer.stop()
        stack.stop()

    identical = before == after
    print(f"seed                        {args.seed}")
    print(f"events sent                 {sent} in {sending:.1f} s ({sent / sending:.0f}/s asked {args.rate:.0f}/s), "
          f"{args.assemblies} assemblies")
    print(f"all applied after           {applied_after:.1f} s ({sent / applied_after:.0f} events/s)")
    print(f"lag event -> committed (s)  p50 {pct(lags, 50):.3f}  p95 {pct(lags, 95):.3f}  p99 {pct(lags, 99):.3f}  "
          f"max {max(lags):.3f}  (n {len(lags)}; target p99 < 1 s)")
    print(f"lag event -> tx start (s)   p50 {pct(started, 50):.3f}  p95 {pct(started, 95):.3f}  "
          f"p99 {pct(started, 99):.3f}  max {max(started):.3f}  (processed_at, as measured before)")
    print(f"load average (1/5/15 min)   {' / '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"rebuild from offset 0       {rebuilt['events_applied']} events in {rebuilt_in:.1f} s "
          f"({rebuilt['events_applied'] / rebuilt_in:.0f} events/s; {len(rows)} applied before)")
    print(f"summaries before / after    {len(before)} / {len(after)} bytes, "
          f"{'byte-identical' if identical else 'DIFFERENT'} (sha256 "
          f"{__import__('hashlib').sha256(before).hexdigest()[:16]})")
    if not identical or rebuilt["events_applied"] != len(rows):
        sys.exit(1)


async def lags_from_topics(bootstrap: str, topics: list[str], processed: dict, subjects: set[str]) -> list[float]:
    """Each event's lag: its inbox row's processed_at minus the envelope's time (read back from the topics)."""
    c = AIOKafkaConsumer(*topics, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest",
                         enable_auto_commit=False)
    await c.start()
    lags = []
    try:
        while True:
            batch = await c.getmany(timeout_ms=2000, max_records=5000)
            if not batch:
                break
            for msgs in batch.values():
                for m in msgs:
                    e = json.loads(m.value)
                    at = processed.get(e["id"])
                    if at is not None and e["subject"] in subjects:  # not the warm-up's
                        lags.append((at - datetime.fromisoformat(e["time"])).total_seconds())
    finally:
        await c.stop()
    return lags


if __name__ == "__main__":
    asyncio.run(main())
