"""Delivery under faults, on the embedded stack (handbook: reliability.md).

Writes N events into recruitment's outbox while a real relay process and a real reporting
consumer process run, and kills one of them with SIGKILL every few seconds (seeded), restarting it
at once. Afterwards it checks every event against the topic and reporting's inbox and read model,
and prints: attempted / acknowledged / applied, duplicates published vs applied, lost, end-to-end
latency p50/p95/p99, max outbox backlog, kills, and the seed.

    .venv/bin/python benchmarks/delivery.py [--events 6000] [--seed 7] [--kill-every 8]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.recruitment.app import SPEC as RECRUITMENT  # noqa: E402
from services.reporting import models as rep  # noqa: E402
from services.reporting.app import SPEC as REPORTING  # noqa: E402
from shared.bus.outbox import transaction  # noqa: E402
from shared.db import make_engine, make_sessionmaker  # noqa: E402
from shared.devstack import DevStack, free_port  # noqa: E402
from shared.events import contracts as ev  # noqa: E402
from shared.migrations import upgrade  # noqa: E402

TOPIC = "recruitment.invitations-sent.v1"


class Proc:
    def __init__(self, name: str, module: str, role: str, env: dict, logs: Path) -> None:
        self.name, self.module, self.role, self.env, self.logs = name, module, role, env, logs
        self.p: subprocess.Popen | None = None
        self.kills = 0

    def start(self) -> None:
        log = open(self.logs / f"{self.name}.log", "ab")
        self.p = subprocess.Popen([sys.executable, "-m", self.module, self.role],
                                  env={**self.env, "BORGERTING_PORT": str(free_port())},
                                  stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def kill9(self) -> None:
        if self.p and self.p.poll() is None:
            self.p.send_signal(signal.SIGKILL)
            self.p.wait()
            self.kills += 1

    def stop(self) -> None:
        if self.p and self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()


async def produce(sm, n: int, rate: float, ids: list) -> None:
    per_tx = 20
    for start in range(0, n, per_tx):
        async with transaction(sm, RECRUITMENT.outbox) as tx:
            for _ in range(min(per_tx, n - start)):
                a = uuid.uuid4()
                env = await tx.emit(ev.InvitationsSentV1(assembly_id=a, batch_id=uuid.uuid4(), count=1,
                                                         per_region={"X": 1}), subject=a)
                ids.append(env.id)
        await asyncio.sleep(per_tx / rate)


async def chaos(procs: list[Proc], rng: random.Random, every: float, until: asyncio.Event) -> None:
    while not until.is_set():
        try:
            await asyncio.wait_for(until.wait(), timeout=every * (0.5 + rng.random()))
        except asyncio.TimeoutError:
            victim = rng.choice(procs)
            victim.kill9()
            victim.start()


async def sample_backlog(engine, stop: asyncio.Event, seen: list) -> None:
    while not stop.is_set():
        async with engine.connect() as c:
            seen.append((await c.execute(sa.text("SELECT count(*) FROM recruitment.outbox WHERE sent_at IS NULL"))).scalar_one())
        await asyncio.sleep(0.5)


async def topic_copies(bootstrap: str) -> Counter:
    import json

    c = AIOKafkaConsumer(TOPIC, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest",
                         enable_auto_commit=False)
    await c.start()
    counts: Counter = Counter()
    try:
        while True:
            batch = await c.getmany(timeout_ms=2000)
            if not batch:
                break
            for msgs in batch.values():
                for m in msgs:
                    counts[json.loads(m.value)["id"]] += 1
    finally:
        await c.stop()
    return counts


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=6000)
    ap.add_argument("--rate", type=float, default=300.0, help="events per second written to the outbox")
    ap.add_argument("--kill-every", type=float, default=8.0, help="mean seconds between SIGKILLs")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--timeout", type=float, default=300.0)
    args = ap.parse_args()

    state = ROOT / ".state" / "bench-delivery"
    shutil.rmtree(state, ignore_errors=True)
    (state / "logs").mkdir(parents=True)
    stack = DevStack(state / "stack")
    env = {**os.environ, **stack.start()}
    os.environ.update(env)
    try:
        for spec in (RECRUITMENT, REPORTING):
            await asyncio.to_thread(upgrade, spec.migrations_dir, env["DATABASE_URL"])
        relay = Proc("relay", "services.recruitment.app", "relay", env, state / "logs")
        consumer = Proc("consumer", "services.reporting.app", "consumer", env, state / "logs")
        relay.start()
        consumer.start()
        engine = make_engine(env["DATABASE_URL"])
        sm = make_sessionmaker(engine)
        # Warm-up: one event through relay and consumer, so the figures are about steady state and
        # faults, not about the processes' first start and consumer-group join.
        warm: list = []
        await produce(sm, 1, 100.0, warm)
        while True:
            async with engine.connect() as c:
                if (await c.execute(sa.select(sa.func.count()).select_from(rep.invitation_batches))).scalar_one():
                    break
            await asyncio.sleep(0.2)
        ids: list = []
        done, stop_sampling = asyncio.Event(), asyncio.Event()
        backlog: list[int] = []
        rng = random.Random(args.seed)
        t0 = time.monotonic()
        sampler = asyncio.create_task(sample_backlog(engine, stop_sampling, backlog))
        monkey = asyncio.create_task(chaos([relay, consumer], rng, args.kill_every, done))
        await produce(sm, args.events, args.rate, ids)
        written = time.monotonic() - t0
        done.set()
        await monkey
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline:
            async with engine.connect() as c:
                applied = (await c.execute(sa.select(sa.func.count()).select_from(rep.invitation_batches))).scalar_one()
            if applied >= args.events + len(warm):
                break
            await asyncio.sleep(0.5)
        recovered = time.monotonic() - t0
        stop_sampling.set()
        await sampler
        async with engine.connect() as c:
            acked = (await c.execute(sa.text("SELECT count(*) FROM recruitment.outbox WHERE sent_at IS NOT NULL"))).scalar_one()
            inbox = (await c.execute(sa.text(
                "SELECT count(*), count(DISTINCT event_id) FROM reporting.inbox WHERE topic = :t"), {"t": TOPIC})).one()
            lat = [r[0] for r in (await c.execute(sa.text(
                "SELECT extract(epoch FROM i.processed_at - o.created_at) FROM recruitment.outbox o "
                "JOIN reporting.inbox i ON i.event_id = o.event_id WHERE o.event_id <> :w"), {"w": warm[0]})).all()]
        copies = await topic_copies(env["KAFKA_BOOTSTRAP_SERVERS"])
        await engine.dispose()
        relay.stop()
        consumer.stop()
    finally:
        stack.stop()

    want = {str(i) for i in ids}
    inbox = (inbox[0] - len(warm), inbox[1] - len(warm))
    acked -= len(warm)
    published = set(copies)
    lost = len(want - published) + max(0, len(want) - inbox[1])
    print(f"seed                      {args.seed}")
    print(f"events attempted          {len(ids)}  (written in {written:.1f} s)")
    print(f"acknowledged by broker    {acked}  (outbox rows marked sent)")
    print(f"applied by consumer       {inbox[1]}  (inbox rows {inbox[0]}, distinct {inbox[1]})")
    print(f"duplicates published      {sum(copies.values()) - len(published)}")
    print(f"duplicates applied        {inbox[0] - inbox[1]}  (target 0)")
    print(f"lost                      {lost}  (target 0)")
    print(f"SIGKILLs                  relay {relay.kills}, consumer {consumer.kills}")
    print(f"max outbox backlog        {max(backlog) if backlog else 0}")
    print(f"end-to-end latency (s)    p50 {pct(lat, 50):.3f}  p95 {pct(lat, 95):.3f}  p99 {pct(lat, 99):.3f}")
    print(f"all applied after         {recovered:.1f} s")
    if lost or inbox[0] != inbox[1]:
        sys.exit(1)


if __name__ == "__main__":
    asyncio.run(main())
