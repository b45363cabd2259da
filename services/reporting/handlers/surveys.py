"""Writes of the members' evaluation surveys: the secretariat opens and closes each stage's survey
(audited), a member answers once (anonymously: who answered and what was answered are written to
two tables that nothing links; docs/evaluation.md), and closing re-writes the answers in random
order under new random keys."""

from __future__ import annotations

import random
import uuid

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.reporting import models as m
from services.reporting.domain.evaluation import clean_answers
from shared.bus.outbox import Tx
from shared.db import load_or_404
from shared.problems import Forbidden, conflict, invalid

_S, _R, _A = m.surveys, m.survey_respondents, m.survey_answers
_SHUFFLE = random.SystemRandom()


async def open_survey(tx: Tx, assembly_id: uuid.UUID, stage: str) -> dict:
    """Opens the stage's survey to the panel's members (again, after it was closed)."""
    await load_or_404(tx, m.assemblies, "assembly (no events seen for it yet)", id=assembly_id)
    row = (await tx.session.execute(sa.select(_S.c.state).where(
        _S.c.assembly_id == assembly_id, _S.c.stage == stage).with_for_update())).first()
    if row is not None and row.state == "open":
        raise conflict(f"the {stage} survey is open already", code="survey_open")
    if row is None:
        await tx.session.execute(sa.insert(_S).values(assembly_id=assembly_id, stage=stage, state="open",
                                                      opened_at=sa.func.now()))
    else:
        await tx.session.execute(sa.update(_S).where(_S.c.assembly_id == assembly_id, _S.c.stage == stage)
                                 .values(state="open", opened_at=sa.func.now(), closed_at=None))
    await tx.audit("survey.opened", assembly_id, details={"stage": stage})
    return {"stage": stage, "state": "open"}


async def close_survey(tx: Tx, assembly_id: uuid.UUID, stage: str) -> dict:
    """Closes the stage's survey: no more answers; its figures appear in the evaluation pack. The
    answers are re-written in random order with new random keys, in this one transaction."""
    row = (await tx.session.execute(sa.select(_S.c.state).where(
        _S.c.assembly_id == assembly_id, _S.c.stage == stage).with_for_update())).first()
    if row is None or row.state != "open":
        raise conflict(f"the {stage} survey is not open", code="survey_not_open")
    await tx.session.execute(sa.update(_S).where(_S.c.assembly_id == assembly_id, _S.c.stage == stage)
                             .values(state="closed", closed_at=sa.func.now()))
    where = (_A.c.assembly_id == assembly_id, _A.c.stage == stage)
    answers = [a for (a,) in (await tx.session.execute(sa.select(_A.c.answers).where(*where))).all()]
    _SHUFFLE.shuffle(answers)
    await tx.session.execute(sa.delete(_A).where(*where))
    if answers:
        await tx.session.execute(sa.insert(_A), [{"answer_id": uuid.uuid4(), "assembly_id": assembly_id,
                                                  "stage": stage, "answers": a} for a in answers])
    respondents = (await tx.session.execute(sa.select(sa.func.count()).select_from(_R).where(
        _R.c.assembly_id == assembly_id, _R.c.stage == stage))).scalar_one()
    await tx.audit("survey.closed", assembly_id, details={"stage": stage, "respondents": respondents})
    return {"stage": stage, "state": "closed", "respondents": respondents}


async def answer(tx: Tx, assembly_id: uuid.UUID, stage: str, member_id: uuid.UUID, raw: dict) -> None:
    """A panel member's answers to an open survey, once. Nothing of the member goes with the
    answers, and nothing is audited or announced (an audit entry would name who answered when)."""
    answers, bad = clean_answers(stage, raw)
    if bad:
        raise invalid("the answers cannot be kept: " + "; ".join(f"{b['field']}: {b['problem']}" for b in bad),
                      details=bad)
    state = (await tx.session.execute(sa.select(_S.c.state).where(
        _S.c.assembly_id == assembly_id, _S.c.stage == stage))).scalar()
    if state != "open":
        raise conflict(f"the {stage} survey is not open", code="survey_not_open")
    role = (await tx.session.execute(sa.select(m.panel_members.c.role).where(
        m.panel_members.c.assembly_id == assembly_id, m.panel_members.c.member_id == member_id))).scalar()
    if role != "member":
        raise Forbidden("only the panel's members answer its surveys", code="not_a_member")
    first = (await tx.session.execute(pg_insert(_R).values(assembly_id=assembly_id, stage=stage, member_id=member_id)
                                      .on_conflict_do_nothing())).rowcount
    if not first:
        raise conflict(f"you have answered the {stage} survey already", code="survey_answered")
    await tx.session.execute(sa.insert(_A).values(answer_id=uuid.uuid4(), assembly_id=assembly_id, stage=stage,
                                                  answers=answers))
