"""Voting's reads: ballots (their definitions and keys cached in the process: they never change),
eligibility, the public bulletin board (head, entries, signed export), results and officials'
entries. Nothing here writes; handlers.py and ingest.py reuse the ballot cache."""

from __future__ import annotations

import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from services.voting import models as m
from services.voting.domain.ballots import Ballot
from services.voting.domain.blind_rsa import DEFAULT_VARIANT, PublicKey
from services.voting.domain.board import BallotPublication, Board, board_id_for, public_entry
from services.voting.domain.errors import BallotNotOpenError, BoardError
from services.voting.domain.keys import board_key
from services.voting.domain.tally import BallotResult, tally
from shared.bus.outbox import Tx
from shared.db import load_or_404
from shared.problems import conflict, not_found

KINDS = ("online", "paper", "postal")


# ---- ballots (cached: definitions never change; closing is tracked in the database) --------


@dataclass(frozen=True)
class BallotInfo:
    id: uuid.UUID
    assembly_id: uuid.UUID
    ballot: Ballot  # without closed_at
    key: PublicKey
    session_id: uuid.UUID | None


_CACHE: OrderedDict[uuid.UUID, BallotInfo] = OrderedDict()


def remember(cache: OrderedDict, key, value, limit: int = 256) -> None:
    """Keep `value` in a small LRU cache of the process."""
    cache[key] = value
    cache.move_to_end(key)
    while len(cache) > limit:
        cache.popitem(last=False)


def remember_ballot(info: BallotInfo) -> None:
    remember(_CACHE, info.id, info)


def cached_ballot_info(ballot_id: uuid.UUID) -> BallotInfo | None:
    """Without a database round trip (the hot path of casting a vote); None if not cached."""
    return _CACHE.get(ballot_id)


async def load_ballot(tx: Tx, ballot_id: uuid.UUID, *, lock: bool = False):
    return await load_or_404(tx, m.ballots, "ballot", lock=lock, id=ballot_id)


async def ballot_info(tx: Tx, ballot_id: uuid.UUID) -> BallotInfo:
    info = _CACHE.get(ballot_id)
    if info is None:
        row = await load_ballot(tx, ballot_id)
        info = BallotInfo(row.id, row.assembly_id, Ballot.from_dict(row.definition),
                          PublicKey.from_pem(row.token_key_pem), row.session_id)
        remember_ballot(info)
    return info


async def assembly_of_ballot(tx: Tx, ballot_id: uuid.UUID) -> uuid.UUID:
    return (await ballot_info(tx, ballot_id)).assembly_id


def ballot_state(row, now: datetime) -> str:
    return Ballot.from_dict(row.definition).state(now, closed=row.closed_at is not None,
                                                  issuing=row.voting_opened_at is None)


# Ballots whose voting this process has seen opened (a ballot never goes back to issuing tokens,
# so the ballot box asks the database only until it has seen the ballot opened).
_VOTING_OPEN: OrderedDict[uuid.UUID, bool] = OrderedDict()


def voting_known_open(ballot_id: uuid.UUID) -> bool:
    return ballot_id in _VOTING_OPEN


async def ensure_voting_open(tx: Tx, ballot_id: uuid.UUID) -> None:
    """Votes are taken only once an organiser has opened voting, which ended token issuance."""
    if ballot_id in _VOTING_OPEN:
        return
    opened = (await tx.session.execute(sa.select(m.ballots.c.voting_opened_at).where(
        m.ballots.c.id == ballot_id))).scalar_one_or_none()
    if opened is None:
        raise BallotNotOpenError(f"voting on ballot {ballot_id} has not been opened yet: tokens and ballot sheets "
                                 "are still being issued (keep yours). Votes, online or on paper, are taken once "
                                 "an organiser opens voting (POST /ballots/{id}/open), which ends the issuing")
    remember(_VOTING_OPEN, ballot_id, True)


async def ballot_view(tx: Tx, ballot_id: uuid.UUID, *, now: datetime) -> dict[str, Any]:
    """A ballot as published: definition, state, token key (PEM and, for the browser, n and e)."""
    row = await load_ballot(tx, ballot_id)
    info = await ballot_info(tx, ballot_id)
    return {"id": row.id, "assembly_id": row.assembly_id, "title": row.title, "state": ballot_state(row, now),
            "session_id": row.session_id, "kind": row.kind, "list_id": row.list_id, "definition": row.definition,
            "token_key": {"alg": DEFAULT_VARIANT.name, "key_id": row.token_key_id, "pem": row.token_key_pem,
                          "n": format(info.key.n, "x"), "e": format(info.key.e, "x")},
            "board_id": board_id_for(row.assembly_id)}


async def closed_at(tx: Tx, ballot_id: uuid.UUID) -> datetime | None:
    return (await tx.session.execute(sa.select(m.ballots.c.closed_at).where(m.ballots.c.id == ballot_id))).scalar_one()


async def results(tx: Tx, ballot_id: uuid.UUID, *, now: datetime) -> dict[str, Any]:
    row = await load_ballot(tx, ballot_id)
    if row.result is None:
        info = await ballot_info(tx, ballot_id)
        tally(info.ballot, [], now=now)  # raises ResultsHiddenError with the closing time
        raise conflict("the ballot is closed but not yet tallied; close it to tally", code="not_tallied")
    return row.result


# ---- eligibility and what was handed out -------------------------------------------------


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


async def issued_counts(tx: Tx, ballot_id: uuid.UUID) -> dict[str, int]:
    rows = (await tx.session.execute(sa.select(m.issued.c.kind, sa.func.count()).where(
        m.issued.c.ballot_id == ballot_id).group_by(m.issued.c.kind))).all()
    got = dict(rows)
    return {k: int(got.get(k, 0)) for k in KINDS}


# ---- officials' entries ---------------------------------------------------------------------


async def load_official(tx: Tx, entry_id: uuid.UUID, *, lock: bool = False):
    return await load_or_404(tx, m.official_entries, "official entry", lock=lock, id=entry_id)


async def official_scope(tx: Tx, entry_id: uuid.UUID) -> uuid.UUID:
    row = await load_official(tx, entry_id)
    return await assembly_of_ballot(tx, row.ballot_id)


async def official_entries(tx: Tx, ballot_id: uuid.UUID) -> list[dict[str, Any]]:
    """A ballot's paper and postal entries: their status, never their choices (only a digest)."""
    rows = (await tx.session.execute(sa.select(m.official_entries).where(
        m.official_entries.c.ballot_id == ballot_id).order_by(m.official_entries.c.entered_at))).all()
    return [{"id": r.id, "kind": r.kind, "sheet_id": r.sheet_id, "status": r.status, "entered_by": r.entered_by,
             "decided_by": r.decided_by, "position": r.position, "choices_digest": r.choices_digest,
             "reason": r.reason} for r in rows]


# ---- the board ------------------------------------------------------------------------------


async def open_ballot_ids(tx: Tx, assembly_id: uuid.UUID, now: datetime) -> set[uuid.UUID]:
    rows = (await tx.session.execute(sa.select(m.ballots.c.id, m.ballots.c.definition, m.ballots.c.closed_at)
                                     .where(m.ballots.c.assembly_id == assembly_id))).all()
    return {r.id for r in rows if r.closed_at is None and not Ballot.from_dict(r.definition).is_closed(now)}


async def board_head(tx: Tx, assembly_id: uuid.UUID, *, lock: bool = False):
    q = sa.select(m.boards).where(m.boards.c.assembly_id == assembly_id)
    row = (await tx.session.execute(q.with_for_update() if lock else q)).first()
    if row is None:
        raise not_found("bulletin board (no ballot opened yet)")
    return row


async def board_entry(tx: Tx, assembly_id: uuid.UUID, *, position: int | None = None,
                      token_hash: str | None = None, now: datetime) -> dict[str, Any]:
    q = sa.select(m.entries.c.entry, m.entries.c.ballot_id).where(m.entries.c.assembly_id == assembly_id)
    q = q.where(m.entries.c.position == position) if position is not None else q.where(m.entries.c.token_hash == token_hash)
    row = (await tx.session.execute(q)).first()
    if row is None:
        raise BoardError("no such entry on this board")
    return public_entry(row.entry, row.ballot_id in await open_ballot_ids(tx, assembly_id, now))


async def _checkpoints(tx: Tx, assembly_id: uuid.UUID) -> list[dict[str, Any]]:
    return [r[0] for r in (await tx.session.execute(sa.select(m.checkpoints.c.body).where(
        m.checkpoints.c.assembly_id == assembly_id).order_by(m.checkpoints.c.id))).all()]


async def board_summary(tx: Tx, assembly_id: uuid.UUID, *, secret: str, now: datetime) -> dict[str, Any]:
    head = await board_head(tx, assembly_id)
    rows = (await tx.session.execute(sa.select(m.ballots.c.id, m.ballots.c.title, m.ballots.c.definition,
                                               m.ballots.c.closed_at, m.ballots.c.voting_opened_at,
                                               m.ballots.c.kind).where(m.ballots.c.assembly_id == assembly_id)
                                     .order_by(m.ballots.c.created_at))).all()
    key = board_key(secret, assembly_id)
    return {"board_id": head.board_id,
            "board_key": {"alg": "Ed25519", "public_key": key.public_hex, "fingerprint": key.fingerprint},
            "head": {"position": head.head_position, "hash": head.head_hash},
            "checkpoints": await _checkpoints(tx, assembly_id),
            "ballots": [{"id": str(r.id), "title": r.title, "state": ballot_state(r, now), "kind": r.kind}
                        for r in rows]}


async def export_board(tx: Tx, assembly_id: uuid.UUID, *, secret: str, now: datetime) -> dict[str, Any]:
    """The whole board as one signed document, for `borgerting voting verify`. Refused while a
    ballot on it is open (its entries would show a running count)."""
    if await open_ballot_ids(tx, assembly_id, now):
        raise conflict("a ballot on this board is still open: the board is exported once every ballot on it "
                       "has closed (its head and signed checkpoints are public meanwhile)", code="ballot_open")
    head = await board_head(tx, assembly_id)
    entries = [r[0] for r in (await tx.session.execute(sa.select(m.entries.c.entry).where(
        m.entries.c.assembly_id == assembly_id).order_by(m.entries.c.position))).all()]
    cps = await _checkpoints(tx, assembly_id)
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


# ---- what the staff pages show ----------------------------------------------------------------


async def assembly_ballots(tx: Tx, assembly_id: uuid.UUID, *, now: datetime) -> list[dict[str, Any]]:
    """The assembly's ballots with their state and the votes on the board so far (a count, never
    what was voted: the board's head is public anyway)."""
    votes = dict((await tx.session.execute(sa.select(m.entries.c.ballot_id, sa.func.count()).where(
        m.entries.c.assembly_id == assembly_id).group_by(m.entries.c.ballot_id))).all())
    rows = (await tx.session.execute(sa.select(m.ballots).where(m.ballots.c.assembly_id == assembly_id)
                                     .order_by(m.ballots.c.created_at))).all()
    return [{"id": r.id, "title": r.title, "state": ballot_state(r, now), "created_at": r.created_at, "kind": r.kind,
             "members": r.definition.get("members"), "questions": len(r.definition.get("questions", [])),
             "votes": int(votes.get(r.id, 0))} for r in rows]


async def turnout(tx: Tx, ballot_id: uuid.UUID) -> dict[str, Any]:
    """A ballot's turnout while it runs: members eligible, tokens and sheets issued per kind, votes
    on the board (counted from the board, so a vote still in a process's batch shows up once that
    batch is appended)."""
    row = await load_ballot(tx, ballot_id)
    on_board = (await tx.session.execute(sa.select(m.entries.c.kind, sa.func.count()).where(
        m.entries.c.ballot_id == ballot_id).group_by(m.entries.c.kind))).all()
    by_kind = {k: int(n) for k, n in on_board}
    return {"members": row.definition.get("members", 0), "issued": await issued_counts(tx, ballot_id),
            "votes": sum(by_kind.values()), "votes_by_kind": {k: by_kind.get(k, 0) for k in KINDS}}


async def assembly_sessions(tx: Tx, assembly_id: uuid.UUID) -> list[dict[str, Any]]:
    """The sessions voting knows of an assembly (a ballot's check-in session is one of them)."""
    rows = (await tx.session.execute(sa.select(m.sessions).where(m.sessions.c.assembly_id == assembly_id)
                                     .order_by(m.sessions.c.starts_at.nulls_last(), m.sessions.c.title))).all()
    return [dict(r._mapping) for r in rows]


async def final_lists(tx: Tx, assembly_id: uuid.UUID) -> list[dict[str, Any]]:
    """The finalised lists voting has heard of (newest first), each with its final ballot if opened."""
    rows = (await tx.session.execute(
        sa.select(m.final_lists, m.ballots.c.id.label("ballot_id"))
        .outerjoin(m.ballots, m.ballots.c.list_id == m.final_lists.c.list_id)
        .where(m.final_lists.c.assembly_id == assembly_id).order_by(m.final_lists.c.finalised_at.desc()))).all()
    return [dict(r._mapping) for r in rows]
