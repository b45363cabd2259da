"""The ballot box: every append to an assembly's bulletin board, and the only producer of
`voting.vote-cast.v2` events (`ev.VoteCastV2`, written by hand into the outbox: `vote_cast_row`).

The hot path of a vote cast online (POST /ballots/{id}/votes, services/voting/api.py `cast`):
`Ingest.cast` checks the vote against the cached ballot (domain/ballot_box.py `validate_vote`),
`Ingest.submit` buffers it with the other votes of its assembly until the batch is full
(`voting_batch_votes`) or its oldest vote has waited `voting_flush_seconds`, the batch is put in a
random order, and `Ingest._fast` appends it with ONE statement (`FAST_APPEND`: entries, head,
checkpoint and outbox rows). When the fast path cannot decide, `append_entries` does it in one
transaction under the board's row lock; officials' confirmed paper and postal votes (handlers.py)
are appended the same way.

Secrecy: the votes of a batch get one transaction id, and their positions on the board, their
places on disk and their events' order are a random permutation of the batch, so the database
shows of a vote only which batch it came in. A vote is answered (its receipt) only once its
batch is committed: if the process dies first, the voter's request fails, the token is unused,
and the same vote can be sent again (no buffered vote is acknowledged and then lost). A close in
this process first flushes the assembly's buffer (`flush`), and so does shutting the process down.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from random import SystemRandom
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import asyncpg
import sqlalchemy as sa
import structlog
from prometheus_client import Histogram

from services.voting import models as m
from services.voting.domain.ballot_box import validate_vote
from services.voting.domain.board import Receipt, chain_entry, make_entry
from services.voting.domain.errors import (BallotClosedError, BallotNotOpenError, DuplicateSheetError,
                                           TokenAlreadyUsedError, VotingError)
from services.voting.domain.keys import checkpoint_body
from services.voting.domain.tokens import VoteToken
from services.voting.views import ballot_info, board_head, cached_ballot_info, ensure_voting_open, voting_known_open
from shared.audit import heads as audit_heads
from shared.bus.outbox import Tx
from shared.events import contracts as ev
from shared.events.contracts import spec_for_model
from shared.runtime import Resource, Runtime

BATCH_VOTES = Histogram("borgerting_voting_batch_votes", "Votes the ballot box appended per statement (group commit)",
                        ["path"], buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256))
CHECKPOINT_EVERY = 100  # the board signs a checkpoint at least every this many entries (and at every close)


@dataclass
class Item:
    """One vote to append: online (token) or a confirmed official entry."""

    ballot_id: uuid.UUID
    choices: dict[str, Any]
    kind: str = "online"
    token: VoteToken | None = None
    token_hash: str | None = None
    sheet_id: str | None = None
    officials: dict[str, str] | None = None
    correlation_id: str | None = None
    at: datetime | None = None  # when the vote arrived (a vote that arrived before the closing time counts)


async def write_checkpoint(tx: Tx, assembly_id: uuid.UUID, position: int, head_hash: str, *, secret: str,
                           at: datetime) -> dict[str, Any]:
    """Sign a checkpoint of the board at `position` and publish it, with the heads of every
    service's audit trail that voting has heard of (anchored outside their service; the fast
    path signs its checkpoints without them, to spare a read per batch)."""
    anchors = await audit_heads(tx.session, m.audit_heads, assembly_id, own=m.audit)
    cp = checkpoint_body(secret, assembly_id, position, head_hash, at, anchors)
    await tx.session.execute(sa.insert(m.checkpoints).values(assembly_id=assembly_id, position=position, body=cp))
    await tx.session.execute(sa.update(m.boards).where(m.boards.c.assembly_id == assembly_id)
                             .values(last_checkpoint=position))
    return cp


async def append_entries(tx: Tx, assembly_id: uuid.UUID, items: list[Item], *, secret: str,
                         now: datetime) -> list[Receipt | VotingError]:
    """Append votes to the assembly's board in one transaction, under the board's row lock, which
    also serialises against closing a ballot. Per item: a receipt, or the refusal."""
    head = await board_head(tx, assembly_id, lock=True)
    ballot_ids = list({i.ballot_id for i in items})
    states = {r.id: r for r in (await tx.session.execute(sa.select(
        m.ballots.c.id, m.ballots.c.closed_at, m.ballots.c.voting_opened_at).where(m.ballots.c.id.in_(ballot_ids)))).all()}
    hashes = [i.token_hash for i in items if i.token_hash]
    used = set((await tx.session.execute(sa.select(m.entries.c.token_hash).where(
        m.entries.c.token_hash.in_(hashes)))).scalars()) if hashes else set()
    sheets = [(i.ballot_id, i.sheet_id) for i in items if i.sheet_id]
    used_sheets = set()
    if sheets:
        used_sheets = {tuple(r) for r in (await tx.session.execute(sa.select(m.entries.c.ballot_id, m.entries.c.sheet_id)
                       .where(sa.tuple_(m.entries.c.ballot_id, m.entries.c.sheet_id).in_(sheets)))).all()}
    board_id = head.board_id
    pos, prev = head.head_position, head.head_hash
    at = event_time(now)
    out: list[Receipt | VotingError] = []
    rows, outbox = [], []
    for it in items:
        info = await ballot_info(tx, it.ballot_id)
        if it.ballot_id not in states:
            out.append(VotingError(f"unknown ballot {it.ballot_id}"))
            continue
        if states[it.ballot_id].closed_at is not None or info.ballot.is_closed(it.at or now):
            out.append(BallotClosedError(f"ballot {it.ballot_id} is closed; no more votes are accepted"))
            continue
        if states[it.ballot_id].voting_opened_at is None:  # never a vote before the issuing has ended
            out.append(BallotNotOpenError(f"voting on ballot {it.ballot_id} has not been opened yet"))
            continue
        if it.token_hash and it.token_hash in used:
            out.append(TokenAlreadyUsedError("this token has already been used to vote"))
            continue
        if it.sheet_id and (it.ballot_id, it.sheet_id) in used_sheets:
            out.append(DuplicateSheetError(f"sheet {it.sheet_id} is already on the board"))
            continue
        entry = make_entry(position=pos + 1, prev_hash=prev, ballot_id=str(it.ballot_id), kind=it.kind,
                           choices=it.choices, token=it.token, sheet_id=it.sheet_id, officials=it.officials)
        pos, prev = entry["position"], entry["hash"]
        if it.token_hash:
            used.add(it.token_hash)
        if it.sheet_id:
            used_sheets.add((it.ballot_id, it.sheet_id))
        rows.append({"assembly_id": assembly_id, "position": pos, "ballot_id": it.ballot_id, "kind": it.kind,
                     "token_hash": entry["token_hash"], "sheet_id": it.sheet_id, "hash": entry["hash"], "entry": entry})
        outbox.append(vote_cast_row(str(assembly_id), entry, at=at, correlation_id=it.correlation_id))
        out.append(Receipt(board_id, pos, entry["hash"]))
    if rows:
        await tx.session.execute(sa.insert(m.entries), rows)
        await tx.session.execute(sa.insert(m.outbox), outbox)
        await tx.session.execute(sa.update(m.boards).where(m.boards.c.assembly_id == assembly_id)
                                 .values(head_position=pos, head_hash=prev, version=m.boards.c.version + 1))
        if pos // CHECKPOINT_EVERY > head.last_checkpoint // CHECKPOINT_EVERY:
            await write_checkpoint(tx, assembly_id, pos, prev, secret=secret, at=now)
    return out


FAST_APPEND = """
WITH head AS (
  UPDATE voting.boards SET head_position = $2, head_hash = $3, version = version + 1,
    last_checkpoint = CASE WHEN $8::jsonb IS NULL THEN last_checkpoint ELSE $2 END
  WHERE assembly_id = $1 AND version = $4 AND head_position = $5
  RETURNING 1),
cp AS (
  INSERT INTO voting.checkpoints (assembly_id, position, body)
  SELECT $1, $2, $8::jsonb WHERE $8::jsonb IS NOT NULL AND EXISTS (SELECT 1 FROM head)
  RETURNING 1),
ins AS (
  INSERT INTO voting.entries (assembly_id, position, ballot_id, kind, token_hash, sheet_id, hash, entry)
  SELECT $1, e.position, e.ballot_id, 'online', e.token_hash, NULL, e.hash, e.entry || jsonb_build_object('hash', e.hash)
  FROM jsonb_to_recordset($6::jsonb) AS e(position bigint, ballot_id uuid, token_hash text, hash text, entry jsonb)
  WHERE EXISTS (SELECT 1 FROM head)
  RETURNING 1),
ob AS (
  INSERT INTO voting.outbox (event_id, topic, key, envelope)
  SELECT o.event_id, o.topic, o.key, o.envelope
  FROM jsonb_to_recordset($7::jsonb) AS o(event_id uuid, topic text, key text, envelope jsonb)
  WHERE EXISTS (SELECT 1 FROM head)
  RETURNING 1)
SELECT (SELECT count(*) FROM head) AS head, (SELECT count(*) FROM ins) AS ins
"""


VOTE_CAST = spec_for_model(ev.VoteCastV2)


def event_time(at: datetime) -> str:
    """A UTC time as pydantic writes it in an envelope."""
    return at.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def vote_cast_row(subject: str, entry: dict[str, Any], *, at: str, correlation_id: str | None) -> dict[str, Any]:
    """The outbox row of an entry's `vote-cast` event (`ev.VoteCastV2`), built by hand for the ballot box's
    hot path (validating and dumping the envelope with pydantic cost more than the rest of the
    event): the same JSON as `new_event(VoteCastV2(...))`, which a test checks against the contract."""
    event_id = str(uuid.uuid4())
    return {"event_id": event_id, "topic": VOTE_CAST.topic, "key": subject, "envelope": {
        "id": event_id, "type": VOTE_CAST.type, "version": VOTE_CAST.version, "source": VOTE_CAST.source,
        "time": at, "subject": subject, "region": None, "correlation_id": correlation_id,
        "payload": {"assembly_id": subject, "ballot_id": entry["ballot_id"], "position": entry["position"],
                    "entry_hash": entry["hash"], "kind": entry["kind"], "token_hash": entry["token_hash"],
                    "choices": entry["choices"]}}}


@dataclass
class Head:
    board_id: str
    position: int
    hash: str
    version: int
    last_checkpoint: int


SHUFFLE = SystemRandom()  # the order of votes within a batch: the operating system's randomness, never a seed


class Ingest:
    """The ballot box's write path for online votes, built for many concurrent voters.

    Batches: the votes of one assembly are buffered until `voting_batch_votes` have come or the
    oldest has waited `voting_flush_seconds` (or a close flushes them), then appended to its board
    as one batch in a random order (ballot secrecy: the board's order, the rows' transaction id and
    their places on disk show only the batch; and one statement serves many voters).

    Fast path: the batch is chained in memory from the head this process last saw and written
    with ONE statement (autocommit, so atomic) that moves the head only if the board's `version`
    is still the one seen, and inserts the entries and their vote-cast outbox rows only if it did.
    A reused token fails the whole statement (unique index), another writer or a close moves the
    version: either way nothing is written and the batch goes the slow path, which locks the board
    row, checks every vote (closed ballots, used tokens) and refuses the ones that must be.
    """

    MAX_BATCH = 256

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        # Per assembly: the buffered votes (item, the voter's future, when it came), the futures of
        # the batch being written, and what wakes the writer early (a full batch, a flush).
        self.pending: dict[uuid.UUID, list[tuple[Item, asyncio.Future, float]]] = {}
        self.writing: dict[uuid.UUID, list[asyncio.Future]] = {}
        self.wake: dict[uuid.UUID, asyncio.Event] = {}
        self.flushing: dict[uuid.UUID, int] = {}
        self.running: set[uuid.UUID] = set()
        self.heads: dict[uuid.UUID, Head] = {}
        self.closed: set[uuid.UUID] = set()
        self.conn = None  # a dedicated asyncpg connection for the fast path
        self.batches = self.fast = 0
        self.batch_votes = max(1, min(rt.settings.voting_batch_votes, self.MAX_BATCH))
        self.flush_seconds = rt.settings.voting_flush_seconds

    async def cast(self, ballot_id: uuid.UUID, choices: dict[str, Any], token: VoteToken, *,
                   now: datetime) -> tuple[Receipt, str]:
        """One vote cast online: checked against its ballot (cached after the first vote), then
        appended with the others of its assembly. Returns the receipt and the token's hash."""
        info = cached_ballot_info(ballot_id)
        if info is None:
            async with self.rt.transaction() as tx:
                info = await ballot_info(tx, ballot_id)
        accepted = validate_vote(info.ballot, info.key, choices, token, now=now)
        if not voting_known_open(ballot_id):  # asked of the database until it has been seen open
            async with self.rt.transaction() as tx:
                await ensure_voting_open(tx, ballot_id)
        # No correlation id on the vote's event: it is the request's, and the request's log line
        # (its time) would then give the vote its arrival time, finer than its batch.
        item = Item(ballot_id, accepted.choices, token=accepted.token, token_hash=accepted.token_hash, at=now)
        return await self.submit(info.assembly_id, item), accepted.token_hash

    async def submit(self, assembly_id: uuid.UUID, item: Item) -> Receipt:
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        queue = self.pending.setdefault(assembly_id, [])
        queue.append((item, fut, loop.time()))
        if len(queue) >= self.batch_votes:
            self._wake(assembly_id)
        if assembly_id not in self.running:
            self.running.add(assembly_id)
            asyncio.create_task(self._drain(assembly_id))
        return await fut

    def _wake(self, assembly_id: uuid.UUID) -> None:
        ev = self.wake.get(assembly_id)
        if ev is not None:
            ev.set()

    async def _wait_for_batch(self, assembly_id: uuid.UUID) -> None:
        """Until the batch is full, its oldest vote has waited `flush_seconds`, or a flush asks."""
        loop = asyncio.get_running_loop()
        while True:
            queue = self.pending.get(assembly_id) or []
            if not queue or len(queue) >= self.batch_votes or self.flushing.get(assembly_id):
                return
            left = queue[0][2] + self.flush_seconds - loop.time()
            if left <= 0:
                return
            ev = self.wake.setdefault(assembly_id, asyncio.Event())
            ev.clear()
            try:
                await asyncio.wait_for(ev.wait(), left)
            except TimeoutError:
                return

    async def flush(self, assembly_id: uuid.UUID) -> None:
        """Write the assembly's buffered votes now and wait until they are answered (a close does
        this first, so that no vote sent before it waits in the buffer and is then refused)."""
        futs = [f for _, f, _ in self.pending.get(assembly_id, [])] + self.writing.get(assembly_id, [])
        if not futs:
            return
        self.flushing[assembly_id] = self.flushing.get(assembly_id, 0) + 1
        self._wake(assembly_id)
        try:
            await asyncio.wait(futs)  # not gather: a cancelled flush must not cancel the voters' futures
        finally:
            self.flushing[assembly_id] -= 1
            if not self.flushing[assembly_id]:
                del self.flushing[assembly_id]

    async def _drain(self, assembly_id: uuid.UUID) -> None:
        try:
            while self.pending.get(assembly_id):
                await self._wait_for_batch(assembly_id)
                batch = self.pending[assembly_id][: self.MAX_BATCH]
                del self.pending[assembly_id][: len(batch)]
                SHUFFLE.shuffle(batch)  # positions, places on disk and events in a random order
                self.writing[assembly_id] = [f for _, f, _ in batch]
                try:
                    results = await self._write(assembly_id, [i for i, _, _ in batch])
                    self.batches += 1
                except BaseException as exc:  # the whole batch failed (e.g. database down): tell each voter
                    self.heads.pop(assembly_id, None)
                    for _, fut, _ in batch:
                        if not fut.done():
                            fut.set_exception(exc if isinstance(exc, Exception) else RuntimeError("cancelled"))
                    if not isinstance(exc, Exception):
                        raise
                    continue
                finally:
                    self.writing.pop(assembly_id, None)
                for (_, fut, _), r in zip(batch, results, strict=True):
                    if fut.done():
                        continue
                    if isinstance(r, Exception):
                        fut.set_exception(r)
                    else:
                        fut.set_result(r)
        finally:
            self.running.discard(assembly_id)
            if self.pending.get(assembly_id):  # arrived after the loop's last check
                self.running.add(assembly_id)
                asyncio.create_task(self._drain(assembly_id))
            else:
                self.pending.pop(assembly_id, None)
                self.wake.pop(assembly_id, None)

    async def _write(self, assembly_id: uuid.UUID, items: list[Item]) -> list[Receipt | VotingError]:
        now = datetime.now(timezone.utc)
        head = self.heads.get(assembly_id)
        if head is not None:
            results = await self._fast(assembly_id, head, items, now)
            if results is not None:
                self.fast += 1
                BATCH_VOTES.labels("fast").observe(len(items))
                return results
        BATCH_VOTES.labels("slow").observe(len(items))
        secret = self.rt.settings.secret_key
        async with self.rt.transaction() as tx:
            results = await append_entries(tx, assembly_id, items, secret=secret, now=now)
            row = (await tx.session.execute(sa.select(m.boards).where(m.boards.c.assembly_id == assembly_id))).first()
            closed = (await tx.session.execute(sa.select(m.ballots.c.id).where(
                m.ballots.c.assembly_id == assembly_id, m.ballots.c.closed_at.is_not(None)))).scalars().all()
        self.closed.update(closed)
        self.heads[assembly_id] = Head(row.board_id, row.head_position, row.head_hash, row.version, row.last_checkpoint)
        return results

    async def close(self) -> None:
        """The app shuts down: write the buffered votes, then close the fast path's connection."""
        for assembly_id in list(self.pending):
            try:
                await asyncio.wait_for(self.flush(assembly_id), 30)
            except Exception:  # noqa: BLE001 -- unanswered voters' requests fail; their tokens stay unused
                structlog.get_logger().warning("voting.flush_failed", assembly_id=str(assembly_id))
        conn, self.conn = self.conn, None
        if conn is not None and not conn.is_closed():
            await conn.close()

    async def _connection(self):
        if self.conn is None or self.conn.is_closed():
            url = self.rt.settings.database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
            self.conn = await asyncpg.connect(url)
        return self.conn

    async def _fast(self, assembly_id: uuid.UUID, head: Head, items: list[Item],
                    now: datetime) -> list[Receipt | VotingError] | None:
        out: list[Receipt | VotingError] = []
        seen: set[str] = set()
        pos, prev = head.position, head.hash
        rows: list[str] = []
        events: list[dict[str, Any]] = []
        subject, at = str(assembly_id), event_time(now)
        for it in items:
            info = cached_ballot_info(it.ballot_id)
            if info is None or it.kind != "online" or not it.token_hash:
                return None
            if it.ballot_id in self.closed or info.ballot.is_closed(it.at or now):
                out.append(BallotClosedError(f"ballot {it.ballot_id} is closed; no more votes are accepted"))
                continue
            if it.token_hash in seen:
                out.append(TokenAlreadyUsedError("this token has already been used to vote"))
                continue
            seen.add(it.token_hash)
            entry, body = chain_entry(position=pos + 1, prev_hash=prev, ballot_id=str(it.ballot_id), kind="online",
                                      choices=it.choices, token=it.token)
            pos, prev = entry["position"], entry["hash"]
            # JSON by hand around the entry's canonical JSON, already written for its hash (the
            # statement adds the hash): uuid, hex and int values, nothing to escape.
            rows.append(f'{{"position":{pos},"ballot_id":"{entry["ballot_id"]}","token_hash":"{entry["token_hash"]}",'
                        f'"hash":"{prev}","entry":{body.decode()}}}')
            events.append(vote_cast_row(subject, entry, at=at, correlation_id=it.correlation_id))
            out.append(Receipt(head.board_id, pos, prev))
        if not rows:
            return out
        # A checkpoint that falls due is signed now and written by the same statement.
        due = pos // CHECKPOINT_EVERY > head.last_checkpoint // CHECKPOINT_EVERY
        cp = json.dumps(checkpoint_body(self.rt.settings.secret_key, assembly_id, pos, prev, now)) if due else None
        try:
            conn = await self._connection()
            r = await conn.fetchrow(FAST_APPEND, assembly_id, pos, prev, head.version, head.position,
                                    "[" + ",".join(rows) + "]", json.dumps(events), cp)
        except asyncpg.UniqueViolationError:
            return None  # a token already on the board: the slow path names it
        except (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, OSError):
            # The connection broke. If the statement committed before it did, the slow path finds
            # these tokens used and says so (the voter finds the vote by its token hash).
            self.conn = None
            self.heads.pop(assembly_id, None)
            return None
        if r["head"] != 1 or r["ins"] != len(rows):
            return None  # the board moved (another writer, a close): the slow path decides
        self.heads[assembly_id] = Head(head.board_id, pos, prev, head.version + 1,
                                       pos if due else head.last_checkpoint)
        return out


# One ballot box per API process (its fast path's connection is closed with the app).
INGEST = Resource("voting.ingest", Ingest, close=Ingest.close)
