"""Reads of the evaluation: the surveys' states and (once closed) their figures, and the evaluation
pack, for the pages and the API."""

from __future__ import annotations

import uuid
from datetime import date

import sqlalchemy as sa

from services.reporting import models as m
from services.reporting import views
from services.reporting.domain.evaluation import STAGES, pack, response_due, survey_figures
from services.reporting.views import followup as fv
from shared.bus.outbox import Tx
from shared.db import load_or_404

_S, _R, _A = m.surveys, m.survey_respondents, m.survey_answers


async def surveys(tx: Tx, assembly_id: uuid.UUID) -> list[dict]:
    """Each stage: its state (not_started | open | closed), when it opened and closed, and how
    many have answered (a count; never who)."""
    rows = {r.stage: r for r in (await tx.session.execute(sa.select(_S).where(_S.c.assembly_id == assembly_id))).all()}
    counts = dict((await tx.session.execute(sa.select(_R.c.stage, sa.func.count()).where(
        _R.c.assembly_id == assembly_id).group_by(_R.c.stage))).all())
    return [{"stage": s, "state": rows[s].state if s in rows else "not_started",
             "opened_at": rows[s].opened_at if s in rows else None,
             "closed_at": rows[s].closed_at if s in rows else None,
             "respondents": counts.get(s, 0)} for s in STAGES]


async def member_surveys(tx: Tx, assembly_id: uuid.UUID, member_id: uuid.UUID) -> list[dict]:
    """The open surveys, each with whether this member has answered it."""
    answered = {s for (s,) in (await tx.session.execute(sa.select(_R.c.stage).where(
        _R.c.assembly_id == assembly_id, _R.c.member_id == member_id))).all()}
    return [{"stage": s["stage"], "answered": s["stage"] in answered}
            for s in await surveys(tx, assembly_id) if s["state"] == "open"]


async def closed_figures(tx: Tx, assembly_id: uuid.UUID, k: int) -> dict[str, dict]:
    """stage -> survey_figures, of the closed surveys only: while a survey is open nobody sees its
    answers (watching them arrive one by one would tell whose they are)."""
    closed = [s["stage"] for s in await surveys(tx, assembly_id) if s["state"] == "closed"]
    out = {}
    for stage in closed:
        answers = [a for (a,) in (await tx.session.execute(sa.select(_A.c.answers).where(
            _A.c.assembly_id == assembly_id, _A.c.stage == stage))).all()]
        out[stage] = survey_figures(stage, answers, k)
    return out


async def evaluation_pack(tx: Tx, assembly_id: uuid.UUID, *, k: int, response_days: int, today: date,
                          summary: dict | None = None) -> dict:
    """The evaluation pack (domain/evaluation.pack) of the assembly; `summary`: views.summary's, if
    the caller has it already."""
    summary = summary if summary is not None else await views.summary(tx, assembly_id)
    followup = await fv.followup(tx, assembly_id, today)
    first_published = (await tx.session.execute(sa.select(sa.func.min(m.report_versions.c.published_at)).where(
        m.report_versions.c.assembly_id == assembly_id))).scalar()
    held = [s for s in summary["sessions"] if s["held"] and s["starts_at"]]
    last_session = date.fromisoformat(held[-1]["starts_at"][:10]) if held else None
    due = response_due(last_session, first_published.date() if first_published else None, response_days)
    return pack(summary, await closed_figures(tx, assembly_id, k), followup, due, k)


async def require_assembly(tx: Tx, assembly_id: uuid.UUID) -> None:
    await load_or_404(tx, m.assemblies, "assembly (no events seen for it yet)", id=assembly_id)


async def report_summary(tx: Tx, assembly_id: uuid.UUID, *, k: int, response_days: int, today: date) -> dict:
    """The summary as the handover report prints it: views.summary with the evaluation pack beside
    it (`evaluation`; its survey figures from the closed surveys only, small groups suppressed)."""
    summary = await views.summary(tx, assembly_id)
    pack = await evaluation_pack(tx, assembly_id, k=k, response_days=response_days, today=today, summary=summary)
    return {**summary, "evaluation": pack}
