"""Voting's event handlers (eligibility from the panel) and commands (open, cast, close)."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.voting import models as m
from services.voting.domain.simple_tally import result
from shared.bus.outbox import Tx
from shared.errors import ApiError, conflict, not_found
from shared.events import contracts as ev
from shared.projections import panel_membership_handlers

HANDLERS = panel_membership_handlers(m.eligible)


async def open_ballot(tx: Tx, assembly_id: uuid.UUID, *, title: str, threshold: float,
                      recommendations: list[str]) -> dict:
    n = (await tx.session.execute(
        sa.select(sa.func.count()).where(m.eligible.c.assembly_id == assembly_id, m.eligible.c.active.is_(True))
    )).scalar_one()
    if n == 0:
        raise conflict("nobody is eligible to vote yet: the panel for this assembly has not been drawn")
    ballot_id = uuid.uuid4()
    await tx.session.execute(sa.insert(m.ballots).values(id=ballot_id, assembly_id=assembly_id, title=title,
                                                         threshold=threshold, eligible=n))
    qs = [{"id": uuid.uuid4(), "ballot_id": ballot_id, "position": i, "recommendation": r}
          for i, r in enumerate(recommendations)]
    await tx.session.execute(sa.insert(m.questions), qs)
    await tx.emit(ev.BallotOpenedV1(assembly_id=assembly_id, ballot_id=ballot_id, title=title, threshold=threshold,
                                    eligible=n, questions=[ev.QuestionV1(question_id=q["id"], recommendation=q["recommendation"]) for q in qs]),
                  subject=assembly_id)
    return {"id": ballot_id, "eligible": n, "questions": [{"question_id": q["id"], "recommendation": q["recommendation"]} for q in qs]}


async def load_ballot(tx: Tx, ballot_id: uuid.UUID, *, lock: bool = False):
    q = sa.select(m.ballots).where(m.ballots.c.id == ballot_id)
    row = (await tx.session.execute(q.with_for_update() if lock else q)).first()
    if row is None:
        raise not_found("ballot")
    return row


async def load_questions(tx: Tx, ballot_id: uuid.UUID) -> list:
    return (await tx.session.execute(
        sa.select(m.questions).where(m.questions.c.ballot_id == ballot_id).order_by(m.questions.c.position))).all()


async def cast(tx: Tx, ballot_id: uuid.UUID, *, member_id: uuid.UUID, question_id: uuid.UUID, choice: str) -> uuid.UUID:
    b = await load_ballot(tx, ballot_id, lock=False)
    if b.closed_at is not None:
        raise conflict("this ballot is closed", code="ballot_closed")
    q = (await tx.session.execute(
        sa.select(m.questions.c.id).where(m.questions.c.id == question_id, m.questions.c.ballot_id == ballot_id))).first()
    if q is None:
        raise not_found("question on this ballot")
    ok = (await tx.session.execute(
        sa.select(m.eligible.c.member_id).where(m.eligible.c.assembly_id == b.assembly_id,
                                                m.eligible.c.member_id == member_id, m.eligible.c.active.is_(True)))).first()
    if ok is None:
        raise ApiError(403, "only members of this assembly's panel can vote on its ballots")
    first = (await tx.session.execute(
        pg_insert(m.participation).values(question_id=question_id, member_id=member_id).on_conflict_do_nothing()
        .returning(m.participation.c.member_id))).first()
    if first is None:
        raise conflict("you have already voted on this recommendation", code="already_voted")
    vote_id = uuid.uuid4()
    await tx.session.execute(sa.insert(m.votes).values(id=vote_id, ballot_id=ballot_id, question_id=question_id,
                                                       choice=choice))
    await tx.emit(ev.VoteCastV1(assembly_id=b.assembly_id, ballot_id=ballot_id, question_id=question_id,
                                vote_id=vote_id, choice=choice), subject=b.assembly_id)
    return vote_id


async def close(tx: Tx, ballot_id: uuid.UUID) -> dict:
    b = await load_ballot(tx, ballot_id, lock=True)
    if b.closed_at is not None:
        raise conflict("this ballot is already closed", code="ballot_closed")
    qs = await load_questions(tx, ballot_id)
    counts: dict = {}
    for qid, choice, n in (await tx.session.execute(
        sa.select(m.votes.c.question_id, m.votes.c.choice, sa.func.count()).where(m.votes.c.ballot_id == ballot_id)
        .group_by(m.votes.c.question_id, m.votes.c.choice))).all():
        counts.setdefault(qid, {})[choice] = n
    results = [{"question_id": q.id, "recommendation": q.recommendation, **result(counts.get(q.id, {}), b.threshold)}
               for q in qs]
    total = sum(sum(c.values()) for c in counts.values())
    await tx.session.execute(sa.update(m.ballots).where(m.ballots.c.id == ballot_id).values(
        closed_at=datetime.now(timezone.utc), results=[{**r, "question_id": str(r["question_id"])} for r in results]))
    await tx.emit(ev.BallotClosedV1(assembly_id=b.assembly_id, ballot_id=ballot_id, votes=total), subject=b.assembly_id)
    await tx.emit(ev.ResultsTalliedV1(assembly_id=b.assembly_id, ballot_id=ballot_id, threshold=b.threshold,
                                      results=[ev.QuestionResultV1(**r) for r in results]), subject=b.assembly_id)
    return {"ballot_id": ballot_id, "threshold": b.threshold, "votes": total, "results": results}
