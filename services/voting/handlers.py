"""Voting's event handlers (electorate from sortition, check-ins from sessions) and commands:
open a ballot, issue a blind-signed token, put votes on the bulletin board, officials' paper and
postal entries, close and tally, export the board. The rules are the domain's
(services/voting/domain); this module adds the database, the events and the audit trail.

Secrecy by construction:
- `issued` records only which member received a token (or a ballot sheet) for which ballot; the
  blinded message and the signature are never stored, so the token cannot be linked back.
- `entries` (the board) holds token hashes and choices, never a member id, and no timestamps.
- Token issuance is not written to the audit trail per member: an audit entry has a time, and
  the time of issue next to the time a vote's event was published could link the two.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
import structlog
from prometheus_client import Histogram
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.voting import models as m
from services.voting.domain import officials as off
from services.voting.domain.ballots import Ballot
from services.voting.domain.blind_rsa import DEFAULT_VARIANT, PublicKey, SecretKey
from services.voting.domain.board import (BallotPublication, Board, BoardKey, Receipt, chain_entry,
                                          checkpoint_payload, genesis_hash, make_entry)
from services.voting.domain.errors import (BallotClosedError, BoardError, DuplicateSheetError, NotCheckedInError,
                                           NotEligibleError, OfficialEntryError, TokenAlreadyIssuedError,
                                           TokenAlreadyUsedError, VotingError)
from services.voting.domain.tally import BallotResult, tally
from services.voting.domain.tokens import TokenIssuer, VoteToken
from shared.bus.outbox import Tx
from shared.db import load_or_404
from shared.problems import conflict, not_found
from shared.runtime import Resource
from shared.events import contracts as ev
from shared.events.contracts import spec_for_model
from shared.events.envelope import Envelope
from shared.projections import panel_membership_handlers

log = structlog.get_logger()
BATCH_VOTES = Histogram("borgerting_voting_batch_votes", "Votes the ballot box appended per statement (group commit)",
                        ["path"], buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256))
CHECKPOINT_EVERY = 100  # the board signs a checkpoint at least every this many entries (and at every close)
KINDS = ("online", "paper", "postal")


# ---- events in ----------------------------------------------------------------------------


async def on_attendance(tx: Tx, e: Envelope, p: ev.AttendanceRecordedV1) -> None:
    """Present at a session = checked in there (the latest record of a session wins)."""
    await tx.session.execute(
        pg_insert(m.checkins).values(session_id=p.session_id, member_id=p.member_id, assembly_id=p.assembly_id,
                                     present=p.present)
        .on_conflict_do_update(index_elements=["session_id", "member_id"], set_={"present": p.present}))


HANDLERS = {**panel_membership_handlers(m.eligible), "sessions.attendance-recorded.v1": on_attendance}


# ---- keys ---------------------------------------------------------------------------------


def _derive(secret: str, label: str) -> bytes:
    return hmac.new(secret.encode(), label.encode(), hashlib.sha256).digest()


def board_key(secret: str, assembly_id: uuid.UUID) -> BoardKey:
    """The board's Ed25519 key, derived from the service secret (one board per assembly)."""
    return BoardKey.from_seed(_derive(secret, f"voting/board-key/{assembly_id}"))


def board_id_for(assembly_id: uuid.UUID) -> str:
    return f"assembly-{assembly_id}"


def _key_password(secret: str, ballot_id: uuid.UUID) -> bytes:
    return _derive(secret, f"voting/ballot-key/{ballot_id}").hex().encode()


# ---- ballots (cached: definitions never change; closing is tracked in the database) --------


@dataclass(frozen=True)
class BallotInfo:
    id: uuid.UUID
    assembly_id: uuid.UUID
    ballot: Ballot  # without closed_at
    key: PublicKey
    session_id: uuid.UUID | None


_CACHE: OrderedDict[uuid.UUID, BallotInfo] = OrderedDict()
_SECRET_KEYS: OrderedDict[uuid.UUID, SecretKey] = OrderedDict()


def _remember(cache: OrderedDict, key, value, limit: int = 256) -> None:
    cache[key] = value
    cache.move_to_end(key)
    while len(cache) > limit:
        cache.popitem(last=False)


def _info(row) -> BallotInfo:
    return BallotInfo(row.id, row.assembly_id, Ballot.from_dict(row.definition), PublicKey.from_pem(row.token_key_pem),
                      row.session_id)


def cached_ballot_info(ballot_id: uuid.UUID) -> BallotInfo | None:
    """Without a database round trip (the hot path of casting a vote); None if not cached."""
    return _CACHE.get(ballot_id)


async def ballot_info(tx: Tx, ballot_id: uuid.UUID) -> BallotInfo:
    info = _CACHE.get(ballot_id)
    if info is None:
        info = _info(await load_ballot(tx, ballot_id))
        _remember(_CACHE, ballot_id, info)
    return info


async def load_ballot(tx: Tx, ballot_id: uuid.UUID, *, lock: bool = False):
    return await load_or_404(tx, m.ballots, "ballot", lock=lock, id=ballot_id)


def ballot_state(row, now: datetime) -> str:
    b = Ballot.from_dict(row.definition)
    if row.closed_at is not None or b.is_closed(now):
        return "closed"
    return "open" if b.is_open(now) else "scheduled"


async def assembly_of_ballot(tx: Tx, ballot_id: uuid.UUID) -> uuid.UUID:
    return (await ballot_info(tx, ballot_id)).assembly_id


def new_ballot_key() -> SecretKey:
    """A fresh RSA-2048 key for one ballot (CPU-bound: call it in a thread)."""
    return SecretKey.generate(2048)


async def open_ballot(tx: Tx, assembly_id: uuid.UUID, definition: dict[str, Any], *, session_id: uuid.UUID | None,
                      secret: str, key: SecretKey) -> uuid.UUID:
    """`definition` is a Ballot dict without id and members; both are filled in here."""
    members = (await tx.session.execute(
        sa.select(sa.func.count()).where(m.eligible.c.assembly_id == assembly_id, m.eligible.c.active.is_(True))
    )).scalar_one()
    if members == 0:
        raise conflict("nobody is eligible to vote yet: the panel for this assembly has not been drawn")
    ballot_id = uuid.uuid4()
    ballot = Ballot.from_dict({**definition, "id": str(ballot_id), "members": members, "closed_at": None})
    pk = key.public_key
    await tx.session.execute(sa.insert(m.ballots).values(
        id=ballot_id, assembly_id=assembly_id, title=ballot.title, definition=ballot.to_dict(), session_id=session_id,
        token_key_pem=pk.to_pem(), token_key_id=pk.key_id,
        secret_key_pem=key.to_pem(_key_password(secret, ballot_id))))
    await tx.session.execute(pg_insert(m.boards).values(
        assembly_id=assembly_id, board_id=board_id_for(assembly_id), head_position=0,
        head_hash=genesis_hash(board_id_for(assembly_id))).on_conflict_do_nothing())
    d = ballot.to_dict()
    await tx.emit(ev.BallotOpenedV2(
        assembly_id=assembly_id, ballot_id=ballot_id, title=ballot.title, members=members,
        threshold=ev.ThresholdV2(**d["threshold"]), quorum_min_ballots=ballot.quorum.min_ballots,
        quorum_min_fraction=d["quorum"]["min_fraction"], opens_at=ballot.opens_at, closes_at=ballot.closes_at,
        questions=[ev.BallotQuestionV2(question_id=q.id, text=q.text, type=q.type.value,
                                       recommendation=q.type.value in ("yes_no_abstain", "agree_scale"),
                                       options=list(q.options), points=list(q.points),
                                       support_points=sorted(q.support_points)) for q in ballot.questions]),
        subject=assembly_id)
    await tx.audit("ballot.opened", assembly_id, object_id=ballot_id,
                   details={"title": ballot.title, "questions": len(ballot.questions), "members": members,
                            "threshold": ballot.threshold.describe(), "token_key_id": pk.key_id,
                            "session_id": str(session_id) if session_id else None})
    _remember(_CACHE, ballot_id, BallotInfo(ballot_id, assembly_id, ballot, pk, session_id))
    return ballot_id


# ---- eligibility and tokens ---------------------------------------------------------------


async def eligibility(tx: Tx, info: BallotInfo, member_id: uuid.UUID) -> dict[str, Any]:
    on_roster = (await tx.session.execute(sa.select(m.eligible.c.member_id).where(
        m.eligible.c.assembly_id == info.assembly_id, m.eligible.c.member_id == member_id,
        m.eligible.c.active.is_(True)))).first() is not None
    q = sa.select(m.checkins.c.member_id).where(m.checkins.c.member_id == member_id, m.checkins.c.present.is_(True))
    q = q.where(m.checkins.c.session_id == info.session_id) if info.session_id else q.where(
        m.checkins.c.assembly_id == info.assembly_id)
    checked_in = (await tx.session.execute(q.limit(1))).first() is not None
    kind = (await tx.session.execute(sa.select(m.issued.c.kind).where(
        m.issued.c.ballot_id == info.id, m.issued.c.member_id == member_id))).scalar_one_or_none()
    return {"on_roster": on_roster, "checked_in": checked_in, "issued": kind}


async def _secret_key(tx: Tx, ballot_id: uuid.UUID, secret: str) -> SecretKey:
    sk = _SECRET_KEYS.get(ballot_id)
    if sk is None:
        pem = (await tx.session.execute(sa.select(m.ballots.c.secret_key_pem).where(m.ballots.c.id == ballot_id))).scalar_one()
        sk = await asyncio.to_thread(SecretKey.from_pem, pem, _key_password(secret, ballot_id))
        _remember(_SECRET_KEYS, ballot_id, sk, limit=64)
    return sk


async def _closed_at(tx: Tx, ballot_id: uuid.UUID):
    return (await tx.session.execute(sa.select(m.ballots.c.closed_at).where(m.ballots.c.id == ballot_id))).scalar_one()


async def issue_token(tx: Tx, ballot_id: uuid.UUID, member_id: uuid.UUID, blinded_msg: bytes, *, secret: str,
                      now: datetime) -> bytes:
    """Blind-sign one token for a checked-in member of the panel; at most one per member and ballot."""
    info = await ballot_info(tx, ballot_id)
    if await _closed_at(tx, ballot_id) is not None or info.ballot.is_closed(now):
        raise BallotClosedError(f"ballot {ballot_id} is closed; no more tokens are issued")
    el = await eligibility(tx, info, member_id)
    first = (await tx.session.execute(
        pg_insert(m.issued).values(ballot_id=ballot_id, member_id=member_id, kind="online")
        .on_conflict_do_nothing().returning(m.issued.c.member_id))).first() is not None
    issuer = TokenIssuer(str(ballot_id), await _secret_key(tx, ballot_id, secret))
    # Eligibility first (clear 4xx); an error rolls the `issued` row back.
    if not el["on_roster"] or not el["checked_in"] or not first:
        issuer.issue(blinded_msg, member_id=str(member_id), on_roster=el["on_roster"], checked_in=el["checked_in"],
                     already_issued=not first)
    return await asyncio.to_thread(issuer.issue, blinded_msg, member_id=str(member_id), on_roster=True,
                                   checked_in=True, already_issued=False)


async def issue_sheet(tx: Tx, ballot_id: uuid.UUID, member_id: uuid.UUID, kind: str, *, now: datetime) -> None:
    """An official hands a member a paper ballot sheet (checked in) or sends a postal one: that
    member then gets no online token, and the sheet counts in `issued`."""
    info = await ballot_info(tx, ballot_id)
    if await _closed_at(tx, ballot_id) is not None or info.ballot.is_closed(now):
        raise BallotClosedError(f"ballot {ballot_id} is closed")
    el = await eligibility(tx, info, member_id)
    if not el["on_roster"]:
        raise NotEligibleError(f"member {member_id} is not on the roster for ballot {ballot_id}")
    if kind == "paper" and not el["checked_in"]:
        raise NotCheckedInError(f"member {member_id} must be checked in to receive a paper ballot")
    first = (await tx.session.execute(
        pg_insert(m.issued).values(ballot_id=ballot_id, member_id=member_id, kind=kind)
        .on_conflict_do_nothing().returning(m.issued.c.member_id))).first()
    if first is None:
        raise TokenAlreadyIssuedError(f"member {member_id} already received a token or ballot sheet for this ballot")
    await tx.audit("ballot_sheet.issued", info.assembly_id, object_id=ballot_id, details={"kind": kind})


async def issued_counts(tx: Tx, ballot_id: uuid.UUID) -> dict[str, int]:
    rows = (await tx.session.execute(sa.select(m.issued.c.kind, sa.func.count()).where(
        m.issued.c.ballot_id == ballot_id).group_by(m.issued.c.kind))).all()
    got = dict(rows)
    return {k: int(got.get(k, 0)) for k in KINDS}


# ---- the board ----------------------------------------------------------------------------


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


async def _lock_board(tx: Tx, assembly_id: uuid.UUID):
    row = (await tx.session.execute(sa.select(m.boards).where(m.boards.c.assembly_id == assembly_id)
                                    .with_for_update())).first()
    if row is None:
        raise not_found("bulletin board (no ballot opened yet)")
    return row


def checkpoint_body(assembly_id: uuid.UUID, position: int, head_hash: str, *, secret: str,
                    at: datetime) -> dict[str, Any]:
    """A checkpoint of the board at `position`, signed with the board's key."""
    cp: dict[str, Any] = {"board_id": board_id_for(assembly_id), "position": position, "head_hash": head_hash,
                          "at": at.isoformat()}
    cp["signature"] = board_key(secret, assembly_id).sign(checkpoint_payload(cp))
    return cp


async def _checkpoint(tx: Tx, assembly_id: uuid.UUID, position: int, head_hash: str, *, secret: str,
                      at: datetime) -> dict[str, Any]:
    cp = checkpoint_body(assembly_id, position, head_hash, secret=secret, at=at)
    await tx.session.execute(sa.insert(m.checkpoints).values(assembly_id=assembly_id, position=position, body=cp))
    await tx.session.execute(sa.update(m.boards).where(m.boards.c.assembly_id == assembly_id)
                             .values(last_checkpoint=position))
    return cp


async def append_entries(tx: Tx, assembly_id: uuid.UUID, items: list[Item], *, secret: str,
                         now: datetime) -> list[Receipt | VotingError]:
    """Append votes to the assembly's board in one transaction, under the board's row lock, which
    also serialises against closing a ballot. Per item: a receipt, or the refusal."""
    head = await _lock_board(tx, assembly_id)
    ballot_ids = list({i.ballot_id for i in items})
    closed = dict((await tx.session.execute(sa.select(m.ballots.c.id, m.ballots.c.closed_at).where(
        m.ballots.c.id.in_(ballot_ids)))).all())
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
        if it.ballot_id not in closed:
            out.append(VotingError(f"unknown ballot {it.ballot_id}"))
            continue
        if closed[it.ballot_id] is not None or info.ballot.is_closed(now):
            out.append(BallotClosedError(f"ballot {it.ballot_id} is closed; no more votes are accepted"))
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
            await _checkpoint(tx, assembly_id, pos, prev, secret=secret, at=now)
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
    """The outbox row of an online entry's `vote-cast` event, built by hand for the ballot box's
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


class Ingest:
    """The ballot box's write path for online votes, built for many concurrent voters.

    Group commit: concurrent requests of one assembly are appended to its board as one batch (the
    chain makes appends sequential anyway; batching makes one statement serve many voters).

    Fast path: the batch is chained in memory from the head this process last saw and written
    with ONE statement (autocommit, so atomic) that moves the head only if the board's `version`
    is still the one seen, and inserts the entries and their vote-cast outbox rows only if it did.
    A reused token fails the whole statement (unique index), another writer or a close moves the
    version: either way nothing is written and the batch goes the slow path, which locks the board
    row, checks every vote (closed ballots, used tokens) and refuses the ones that must be.
    """

    MAX_BATCH = 256

    def __init__(self, rt) -> None:
        self.rt = rt
        self.pending: dict[uuid.UUID, list[tuple[Item, asyncio.Future]]] = {}
        self.running: set[uuid.UUID] = set()
        self.heads: dict[uuid.UUID, Head] = {}
        self.closed: set[uuid.UUID] = set()
        self.conn = None  # a dedicated asyncpg connection for the fast path
        self.batches = self.fast = 0

    async def submit(self, assembly_id: uuid.UUID, item: Item) -> Receipt:
        fut = asyncio.get_running_loop().create_future()
        self.pending.setdefault(assembly_id, []).append((item, fut))
        if assembly_id not in self.running:
            self.running.add(assembly_id)
            asyncio.create_task(self._drain(assembly_id))
        return await fut

    async def _drain(self, assembly_id: uuid.UUID) -> None:
        try:
            while self.pending.get(assembly_id):
                batch = self.pending[assembly_id][: self.MAX_BATCH]
                del self.pending[assembly_id][: len(batch)]
                try:
                    results = await self._write(assembly_id, [i for i, _ in batch])
                    self.batches += 1
                except BaseException as exc:  # the whole batch failed (e.g. database down): tell each voter
                    self.heads.pop(assembly_id, None)
                    for _, fut in batch:
                        if not fut.done():
                            fut.set_exception(exc if isinstance(exc, Exception) else RuntimeError("cancelled"))
                    if not isinstance(exc, Exception):
                        raise
                    continue
                for (_, fut), r in zip(batch, results, strict=True):
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
        """Close the fast path's connection (the app shuts down)."""
        conn, self.conn = self.conn, None
        if conn is not None and not conn.is_closed():
            await conn.close()

    async def _connection(self):
        import asyncpg

        if self.conn is None or self.conn.is_closed():
            url = self.rt.settings.database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
            self.conn = await asyncpg.connect(url)
        return self.conn

    async def _fast(self, assembly_id: uuid.UUID, head: Head, items: list[Item],
                    now: datetime) -> list[Receipt | VotingError] | None:
        import json

        out: list[Receipt | VotingError] = []
        seen: set[str] = set()
        pos, prev = head.position, head.hash
        rows: list[str] = []
        events: list[dict[str, Any]] = []
        subject, at = str(assembly_id), event_time(now)
        for it in items:
            info = _CACHE.get(it.ballot_id)
            if info is None or it.kind != "online" or not it.token_hash:
                return None
            if it.ballot_id in self.closed or info.ballot.is_closed(now):
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
        import asyncpg

        # A checkpoint that falls due is signed now and written by the same statement.
        due = pos // CHECKPOINT_EVERY > head.last_checkpoint // CHECKPOINT_EVERY
        cp = json.dumps(checkpoint_body(assembly_id, pos, prev, secret=self.rt.settings.secret_key,
                                        at=now)) if due else None
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


# ---- officials' paper and postal entries --------------------------------------------------


def _pending(row) -> off.PendingEntry:
    return off.PendingEntry(str(row.id), str(row.ballot_id), row.kind, row.sheet_id, row.choices, row.entered_by,
                            row.entered_at, off.EntryStatus(row.status), row.decided_by, row.decided_at, row.reason)


async def enter_official(tx: Tx, ballot_id: uuid.UUID, *, kind: str, sheet_id: str, choices: Any, official: str,
                         now: datetime) -> uuid.UUID:
    info = await ballot_info(tx, ballot_id)
    if await _closed_at(tx, ballot_id) is not None:
        raise BallotClosedError(f"ballot {ballot_id} is closed")
    entry_id = uuid.uuid4()
    pending, rec = off.enter(info.ballot, entry_id=str(entry_id), kind=kind, sheet_id=sheet_id, choices=choices,
                             official_id=official, at=now)
    dup = (await tx.session.execute(sa.select(m.official_entries.c.id).where(
        m.official_entries.c.ballot_id == ballot_id, m.official_entries.c.sheet_id == sheet_id,
        m.official_entries.c.status != "rejected"))).first()
    if dup is not None:
        raise DuplicateSheetError(f"sheet {sheet_id} has already been entered for this ballot")
    await tx.session.execute(sa.insert(m.official_entries).values(
        id=entry_id, ballot_id=ballot_id, kind=kind, sheet_id=sheet_id, choices=pending.choices,
        choices_digest=pending.choices_digest, entered_by=official, entered_at=now, status="pending"))
    await tx.audit(rec.action, info.assembly_id, object_id=entry_id, details={**rec.details, "ballot_id": str(ballot_id)})
    return entry_id


async def load_official(tx: Tx, entry_id: uuid.UUID, *, lock: bool = False):
    return await load_or_404(tx, m.official_entries, "official entry", lock=lock, id=entry_id)


async def official_scope(tx: Tx, entry_id: uuid.UUID) -> uuid.UUID:
    row = await load_official(tx, entry_id)
    return await assembly_of_ballot(tx, row.ballot_id)


async def confirm_official(tx: Tx, entry_id: uuid.UUID, *, official: str, choices: Any | None, secret: str,
                           now: datetime) -> tuple[Receipt | None, VotingError | None]:
    """Second official confirms: the vote goes on the board (marked paper/postal). A refusal
    because the two readings differ is audited and returned (the caller commits, then answers 409)."""
    row = await load_official(tx, entry_id, lock=True)
    info = await ballot_info(tx, row.ballot_id)
    p = _pending(row)
    try:
        _, conf, rec = off.confirm(info.ballot, p, official_id=official, at=now, choices=choices)
    except OfficialEntryError as exc:
        if exc.code == "official_entry_refused" and p.status is off.EntryStatus.PENDING and official != p.entered_by:
            r = off.refused_record(p, official, now, str(exc))
            await tx.audit(r.action, info.assembly_id, object_id=entry_id, details=dict(r.details))
            return None, exc
        raise
    issued = await issued_counts(tx, row.ballot_id)
    on_board = (await tx.session.execute(sa.select(sa.func.count()).where(
        m.entries.c.ballot_id == row.ballot_id, m.entries.c.kind == row.kind))).scalar_one()
    if on_board >= issued[row.kind]:
        raise conflict(f"{issued[row.kind]} {row.kind} ballot sheet(s) were issued for this ballot and as many "
                       f"are on the board already; record the sheet handed out first", code="sheets_exhausted")
    [res] = await append_entries(tx, info.assembly_id, [Item(
        row.ballot_id, dict(conf.choices), kind=conf.kind, sheet_id=conf.sheet_id,
        officials={"entered_by": conf.entered_by, "confirmed_by": conf.confirmed_by},
        correlation_id=structlog.contextvars.get_contextvars().get("correlation_id"))], secret=secret, now=now)
    if isinstance(res, VotingError):
        raise res
    await tx.session.execute(sa.update(m.official_entries).where(m.official_entries.c.id == entry_id).values(
        status="confirmed", decided_by=official, decided_at=now, position=res.position))
    await tx.audit(rec.action, info.assembly_id, object_id=entry_id,
                   details={**rec.details, "ballot_id": str(row.ballot_id), "position": res.position})
    return res, None


async def reject_official(tx: Tx, entry_id: uuid.UUID, *, official: str, reason: str, now: datetime) -> None:
    row = await load_official(tx, entry_id, lock=True)
    info = await ballot_info(tx, row.ballot_id)
    done, rec = off.reject(_pending(row), official_id=official, at=now, reason=reason)
    await tx.session.execute(sa.update(m.official_entries).where(m.official_entries.c.id == entry_id).values(
        status="rejected", decided_by=official, decided_at=now, reason=reason))
    await tx.audit(rec.action, info.assembly_id, object_id=entry_id, details={**rec.details, "ballot_id": str(row.ballot_id)})


# ---- close and tally ----------------------------------------------------------------------


async def close_ballot(tx: Tx, ballot_id: uuid.UUID, *, secret: str, now: datetime) -> dict[str, Any]:
    info = await ballot_info(tx, ballot_id)
    head = await _lock_board(tx, info.assembly_id)  # no vote batch is mid-way while we close
    row = await load_ballot(tx, ballot_id, lock=True)
    if row.closed_at is not None:
        raise BallotClosedError(f"ballot {ballot_id} is already closed")
    closes_at = info.ballot.closes_at
    at = min(now, closes_at) if closes_at else now
    closed = info.ballot.close(at)
    votes = list((await tx.session.execute(sa.select(m.entries.c.entry["choices"]).where(
        m.entries.c.ballot_id == ballot_id).order_by(m.entries.c.position))).scalars())
    result = tally(closed, votes, now=at)
    issued = await issued_counts(tx, ballot_id)
    await tx.session.execute(sa.update(m.ballots).where(m.ballots.c.id == ballot_id).values(
        closed_at=at, result=result.to_dict()))
    await tx.session.execute(sa.update(m.boards).where(m.boards.c.assembly_id == info.assembly_id)
                             .values(version=m.boards.c.version + 1))  # stops the ballot box's fast path
    await _checkpoint(tx, info.assembly_id, head.head_position, head.head_hash, secret=secret, at=now)
    await tx.emit(ev.BallotClosedV2(assembly_id=info.assembly_id, ballot_id=ballot_id, closed_at=at,
                                    ballots_cast=result.ballots_cast, issued=issued,
                                    board_position=head.head_position, board_hash=head.head_hash),
                  subject=info.assembly_id)
    await tx.emit(ev.ResultsTalliedV2(assembly_id=info.assembly_id, ballot_id=ballot_id,
                                      ballots_cast=result.ballots_cast, members=result.members,
                                      quorum_met=result.quorum_met, questions=question_results(closed, result)),
                  subject=info.assembly_id)
    await tx.audit("ballot.closed", info.assembly_id, object_id=ballot_id, details={
        "ballots_cast": result.ballots_cast, "issued": issued, "quorum_met": result.quorum_met,
        "board_position": head.head_position, "board_hash": head.head_hash})
    return result.to_dict()


def question_results(ballot: Ballot, result: BallotResult) -> list[ev.QuestionResultV2]:
    out = []
    for q in ballot.questions:
        r = result.questions[q.id]
        rec = q.type.value in ("yes_no_abstain", "agree_scale")
        out.append(ev.QuestionResultV2(
            question_id=q.id, text=q.text, type=q.type.value, recommendation=rec, counts=r["counts"], cast=r["cast"],
            valid=r["valid"], support=r.get("support"), base=r.get("base"), support_share=r.get("support_share"),
            threshold=r.get("threshold"), passed=r["passed"] if rec else None,
            passed_options=r["passed"] if q.type.value == "approval" else None, order=r.get("order")))
    return out


async def close_if_due(tx: Tx, ballot_id: uuid.UUID, *, secret: str, now: datetime) -> None:
    """A ballot past its closing time is closed and tallied by the first request that needs it."""
    info = await ballot_info(tx, ballot_id)
    if info.ballot.closes_at and now >= info.ballot.closes_at and await _closed_at(tx, ballot_id) is None:
        try:
            await close_ballot(tx, ballot_id, secret=secret, now=now)
        except BallotClosedError:
            pass


async def results(tx: Tx, ballot_id: uuid.UUID, *, now: datetime) -> dict[str, Any]:
    row = await load_ballot(tx, ballot_id)
    if row.result is None:
        info = await ballot_info(tx, ballot_id)
        tally(info.ballot, [], now=now)  # raises ResultsHiddenError with the closing time
        raise conflict("the ballot is closed but not yet tallied; close it to tally", code="not_tallied")
    return row.result


# ---- the board, read ----------------------------------------------------------------------


async def open_ballot_ids(tx: Tx, assembly_id: uuid.UUID, now: datetime) -> set[uuid.UUID]:
    rows = (await tx.session.execute(sa.select(m.ballots.c.id, m.ballots.c.definition, m.ballots.c.closed_at)
                                     .where(m.ballots.c.assembly_id == assembly_id))).all()
    return {r.id for r in rows if r.closed_at is None and not Ballot.from_dict(r.definition).is_closed(now)}


def public_entry(entry: dict[str, Any], hidden: bool) -> dict[str, Any]:
    """While its ballot is open an entry is shown without its choices (position and hash prove it
    is there); the choices appear when the ballot closes, so no running count leaks."""
    if not hidden:
        return {**entry, "choices_hidden": False}
    return {**{k: v for k, v in entry.items() if k not in ("choices", "token")}, "choices": None, "token": None,
            "choices_hidden": True}


async def board_entry(tx: Tx, assembly_id: uuid.UUID, *, position: int | None = None,
                      token_hash: str | None = None, now: datetime) -> dict[str, Any]:
    q = sa.select(m.entries.c.entry, m.entries.c.ballot_id).where(m.entries.c.assembly_id == assembly_id)
    q = q.where(m.entries.c.position == position) if position is not None else q.where(m.entries.c.token_hash == token_hash)
    row = (await tx.session.execute(q)).first()
    if row is None:
        raise BoardError("no such entry on this board")
    return public_entry(row.entry, row.ballot_id in await open_ballot_ids(tx, assembly_id, now))


async def board_summary(tx: Tx, assembly_id: uuid.UUID, *, secret: str, now: datetime) -> dict[str, Any]:
    head = (await tx.session.execute(sa.select(m.boards).where(m.boards.c.assembly_id == assembly_id))).first()
    if head is None:
        raise not_found("bulletin board (no ballot opened yet)")
    cps = [r.body for r in (await tx.session.execute(sa.select(m.checkpoints.c.body).where(
        m.checkpoints.c.assembly_id == assembly_id).order_by(m.checkpoints.c.id))).all()]
    rows = (await tx.session.execute(sa.select(m.ballots.c.id, m.ballots.c.title, m.ballots.c.definition,
                                               m.ballots.c.closed_at).where(m.ballots.c.assembly_id == assembly_id)
                                     .order_by(m.ballots.c.created_at))).all()
    return {"board_id": head.board_id, "board_key": {"alg": "Ed25519", "public_key": board_key(secret, assembly_id).public_hex},
            "head": {"position": head.head_position, "hash": head.head_hash}, "checkpoints": cps,
            "ballots": [{"id": str(r.id), "title": r.title, "state": ballot_state(r, now)} for r in rows]}


async def checkpoint_now(tx: Tx, assembly_id: uuid.UUID, *, secret: str, now: datetime) -> dict[str, Any]:
    head = await _lock_board(tx, assembly_id)
    cp = await _checkpoint(tx, assembly_id, head.head_position, head.head_hash, secret=secret, at=now)
    await tx.audit("board.checkpoint", assembly_id, object_id=head.board_id,
                   details={"position": head.head_position, "head_hash": head.head_hash})
    return cp


async def export_board(tx: Tx, assembly_id: uuid.UUID, *, secret: str, now: datetime) -> dict[str, Any]:
    """The whole board as one signed document, for `borgerting voting verify`. Refused while a
    ballot on it is open (its entries would show a running count)."""
    if await open_ballot_ids(tx, assembly_id, now):
        raise conflict("a ballot on this board is still open: the board is exported once every ballot on it "
                       "has closed (its head and signed checkpoints are public meanwhile)", code="ballot_open")
    head = (await tx.session.execute(sa.select(m.boards).where(m.boards.c.assembly_id == assembly_id))).first()
    if head is None:
        raise not_found("bulletin board (no ballot opened yet)")
    entries = [r[0] for r in (await tx.session.execute(sa.select(m.entries.c.entry).where(
        m.entries.c.assembly_id == assembly_id).order_by(m.entries.c.position))).all()]
    cps = [r[0] for r in (await tx.session.execute(sa.select(m.checkpoints.c.body).where(
        m.checkpoints.c.assembly_id == assembly_id).order_by(m.checkpoints.c.id))).all()]
    pubs = []
    for r in (await tx.session.execute(sa.select(m.ballots).where(m.ballots.c.assembly_id == assembly_id)
                                       .order_by(m.ballots.c.created_at))).all():
        ballot = Ballot.from_dict(r.definition)
        if r.closed_at is not None:
            ballot = ballot.close(r.closed_at)
        pubs.append(BallotPublication(ballot, PublicKey.from_pem(r.token_key_pem), await issued_counts(tx, r.id),
                                      BallotResult.from_dict(r.result) if r.result else None, DEFAULT_VARIANT))
    board = Board(head.board_id, board_key(secret, assembly_id), entries=entries, checkpoints=cps)
    return board.export(pubs)
