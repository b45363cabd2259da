"""Reporting's event handlers (one per event type) and the summary/report queries."""

from __future__ import annotations

import hashlib
import uuid
from collections import Counter

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.reporting import models as m
from services.reporting.domain.figures import attendance_rate, composition, reply_rate
from shared.bus.consumer import Bulk
from shared.bus.outbox import Tx
from shared.problems import not_found
from shared.events import contracts as ev
from shared.events.envelope import Envelope


async def _upsert(tx: Tx, table: sa.Table, values: dict, keys: list[str], update: dict | None = None) -> None:
    stmt = pg_insert(table).values(**values)
    stmt = stmt.on_conflict_do_update(index_elements=keys, set_=update) if update else stmt.on_conflict_do_nothing()
    await tx.session.execute(stmt)


async def on_assembly_created(tx: Tx, e: Envelope, p: ev.AssemblyCreatedV1) -> None:
    await _upsert(tx, m.assemblies, {"id": p.assembly_id, "name": p.name, "panel_size": p.panel_size,
                                     "regions": [r.model_dump() for r in p.regions],
                                     "strata": [s.model_dump() for s in p.strata]}, ["id"])


async def on_invitations_sent(tx: Tx, e: Envelope, p: ev.InvitationsSentV1) -> None:
    await _upsert(tx, m.invitation_batches, {"batch_id": p.batch_id, "assembly_id": p.assembly_id, "count": p.count,
                                             "per_region": p.per_region}, ["batch_id"])


async def on_registered(tx: Tx, e: Envelope, p: ev.RespondentRegisteredV1) -> None:
    await _upsert(tx, m.respondents, {"respondent_id": p.respondent_id, "assembly_id": p.assembly_id,
                                      "region": p.region, "features": p.features}, ["respondent_id"])


async def on_withdrew(tx: Tx, e: Envelope, p: ev.RespondentWithdrewV1) -> None:
    await _upsert(tx, m.respondents, {"respondent_id": p.respondent_id, "assembly_id": p.assembly_id, "region": "",
                                      "features": {}, "withdrawn": True}, ["respondent_id"], {"withdrawn": True})


async def on_panel_drawn(tx: Tx, e: Envelope, p: ev.PanelDrawnV1) -> None:
    await _upsert(tx, m.panels, {"panel_id": p.panel_id, "assembly_id": p.assembly_id, "algorithm": p.algorithm,
                                 "pool_size": p.pool_size, "min_probability": p.min_probability,
                                 "transcript_hash": p.transcript_hash}, ["panel_id"])
    for role, ids in (("member", p.members), ("reserve", p.reserves)):
        for x in ids:
            await _upsert(tx, m.panel_members, {"assembly_id": p.assembly_id, "member_id": x, "role": role},
                          ["assembly_id", "member_id"])


async def on_replacement(tx: Tx, e: Envelope, p: ev.ReplacementDrawnV1) -> None:
    for x in p.dropped:
        await _upsert(tx, m.panel_members, {"assembly_id": p.assembly_id, "member_id": x, "role": "replaced"},
                      ["assembly_id", "member_id"], {"role": "replaced"})
    for x in p.added:
        await _upsert(tx, m.panel_members, {"assembly_id": p.assembly_id, "member_id": x, "role": "member"},
                      ["assembly_id", "member_id"], {"role": "member"})


async def on_session_scheduled(tx: Tx, e: Envelope, p: ev.SessionScheduledV1) -> None:
    fields = {"title": p.title, "phase": p.phase, "mode": p.mode, "starts_at": p.starts_at,
              "duration_hours": p.duration_hours}
    await _upsert(tx, m.sessions, {"session_id": p.session_id, "assembly_id": p.assembly_id, **fields},
                  ["session_id"], fields)


async def on_attendance(tx: Tx, e: Envelope, p: ev.AttendanceRecordedV1) -> None:
    return None  # per-member attendance is not needed for the figures; session-held carries the counts


async def on_session_held(tx: Tx, e: Envelope, p: ev.SessionHeldV1) -> None:
    fields = {"held": True, "present": p.present, "absent": p.absent, "duration_hours": p.duration_hours}
    await _upsert(tx, m.sessions, {"session_id": p.session_id, "assembly_id": p.assembly_id, **fields},
                  ["session_id"], fields)


async def on_ballot_opened(tx: Tx, e: Envelope, p: ev.BallotOpenedV2) -> None:
    th = p.threshold
    text = f"{'>' if th.strict else '>='} {th.fraction} of {th.base}"
    # results-tallied (another topic) may have overtaken this event: fill in what only this one has.
    await _upsert(tx, m.ballots, {"ballot_id": p.ballot_id, "assembly_id": p.assembly_id, "title": p.title,
                                  "threshold": text, "members": p.members}, ["ballot_id"],
                  {"title": p.title, "threshold": text})
    for i, q in enumerate(p.questions):
        await _upsert(tx, m.questions, {"ballot_id": p.ballot_id, "question_id": q.question_id,
                                        "assembly_id": p.assembly_id, "position": i, "text": q.text, "type": q.type,
                                        "recommendation": q.recommendation}, ["ballot_id", "question_id"])


async def on_votes_cast(tx: Tx, events: list[tuple[Envelope, ev.VoteCastV2]]) -> None:
    # One row per board position: a redelivered event (or a replay) is counted once. A whole
    # batch of votes in one statement (the consumer's batches; ballot boxes get busy).
    await tx.session.execute(pg_insert(m.votes).on_conflict_do_nothing(index_elements=["assembly_id", "position"]), [
        {"assembly_id": p.assembly_id, "position": p.position, "ballot_id": p.ballot_id, "kind": p.kind,
         "token_hash": p.token_hash, "choices": p.choices} for _, p in events])


on_vote_cast = Bulk(on_votes_cast)


async def on_ballot_closed(tx: Tx, e: Envelope, p: ev.BallotClosedV2) -> None:
    await tx.session.execute(sa.update(m.ballots).where(m.ballots.c.ballot_id == p.ballot_id).values(closed=True))


async def on_results_tallied(tx: Tx, e: Envelope, p: ev.ResultsTalliedV2) -> None:
    # results-tallied may overtake ballot-opened (another topic): upsert everything it carries.
    await _upsert(tx, m.ballots, {"ballot_id": p.ballot_id, "assembly_id": p.assembly_id, "title": "",
                                  "threshold": "", "members": p.members, "closed": True,
                                  "ballots_cast": p.ballots_cast, "quorum_met": p.quorum_met}, ["ballot_id"],
                  {"closed": True, "ballots_cast": p.ballots_cast, "quorum_met": p.quorum_met})
    for i, r in enumerate(p.questions):
        outcome = r.passed_options if r.type == "approval" else r.order
        fields = {"counts": r.counts, "support": r.support, "base": r.base, "threshold": r.threshold,
                  "passed": r.passed, "outcome": outcome}
        await _upsert(tx, m.questions, {"ballot_id": p.ballot_id, "question_id": r.question_id,
                                        "assembly_id": p.assembly_id, "position": i, "text": r.text, "type": r.type,
                                        "recommendation": r.recommendation, **fields},
                      ["ballot_id", "question_id"], fields)


async def on_report_published(tx: Tx, e: Envelope, p: ev.ReportPublishedV1) -> None:
    return None  # our own event: the report row is written by the command that published it


HANDLERS = {
    "recruitment.assembly-created.v1": on_assembly_created,
    "recruitment.invitations-sent.v1": on_invitations_sent,
    "recruitment.respondent-registered.v1": on_registered,
    "recruitment.respondent-withdrew.v1": on_withdrew,
    "sortition.panel-drawn.v1": on_panel_drawn,
    "sortition.replacement-drawn.v1": on_replacement,
    "sessions.session-scheduled.v1": on_session_scheduled,
    "sessions.attendance-recorded.v1": on_attendance,
    "sessions.session-held.v1": on_session_held,
    "voting.ballot-opened.v2": on_ballot_opened,
    "voting.vote-cast.v2": on_vote_cast,
    "voting.ballot-closed.v2": on_ballot_closed,
    "voting.results-tallied.v2": on_results_tallied,
    "reporting.report-published.v1": on_report_published,
}


async def summary(tx: Tx, assembly_id: uuid.UUID) -> dict:
    s = tx.session
    a = (await s.execute(sa.select(m.assemblies).where(m.assemblies.c.id == assembly_id))).first()
    if a is None:
        raise not_found("assembly (no events seen for it yet)")
    batches = (await s.execute(sa.select(m.invitation_batches).where(m.invitation_batches.c.assembly_id == assembly_id))).all()
    resp = (await s.execute(sa.select(m.respondents).where(m.respondents.c.assembly_id == assembly_id,
                                                          m.respondents.c.withdrawn.is_(False)))).all()
    members = {r.member_id for r in (await s.execute(sa.select(m.panel_members).where(
        m.panel_members.c.assembly_id == assembly_id, m.panel_members.c.role == "member"))).all()}
    panel = (await s.execute(sa.select(m.panels).where(m.panels.c.assembly_id == assembly_id))).first()
    sess = [dict(r._mapping) for r in (await s.execute(sa.select(m.sessions).where(
        m.sessions.c.assembly_id == assembly_id).order_by(m.sessions.c.starts_at))).all()]
    qs = (await s.execute(sa.select(m.questions, m.ballots.c.title.label("ballot"))
                          .join(m.ballots, m.ballots.c.ballot_id == m.questions.c.ballot_id)
                          .where(m.questions.c.assembly_id == assembly_id)
                          .order_by(m.ballots.c.title, m.questions.c.ballot_id, m.questions.c.position))).all()
    recs = [q for q in qs if q.recommendation]
    votes_cast = (await s.execute(sa.select(sa.func.count()).where(m.votes.c.assembly_id == assembly_id))).scalar_one()

    invitations = sum(b.count for b in batches)
    inv_region: Counter = Counter()
    for b in batches:
        inv_region.update(b.per_region)
    reg_region = Counter(r.region for r in resp)
    by_id = {r.respondent_id: r.features for r in resp}
    panel_features = [by_id[x] for x in members if x in by_id]
    panel_region = Counter(f.get("region") for f in panel_features)
    held = [x for x in sess if x["held"]]
    tallied = [q for q in recs if q.passed is not None]
    return {
        "assembly_id": str(assembly_id),
        "name": a.name,
        "invitations_sent": invitations,
        "registrations": len(resp),
        "reply_rate": round(reply_rate(len(resp), invitations), 5),
        "panel_size": len(members),
        "panel_target": a.panel_size,
        "selection": None if panel is None else {
            "algorithm": panel.algorithm, "pool_size": panel.pool_size,
            "min_probability": panel.min_probability, "transcript_hash": panel.transcript_hash},
        "sessions_scheduled": len(sess),
        "sessions_held": len(held),
        "deliberation_hours": sum(x["duration_hours"] or 0 for x in held),
        "attendance_rate": round(attendance_rate(held), 5),
        "votes_cast": votes_cast,
        "recommendations": len(recs),
        "recommendations_tallied": len(tallied),
        "recommendations_passed": sum(1 for q in tallied if q.passed),
        "per_region": [
            {"region": r["code"], "name": r["name"], "population": r["population"],
             "invitations": inv_region.get(r["code"], 0), "registrations": reg_region.get(r["code"], 0),
             "reply_rate": round(reply_rate(reg_region.get(r["code"], 0), inv_region.get(r["code"], 0)), 5),
             "panel": panel_region.get(r["code"], 0)}
            for r in a.regions
        ],
        "composition": composition(a.strata, [r.features for r in resp], panel_features, a.panel_size),
        "sessions": [{"title": x["title"], "phase": x["phase"], "mode": x["mode"],
                      "starts_at": x["starts_at"].isoformat() if x["starts_at"] else None, "held": x["held"],
                      "present": x["present"], "absent": x["absent"], "duration_hours": x["duration_hours"]}
                     for x in sess],
        "results": [_result(q) for q in qs],
    }


def _result(q) -> dict:
    """Support per recommendation (yes/no and agree-scale questions: yes = votes counting as
    support, no = the other valid votes), and the outcome of questions over alternatives (approval:
    options passed; ranking: Borda order). Counts are None until the ballot is tallied."""
    counts = q.counts or {}
    valid = sum(v for k, v in counts.items() if k != "abstain") if q.recommendation and q.counts else None
    return {"ballot": q.ballot, "question_id": q.question_id, "recommendation": q.text, "type": q.type,
            "is_recommendation": q.recommendation, "threshold": q.threshold,
            "yes": q.support, "no": None if valid is None or q.support is None else valid - q.support,
            "abstain": counts.get("abstain"), "base": q.base,
            "support": None if not q.base or q.support is None else round(q.support / q.base, 5),
            "passed": q.passed, "outcome": q.outcome, "counts": q.counts}


async def publish(tx: Tx, assembly_id: uuid.UUID, html: str) -> dict:
    digest = hashlib.sha256(html.encode()).hexdigest()
    report_id = uuid.uuid4()
    await tx.session.execute(sa.insert(m.reports).values(report_id=report_id, assembly_id=assembly_id,
                                                         sha256=digest, html=html))
    await tx.emit(ev.ReportPublishedV1(assembly_id=assembly_id, report_id=report_id, sha256=digest), subject=assembly_id)
    await tx.audit("report.published", assembly_id, object_id=report_id, details={"sha256": digest})
    return {"report_id": report_id, "sha256": digest}
