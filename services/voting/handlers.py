"""Voting's writes, one transaction each (`tx.emit`, `tx.audit`): the events it consumes
(electorate from sortition, check-ins from sessions), opening a ballot, issuing a blind-signed
token or a paper/postal sheet, officials' paper and postal entries, closing and tallying, signing
a checkpoint. The rules are the domain's (services/voting/domain); reads are in views.py, and
every append to the bulletin board (the vote path) is in ingest.py.

Secrecy by construction (docs/voting.md, "Ballot secrecy against the database"):
- `issued` records only which member received a token (or a ballot sheet) for which ballot; the
  blinded message and the signature are never stored, so the token cannot be linked back.
- Tokens and sheets are issued only until an organiser opens voting (`open_voting`), and votes are
  taken only after it: every `issued` row is committed before the first vote is written, so row
  transaction ids and places on disk cannot interleave issuing and voting. Opening rewrites the
  ballot's `issued` rows in a random order, in one transaction, so they keep no issuing order either.
- `entries` (the board) holds token hashes and choices, never a member id, and no timestamps.
- Token issuance is not written to the audit trail per member: an audit entry has a time, and
  the time of issue next to the time a vote's event was published could link the two.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import OrderedDict
from random import SystemRandom
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.voting import models as m
from services.voting.domain import officials as off
from services.voting.domain.ballots import Ballot
from services.voting.domain.blind_rsa import SecretKey
from services.voting.domain.board import Receipt, board_id_for, genesis_hash
from services.voting.domain.errors import (BallotClosedError, DuplicateSheetError, IssuanceClosedError,
                                           NotCheckedInError, NotEligibleError, OfficialEntryError,
                                           TokenAlreadyIssuedError, VotingError)
from services.voting.domain.keys import ballot_key_password, board_key
from services.voting.domain.tally import question_results, tally
from services.voting.domain.tokens import TokenIssuer
from services.voting.ingest import Item, append_entries, write_checkpoint
from services.voting.views import (KINDS, BallotInfo, ballot_info, board_head, closed_at, eligibility,
                                   ensure_voting_open, issued_counts, load_ballot, load_official, remember,
                                   remember_ballot)
from shared.bus.outbox import Tx
from shared.events import contracts as ev
from shared.events.envelope import Envelope
from shared.problems import InvalidInput, conflict
from shared.projections import audit_head_handlers, panel_membership_handlers

_SECRET_KEYS: OrderedDict[uuid.UUID, SecretKey] = OrderedDict()


# ---- events in ----------------------------------------------------------------------------


async def on_attendance_recorded(tx: Tx, event: Envelope, payload: ev.AttendanceRecordedV1) -> None:
    """Present at a session = checked in there (the latest record of a session wins)."""
    p = payload
    await tx.session.execute(
        pg_insert(m.checkins).values(session_id=p.session_id, member_id=p.member_id, assembly_id=p.assembly_id,
                                     present=p.present)
        .on_conflict_do_update(index_elements=["session_id", "member_id"], set_={"present": p.present}))


async def on_session_scheduled(tx: Tx, e: Envelope, p: ev.SessionScheduledV1) -> None:
    """A session, or a session moved to another time (sessions says it again): the latest wins."""
    await tx.session.execute(pg_insert(m.sessions).values(session_id=p.session_id, assembly_id=p.assembly_id,
                                                          title=p.title, starts_at=p.starts_at)
                             .on_conflict_do_update(index_elements=["session_id"],
                                                    set_={"title": p.title, "starts_at": p.starts_at}))


async def on_recommendations_finalised(tx: Tx, e: Envelope, p: ev.RecommendationsFinalisedV1) -> None:
    """The secretariat's final list: what the final ballot puts to the vote, one question each."""
    await tx.session.execute(pg_insert(m.final_lists).values(
        list_id=p.list_id, assembly_id=p.assembly_id, finalised_at=p.finalised_at, list_sha256=p.list_sha256,
        recommendations=[{"recommendation_id": str(r.recommendation_id), "position": r.position, "title": r.title,
                          "text_sha256": r.text_sha256} for r in p.recommendations]).on_conflict_do_nothing())


HANDLERS = {**panel_membership_handlers(m.eligible), "sessions.attendance-recorded.v1": on_attendance_recorded,
            "sessions.session-scheduled.v1": on_session_scheduled,
            "sessions.recommendations-finalised.v1": on_recommendations_finalised,
            **audit_head_handlers(m.audit_heads)}


async def check_session(tx: Tx, assembly_id: uuid.UUID, session_id: uuid.UUID) -> None:
    """A ballot's check-in session must be one of the assembly's (scheduled, or with check-ins:
    the two events travel on different topics)."""
    scheduled = sa.select(m.sessions.c.session_id).where(m.sessions.c.session_id == session_id,
                                                         m.sessions.c.assembly_id == assembly_id)
    checked = sa.select(m.checkins.c.session_id).where(m.checkins.c.session_id == session_id,
                                                       m.checkins.c.assembly_id == assembly_id)
    if (await tx.session.execute(scheduled.union_all(checked).limit(1))).first() is None:
        raise InvalidInput(f"session {session_id} is not a session of this assembly (if it was scheduled just now, "
                           "try again in a moment: voting learns of sessions from their events)",
                           code="unknown_session", details=[{"field": "session_id", "problem": "unknown session"}])


# ---- ballots ------------------------------------------------------------------------------


def new_ballot_key() -> SecretKey:
    """A fresh RSA-2048 key for one ballot (CPU-bound: call it in a thread)."""
    return SecretKey.generate(2048)


async def open_final_ballot(tx: Tx, assembly_id: uuid.UUID, rules: dict[str, Any], *, list_id: uuid.UUID | None,
                            session_id: uuid.UUID | None, secret: str, key: SecretKey) -> uuid.UUID:
    """The final ballot, from the secretariat's finalised list (the newest unless `list_id` says
    which): one yes/no/abstain question per recommendation, in the list's order (question r1, r2,
    ...), each bound to its recommendation and text hash in ballot-opened. One per list. `rules` is
    a Ballot dict without questions (title, threshold, quorum, times)."""
    query = sa.select(m.final_lists).where(m.final_lists.c.assembly_id == assembly_id)
    if list_id is not None:
        query = query.where(m.final_lists.c.list_id == list_id)
    final = (await tx.session.execute(query.order_by(m.final_lists.c.finalised_at.desc()).limit(1)
                                      .with_for_update())).first()
    if final is None:
        raise conflict("no finalised list of recommendations for this assembly yet: the secretariat freezes it in "
                       "sessions first (if it did just now, try again in a moment: voting learns of it from its event)",
                       code="no_final_list")
    taken = (await tx.session.execute(sa.select(m.ballots.c.id).where(m.ballots.c.list_id == final.list_id))).first()
    if taken is not None:
        raise conflict(f"the final ballot for this list was opened already (ballot {taken.id})",
                       code="final_ballot_exists")
    recs = sorted(final.recommendations, key=lambda r: r["position"])
    definition = {**rules, "questions": [{"id": f"r{r['position']}", "text": r["title"], "type": "yes_no_abstain"}
                                         for r in recs]}
    return await open_ballot(tx, assembly_id, definition, session_id=session_id, secret=secret, key=key,
                             kind="final", list_id=final.list_id,
                             recommendations=[ev.BallotRecommendationV1(
                                 question_id=f"r{r['position']}", recommendation_id=r["recommendation_id"],
                                 text_sha256=r["text_sha256"]) for r in recs])


async def open_ballot(tx: Tx, assembly_id: uuid.UUID, definition: dict[str, Any], *, session_id: uuid.UUID | None,
                      secret: str, key: SecretKey, kind: str = "trial", list_id: uuid.UUID | None = None,
                      recommendations: list[ev.BallotRecommendationV1] = ()) -> uuid.UUID:
    """`definition` is a Ballot dict without id and members; both are filled in here. A ballot is a
    trial unless it is the final ballot (open_final_ballot)."""
    members = (await tx.session.execute(
        sa.select(sa.func.count()).where(m.eligible.c.assembly_id == assembly_id, m.eligible.c.active.is_(True))
    )).scalar_one()
    if members == 0:
        raise conflict("nobody is eligible to vote yet: the panel for this assembly has not been drawn")
    if session_id is not None:
        await check_session(tx, assembly_id, session_id)
    ballot_id = uuid.uuid4()
    ballot = Ballot.from_dict({**definition, "id": str(ballot_id), "members": members, "closed_at": None})
    pk = key.public_key
    await tx.session.execute(sa.insert(m.ballots).values(
        id=ballot_id, assembly_id=assembly_id, title=ballot.title, definition=ballot.to_dict(), session_id=session_id,
        token_key_pem=pk.to_pem(), token_key_id=pk.key_id, kind=kind, list_id=list_id,
        secret_key_pem=key.to_pem(ballot_key_password(secret, ballot_id))))
    await tx.session.execute(pg_insert(m.boards).values(
        assembly_id=assembly_id, board_id=board_id_for(assembly_id), head_position=0,
        head_hash=genesis_hash(board_id_for(assembly_id))).on_conflict_do_nothing())
    d = ballot.to_dict()
    board_id, fingerprint = board_id_for(assembly_id), board_key(secret, assembly_id).fingerprint
    await tx.emit(ev.BallotOpenedV4(
        assembly_id=assembly_id, ballot_id=ballot_id, title=ballot.title, members=members,
        threshold=ev.ThresholdV2(**d["threshold"]), quorum_min_ballots=ballot.quorum.min_ballots,
        quorum_min_fraction=d["quorum"]["min_fraction"], opens_at=ballot.opens_at, closes_at=ballot.closes_at,
        questions=[ev.BallotQuestionV2(question_id=q.id, text=q.text, type=q.type.value,
                                       recommendation=q.is_recommendation,
                                       options=list(q.options), points=list(q.points),
                                       support_points=sorted(q.support_points)) for q in ballot.questions],
        board_id=board_id, board_key_fingerprint=fingerprint, token_key_id=pk.key_id, kind=kind, list_id=list_id,
        recommendations=list(recommendations)),
        subject=assembly_id)
    await tx.audit("ballot.opened", assembly_id, object_id=ballot_id,
                   details={"title": ballot.title, "kind": kind, "list_id": str(list_id) if list_id else None,
                            "questions": len(ballot.questions), "members": members,
                            "threshold": ballot.threshold.describe(), "token_key_id": pk.key_id,
                            "board_id": board_id, "board_key_fingerprint": fingerprint,
                            "session_id": str(session_id) if session_id else None})
    remember_ballot(BallotInfo(ballot_id, assembly_id, ballot, pk, session_id))
    return ballot_id


# ---- tokens and ballot sheets -------------------------------------------------------------


async def _secret_key(tx: Tx, ballot_id: uuid.UUID, secret: str) -> SecretKey:
    sk = _SECRET_KEYS.get(ballot_id)
    if sk is None:
        pem = (await tx.session.execute(sa.select(m.ballots.c.secret_key_pem).where(m.ballots.c.id == ballot_id))).scalar_one()
        sk = await asyncio.to_thread(SecretKey.from_pem, pem, ballot_key_password(secret, ballot_id))
        remember(_SECRET_KEYS, ballot_id, sk, limit=64)
    return sk


async def ensure_issuing(tx: Tx, info: BallotInfo, *, now: datetime) -> None:
    """Tokens and sheets are issued only while voting has not been opened. Holds the ballot's row
    in share mode to the end of the transaction, so `open_voting` (which takes it exclusively)
    waits for every issuing in flight and none starts after it."""
    row = (await tx.session.execute(sa.select(m.ballots.c.closed_at, m.ballots.c.voting_opened_at).where(
        m.ballots.c.id == info.id).with_for_update(read=True))).one()
    if row.closed_at is not None or info.ballot.is_closed(now):
        raise BallotClosedError(f"ballot {info.id} is closed; no more tokens or sheets are issued")
    if row.voting_opened_at is not None:
        raise IssuanceClosedError(f"voting on ballot {info.id} has been opened, which ended the issuing of tokens and "
                                  "ballot sheets: a member without one can no longer vote on this ballot")


async def issue_token(tx: Tx, ballot_id: uuid.UUID, member_id: uuid.UUID, blinded_msg: bytes, *, secret: str,
                      now: datetime) -> bytes:
    """Blind-sign one token for a checked-in member of the panel; at most one per member and ballot."""
    info = await ballot_info(tx, ballot_id)
    await ensure_issuing(tx, info, now=now)
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
    await ensure_issuing(tx, info, now=now)
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


async def open_voting(tx: Tx, ballot_id: uuid.UUID, *, now: datetime) -> dict[str, int]:
    """End the issuing of tokens and sheets and start taking votes. Waits for every issuing in
    flight (the ballot's row lock), then rewrites the ballot's `issued` rows in a random order in
    this one transaction: afterwards their transaction id is this one's, for all of them, and
    their order on disk is random. Returns the counts issued per kind."""
    info = await ballot_info(tx, ballot_id)
    row = await load_ballot(tx, ballot_id, lock=True)
    if row.closed_at is not None or info.ballot.is_closed(now):
        raise BallotClosedError(f"ballot {ballot_id} is closed")
    if row.voting_opened_at is not None:
        raise conflict(f"voting on ballot {ballot_id} is open already", code="voting_already_open")
    issued = [{"ballot_id": ballot_id, "member_id": r.member_id, "kind": r.kind}
              for r in (await tx.session.execute(sa.delete(m.issued).where(m.issued.c.ballot_id == ballot_id)
                                                 .returning(m.issued.c.member_id, m.issued.c.kind))).all()]
    SystemRandom().shuffle(issued)
    if issued:
        await tx.session.execute(sa.insert(m.issued), issued)
    await tx.session.execute(sa.update(m.ballots).where(m.ballots.c.id == ballot_id).values(voting_opened_at=now))
    counts = {k: sum(1 for i in issued if i["kind"] == k) for k in KINDS}
    await tx.audit("ballot.voting_opened", info.assembly_id, object_id=ballot_id, details={"issued": counts})
    return counts


# ---- officials' paper and postal entries --------------------------------------------------


def _pending(row) -> off.PendingEntry:
    return off.PendingEntry(str(row.id), str(row.ballot_id), row.kind, row.sheet_id, row.choices, row.entered_by,
                            row.entered_at, off.EntryStatus(row.status), row.decided_by, row.decided_at, row.reason)


async def enter_official(tx: Tx, ballot_id: uuid.UUID, *, kind: str, sheet_id: str, choices: Any, official: str,
                         now: datetime) -> uuid.UUID:
    info = await ballot_info(tx, ballot_id)
    if await closed_at(tx, ballot_id) is not None:
        raise BallotClosedError(f"ballot {ballot_id} is closed")
    await ensure_voting_open(tx, ballot_id)  # not while sheets are handed out: their order would link
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
    head = await board_head(tx, info.assembly_id, lock=True)  # no vote batch is mid-way while we close
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
    await write_checkpoint(tx, info.assembly_id, head.head_position, head.head_hash, secret=secret, at=now)
    await tx.emit(ev.BallotClosedV2(assembly_id=info.assembly_id, ballot_id=ballot_id, closed_at=at,
                                    ballots_cast=result.ballots_cast, issued=issued,
                                    board_position=head.head_position, board_hash=head.head_hash),
                  subject=info.assembly_id)
    await tx.emit(ev.ResultsTalliedV3(assembly_id=info.assembly_id, ballot_id=ballot_id, kind=row.kind,
                                      ballots_cast=result.ballots_cast, members=result.members,
                                      quorum_met=result.quorum_met,
                                      questions=[ev.QuestionResultV2(**q) for q in question_results(closed, result)]),
                  subject=info.assembly_id)
    await tx.audit("ballot.closed", info.assembly_id, object_id=ballot_id, details={
        "ballots_cast": result.ballots_cast, "issued": issued, "quorum_met": result.quorum_met,
        "board_position": head.head_position, "board_hash": head.head_hash})
    return result.to_dict()


async def close_if_due(tx: Tx, ballot_id: uuid.UUID, *, secret: str, now: datetime) -> None:
    """A ballot past its closing time is closed and tallied by the first request that needs it."""
    info = await ballot_info(tx, ballot_id)
    if info.ballot.closes_at and now >= info.ballot.closes_at and await closed_at(tx, ballot_id) is None:
        try:
            await close_ballot(tx, ballot_id, secret=secret, now=now)
        except BallotClosedError:
            pass


# ---- the board ----------------------------------------------------------------------------


async def checkpoint_now(tx: Tx, assembly_id: uuid.UUID, *, secret: str, now: datetime) -> dict[str, Any]:
    head = await board_head(tx, assembly_id, lock=True)
    cp = await write_checkpoint(tx, assembly_id, head.head_position, head.head_hash, secret=secret, at=now)
    await tx.audit("board.checkpoint", assembly_id, object_id=head.board_id,
                   details={"position": head.head_position, "head_hash": head.head_hash})
    return cp

