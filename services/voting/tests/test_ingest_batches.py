"""The ballot box's buffer (services/voting/ingest.py), without a database: when a batch is written
(full, its oldest vote waited the flush interval, a flush, the process shutting down), that its
votes are written in a random order, and that every voter gets the answer for their own vote.
The write itself (`Ingest._write`, one statement against PostgreSQL) is replaced by a recorder;
the integration tests (tests/integration/test_ballot_secrecy.py, test_voting_service.py) run it
against the real database."""

from __future__ import annotations

import asyncio
import time
import uuid
from types import SimpleNamespace

from services.voting.domain.board import Receipt
from services.voting.ingest import Ingest, Item
from shared.settings import Settings

ASSEMBLY = uuid.UUID(int=1)
BALLOT = uuid.UUID(int=2)


class Recorder(Ingest):
    def __init__(self, batch_votes: int, flush_seconds: float) -> None:
        super().__init__(SimpleNamespace(settings=Settings(voting_batch_votes=batch_votes,
                                                           voting_flush_seconds=flush_seconds)))
        self.written: list[tuple[float, list[str]]] = []

    async def _write(self, assembly_id, items):
        self.written.append((time.monotonic(), [i.token_hash for i in items]))
        base = sum(len(w) for _, w in self.written[:-1])
        return [Receipt("b", base + n + 1, i.token_hash) for n, i in enumerate(items)]


def item(n: int) -> Item:
    return Item(BALLOT, {"q1": "yes"}, token_hash=f"t{n}")


async def test_a_full_batch_is_written_at_once_in_a_random_order_and_answers_each_voter():
    box = Recorder(batch_votes=8, flush_seconds=30)
    t0 = time.monotonic()
    for _ in range(20):
        before = len(box.written)
        receipts = await asyncio.gather(*(box.submit(ASSEMBLY, item(n)) for n in range(8)))
        assert len(box.written) == before + 1  # one batch of eight
        assert [r.hash for r in receipts] == [f"t{n}" for n in range(8)]  # each voter gets their own vote's receipt
    assert time.monotonic() - t0 < 5  # never waited for the flush interval
    orders = [w for _, w in box.written]
    assert all(sorted(w) == sorted(f"t{n}" for n in range(8)) for w in orders)
    # Shuffled: the chance that 20 shuffles of 8 all keep the order they came in is (1/8!)**20.
    assert any(w != [f"t{n}" for n in range(8)] for w in orders)


async def test_a_batch_that_is_not_full_waits_for_the_flush_interval_then_goes():
    box = Recorder(batch_votes=100, flush_seconds=0.2)
    t0 = time.monotonic()
    receipts = await asyncio.gather(*(box.submit(ASSEMBLY, item(n)) for n in range(3)))
    waited = box.written[0][0] - t0
    assert len(box.written) == 1 and len(box.written[0][1]) == 3 and len(receipts) == 3
    assert 0.2 <= waited < 2, waited


async def test_a_flush_writes_the_buffer_now_and_a_shutdown_flushes_too():
    box = Recorder(batch_votes=100, flush_seconds=30)
    voters = [asyncio.create_task(box.submit(ASSEMBLY, item(n))) for n in range(5)]
    await asyncio.sleep(0.05)
    assert box.written == [] and not any(v.done() for v in voters)
    t0 = time.monotonic()
    await box.flush(ASSEMBLY)
    assert time.monotonic() - t0 < 2 and all(v.done() for v in voters)
    assert len(box.written) == 1 and len(box.written[0][1]) == 5
    later = [asyncio.create_task(box.submit(ASSEMBLY, item(n))) for n in range(5, 7)]
    await asyncio.sleep(0.05)
    await box.close()  # the app shuts down: nothing stays in the buffer
    assert all(v.done() for v in later) and len(box.written) == 2
    await box.flush(ASSEMBLY)  # nothing buffered: returns at once


async def test_a_failed_write_fails_every_voter_of_its_batch():
    class Broken(Recorder):
        async def _write(self, assembly_id, items):
            raise ConnectionError("database unreachable")

    box = Broken(batch_votes=2, flush_seconds=30)
    results = await asyncio.gather(*(box.submit(ASSEMBLY, item(n)) for n in range(2)), return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)  # unanswered: the tokens stay unused
