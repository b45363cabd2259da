"""Reporting's reads: one assembly's summary, queried from the read model that the event handlers
(handlers/) fill and computed by domain/summary.py when asked; the assemblies by name and a
member's portal. The published report, the follow-up, the evaluation and the live figures are read
in the modules beside this one."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from services.reporting import models as m
from services.reporting.domain.summary import summarise
from shared.audit import heads as audit_heads
from shared.bus.outbox import Tx
from shared.db import load_or_404


async def summary(tx: Tx, assembly_id: uuid.UUID) -> dict:
    s = tx.session
    a = await load_or_404(tx, m.assemblies, "assembly (no events seen for it yet)", id=assembly_id)
    batches = (await s.execute(sa.select(m.invitation_batches).where(m.invitation_batches.c.assembly_id == assembly_id))).all()
    resp = (await s.execute(sa.select(m.respondents).where(m.respondents.c.assembly_id == assembly_id,
                                                          m.respondents.c.withdrawn.is_(False)))).all()
    members = {r.member_id for r in (await s.execute(sa.select(m.panel_members).where(
        m.panel_members.c.assembly_id == assembly_id, m.panel_members.c.role == "member"))).all()}
    panel = (await s.execute(sa.select(m.panels).where(m.panels.c.assembly_id == assembly_id))).first()
    sess = [dict(r._mapping) for r in (await s.execute(sa.select(m.sessions).where(
        m.sessions.c.assembly_id == assembly_id).order_by(m.sessions.c.starts_at, m.sessions.c.session_id))).all()]
    # Only final ballots are the assembly's result; trial ballots and straw polls are counted apart.
    final = m.ballots.c.kind == "final"
    qs = (await s.execute(sa.select(m.questions, m.ballots.c.title.label("ballot"), m.ballots.c.list_id,
                                    m.ballots.c.members, m.ballots.c.ballots_cast)
                          .join(m.ballots, m.ballots.c.ballot_id == m.questions.c.ballot_id)
                          .where(m.questions.c.assembly_id == assembly_id, final)
                          .order_by(m.ballots.c.title, m.questions.c.ballot_id, m.questions.c.position,
                                    m.questions.c.question_id))).all()
    votes = dict((await s.execute(sa.select(final, sa.func.count()).select_from(m.votes)
                                  .outerjoin(m.ballots, m.ballots.c.ballot_id == m.votes.c.ballot_id)
                                  .where(m.votes.c.assembly_id == assembly_id).group_by(final))).all())
    trial_ballots = (await s.execute(sa.select(sa.func.count()).where(
        m.ballots.c.assembly_id == assembly_id, m.ballots.c.kind.is_distinct_from("final")))).scalar_one()
    final_list = await _final_list(tx, assembly_id)
    board = (await s.execute(sa.select(m.boards).where(m.boards.c.assembly_id == assembly_id))).first()
    freeze = (await s.execute(sa.select(m.pool_freezes).where(m.pool_freezes.c.assembly_id == assembly_id))).first()
    replacements = (await s.execute(sa.select(m.replacements).where(m.replacements.c.assembly_id == assembly_id)
                                    .order_by(m.replacements.c.at, m.replacements.c.event_id))).all()
    withdrawals = (await s.execute(sa.select(sa.func.count()).where(
        m.respondents.c.assembly_id == assembly_id, m.respondents.c.withdrawn.is_(True)))).scalar_one()
    answers = (await s.execute(sa.select(m.responses).where(m.responses.c.assembly_id == assembly_id))).all()
    return {**summarise(a, batches=batches, respondents=resp, members=members, panel=panel, sessions=sess,
                        questions=qs, votes_cast=votes.get(True, 0), final_list=final_list,
                        trial_ballots=trial_ballots, trial_votes_cast=sum(n for k, n in votes.items() if k is not True),
                        freeze=freeze, replacements=replacements, withdrawals=withdrawals, responses=answers),
            # Published outside the services they check: `borgerting audit verify --anchors` and
            # `borgerting voting verify --report` read them from here.
            "anchors": {
                "audit_heads": await audit_heads(s, m.audit_heads, assembly_id, own=m.audit),
                "board": None if board is None else {"board_id": board.board_id,
                                                     "board_key_fingerprint": board.board_key_fingerprint},
            }}


async def _final_list(tx: Tx, assembly_id: uuid.UUID) -> list:
    """The newest finalised list's recommendations, in list order."""
    fr = m.final_recommendations
    newest = (sa.select(fr.c.list_id).where(fr.c.assembly_id == assembly_id)
              .order_by(fr.c.finalised_at.desc()).limit(1).scalar_subquery())
    return list((await tx.session.execute(sa.select(fr).where(fr.c.list_id == newest).order_by(fr.c.position))).all())


async def assemblies(tx: Tx, ids: set[uuid.UUID] | None) -> list[dict]:
    """The assemblies reporting has heard of (all, or those in `ids`), by name."""
    query = sa.select(m.assemblies.c.id, m.assemblies.c.name, m.assemblies.c.panel_size).order_by(m.assemblies.c.name)
    if ids is not None:
        query = query.where(m.assemblies.c.id.in_(ids))
    return [dict(r._mapping) for r in (await tx.session.execute(query)).all()]


async def member_portal(tx: Tx, assembly_id: uuid.UUID, member_id: uuid.UUID) -> dict:
    """What a panel member's home shows: the assembly, its sessions, the open ballots, and whether
    they are on the panel (from sortition's events)."""
    s = tx.session
    a = await load_or_404(tx, m.assemblies, "assembly (no events seen for it yet)", id=assembly_id)
    role = (await s.execute(sa.select(m.panel_members.c.role).where(
        m.panel_members.c.assembly_id == assembly_id, m.panel_members.c.member_id == member_id))).scalar()
    shown = [c for c in m.sessions.c if c.name not in ("scheduled_at", "scheduled_by")]  # bookkeeping
    sessions = [dict(r._mapping) for r in (await s.execute(sa.select(*shown).where(
        m.sessions.c.assembly_id == assembly_id).order_by(m.sessions.c.starts_at, m.sessions.c.session_id))).all()]
    ballots = [dict(r._mapping) for r in (await s.execute(
        sa.select(m.ballots.c.ballot_id, m.ballots.c.title, m.ballots.c.closed, m.ballots.c.kind)
        .where(m.ballots.c.assembly_id == assembly_id).order_by(m.ballots.c.title, m.ballots.c.ballot_id))).all()]
    answers = (await s.execute(sa.select(sa.func.count(sa.distinct(sa.tuple_(m.responses.c.ballot_id,
                                                                              m.responses.c.question_id))),
                                         sa.func.max(m.responses.c.answered_on))
                               .where(m.responses.c.assembly_id == assembly_id))).one()
    return {"assembly": {"id": a.id, "name": a.name, "panel_size": a.panel_size}, "role": role,
            "sessions": sessions, "ballots": ballots,
            "followup": {"answered": answers[0], "last_answer": answers[1]}}
