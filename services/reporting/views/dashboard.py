"""Reads of the secretariat's live figures (registrations per stratum, check-ins, turnout without
results), for the dashboard page, the API and the business metrics."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from services.reporting import models as m
from services.reporting import views
from shared.bus.outbox import Tx


async def live(tx: Tx, assembly_id: uuid.UUID) -> dict:
    """The secretariat's live figures: registrations per stratum value against the quotas, replies
    per region, members checked in per session, and per ballot how many have voted of those
    eligible (never what: nothing here reads a vote's choices)."""
    s = tx.session
    summary = await views.summary(tx, assembly_id)
    checked = dict((await s.execute(sa.select(m.checkins.c.session_id, sa.func.count()).where(
        m.checkins.c.assembly_id == assembly_id, m.checkins.c.present.is_(True))
        .group_by(m.checkins.c.session_id))).all())
    sessions = [dict(r._mapping) for r in (await s.execute(sa.select(
        m.sessions.c.session_id, m.sessions.c.title, m.sessions.c.starts_at, m.sessions.c.held)
        .where(m.sessions.c.assembly_id == assembly_id).order_by(m.sessions.c.starts_at, m.sessions.c.session_id))).all()]
    votes = dict((await s.execute(sa.select(m.votes.c.ballot_id, sa.func.count()).where(
        m.votes.c.assembly_id == assembly_id).group_by(m.votes.c.ballot_id))).all())
    ballots = [dict(r._mapping) for r in (await s.execute(sa.select(
        m.ballots.c.ballot_id, m.ballots.c.title, m.ballots.c.kind, m.ballots.c.members, m.ballots.c.closed)
        .where(m.ballots.c.assembly_id == assembly_id).order_by(m.ballots.c.title, m.ballots.c.ballot_id))).all()]
    return {
        "assembly_id": summary["assembly_id"], "name": summary["name"], "panel_size": summary["panel_size"],
        "registrations": [{key: c[key] for key in ("category", "value", "pool", "pool_share", "quota_min",
                                                   "quota_max", "target_share")} for c in summary["composition"]],
        "per_region": summary["per_region"],
        "checkins": [{"session_id": str(x["session_id"]), "title": x["title"],
                      "starts_at": x["starts_at"].isoformat() if x["starts_at"] else None, "held": x["held"],
                      "checked_in": checked.get(x["session_id"], 0)} for x in sessions],
        "turnout": [{"ballot_id": str(b["ballot_id"]), "title": b["title"], "kind": b["kind"], "open": not b["closed"],
                     "eligible": b["members"], "voted": votes.get(b["ballot_id"], 0),
                     "turnout": round(votes.get(b["ballot_id"], 0) / b["members"], 5) if b["members"] else None}
                    for b in ballots],
    }


async def assembly_ids(tx: Tx) -> list[uuid.UUID]:
    return [a for (a,) in (await tx.session.execute(sa.select(m.assemblies.c.id))).all()]
