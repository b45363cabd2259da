"""Reporting's writes: its read model, one event handler per event type (`on_<event>(tx, event,
payload)`; a `Bulk` one takes a consumer batch). Publishing the report, the authority's responses
and the surveys are written in the modules beside this one; the summary is read in views/."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.reporting import models as m
from shared.bus.consumer import Bulk
from shared.bus.outbox import Tx
from shared.events import contracts as ev
from shared.events.envelope import Envelope
from shared.projections import audit_head_handlers


async def _upsert(tx: Tx, table: sa.Table, values: dict, keys: list[str], update: dict | None = None) -> None:
    stmt = pg_insert(table).values(**values)
    stmt = stmt.on_conflict_do_update(index_elements=keys, set_=update) if update else stmt.on_conflict_do_nothing()
    await tx.session.execute(stmt)


async def on_assembly_created(tx: Tx, event: Envelope, payload: ev.AssemblyCreatedV1) -> None:
    await _upsert(tx, m.assemblies, {"id": payload.assembly_id, "name": payload.name, "panel_size": payload.panel_size,
                                     "regions": [r.model_dump() for r in payload.regions],
                                     "strata": [s.model_dump() for s in payload.strata]}, ["id"])


async def on_invitations_sents(tx: Tx, events: list[tuple[Envelope, ev.InvitationsSentV1]]) -> None:
    # A consumer batch of invitation batches in one statement: an event applied on its own costs a
    # round trip to the database, which under load was a third of the consumer's time at 50 per second.
    await tx.session.execute(pg_insert(m.invitation_batches).on_conflict_do_nothing(index_elements=["batch_id"]), [
        {"batch_id": p.batch_id, "assembly_id": p.assembly_id, "count": p.count, "per_region": p.per_region}
        for _, p in events])


on_invitations_sent = Bulk(on_invitations_sents)


async def on_respondents_registered(tx: Tx, events: list[tuple[Envelope, ev.RespondentRegisteredV1]]) -> None:
    # A consumer batch of registrations in one statement (recruitment's busiest topic). A withdrawal
    # (another topic) read first left a row without region and features: the registration fills them.
    stmt = pg_insert(m.respondents)
    await tx.session.execute(stmt.on_conflict_do_update(index_elements=["respondent_id"], set_={
        "region": stmt.excluded.region, "features": stmt.excluded.features}), [
        {"respondent_id": p.respondent_id, "assembly_id": p.assembly_id, "region": p.region, "features": p.features}
        for _, p in events])


on_respondent_registered = Bulk(on_respondents_registered)


async def on_respondent_withdrew(tx: Tx, event: Envelope, payload: ev.RespondentWithdrewV1) -> None:
    await _upsert(tx, m.respondents, {"respondent_id": payload.respondent_id, "assembly_id": payload.assembly_id,
                                      "region": "", "features": {}, "withdrawn": True}, ["respondent_id"],
                  {"withdrawn": True})


async def on_panel_drawn(tx: Tx, event: Envelope, payload: ev.PanelDrawnV1) -> None:
    p = payload
    await _upsert(tx, m.panels, {"panel_id": p.panel_id, "assembly_id": p.assembly_id, "algorithm": p.algorithm,
                                 "pool_size": p.pool_size, "min_probability": p.min_probability,
                                 "transcript_hash": p.transcript_hash}, ["panel_id"])
    for role, ids in (("member", p.members), ("reserve", p.reserves)):
        for x in ids:
            await _upsert(tx, m.panel_members, {"assembly_id": p.assembly_id, "member_id": x, "role": role},
                          ["assembly_id", "member_id"])


async def on_pool_frozen(tx: Tx, event: Envelope, payload: ev.PoolFrozenV1) -> None:
    p = payload
    fields = {"pool_hash": p.pool_hash, "quotas_hash": p.quotas_hash, "pool_size": p.pool_size,
              "algorithm": p.algorithm, "engine": p.engine, "lottery_size": p.lottery_size, "reserves": p.reserves,
              "beacon": p.beacon, "commitments": [c.model_dump() for c in p.commitments]}
    await _upsert(tx, m.pool_freezes, {"assembly_id": p.assembly_id, **fields}, ["assembly_id"], fields)


async def on_replacement_drawn(tx: Tx, event: Envelope, payload: ev.ReplacementDrawnV1) -> None:
    await _upsert(tx, m.replacements, {"event_id": event.id, "assembly_id": payload.assembly_id, "at": event.time,
                                       "dropped": len(payload.dropped), "added": len(payload.added)}, ["event_id"])
    for x in payload.dropped:
        await _upsert(tx, m.panel_members, {"assembly_id": payload.assembly_id, "member_id": x, "role": "replaced"},
                      ["assembly_id", "member_id"], {"role": "replaced"})
    for x in payload.added:
        await _upsert(tx, m.panel_members, {"assembly_id": payload.assembly_id, "member_id": x, "role": "member"},
                      ["assembly_id", "member_id"], {"role": "member"})


async def _schedule(tx: Tx, event: Envelope, p: ev.SessionScheduledV1 | ev.SessionScheduledV2, extra: dict) -> None:
    """Upsert what a schedule says. v1 (a session scheduled or moved) and v2 (its programme
    published) come on two topics, so a rebuild may read them in another order than they were
    written: the schedule of the latest event (its time, then its id) wins whichever arrives last;
    a held session keeps the hours session-held says it took; `extra` (v2's agenda) is set only
    where the row has no later programme revision."""
    fields = {"title": p.title, "phase": p.phase, "mode": p.mode, "starts_at": p.starts_at,
              "duration_hours": p.duration_hours, "scheduled_at": event.time, "scheduled_by": event.id}
    stmt = pg_insert(m.sessions).values(session_id=p.session_id, assembly_id=p.assembly_id, **fields, **extra)
    s, x = m.sessions.c, stmt.excluded
    newer = sa.or_(s.scheduled_at.is_(None),
                   sa.tuple_(s.scheduled_at, s.scheduled_by) < sa.tuple_(x.scheduled_at, x.scheduled_by))
    update = {k: sa.case((newer, x[k]), else_=s[k]) for k in fields}
    update["duration_hours"] = sa.case((s.held, s.duration_hours), (newer, x.duration_hours), else_=s.duration_hours)
    if extra:
        later = sa.or_(s.programme_revision.is_(None), s.programme_revision < x.programme_revision)
        update |= {k: sa.case((later, x[k]), else_=s[k]) for k in extra}
    await tx.session.execute(stmt.on_conflict_do_update(index_elements=["session_id"], set_=update))


async def on_session_scheduled(tx: Tx, event: Envelope, payload: ev.SessionScheduledV1) -> None:
    await _schedule(tx, event, payload, {})


async def on_session_scheduled_v2(tx: Tx, event: Envelope, payload: ev.SessionScheduledV2) -> None:
    """A published programme: the session as v1 says it, and its agenda unless a later revision
    arrived first (programmes are republished after each change; the highest revision wins)."""
    await _schedule(tx, event, payload, {
        "programme_revision": payload.revision,
        "agenda": [{"phase": i.phase, "title": i.title, "minutes": i.minutes,
                    "speakers": [s.model_dump(mode="json") for s in i.speakers]} for i in payload.items]})


async def on_attendances_recorded(tx: Tx, events: list[tuple[Envelope, ev.AttendanceRecordedV1]]) -> None:
    # Who is checked in (the secretariat's live view; session-held carries the report's counts): a
    # consumer batch in one statement, a later record of the same member and session winning.
    latest = {(p.session_id, p.member_id): p for _, p in events}
    stmt = pg_insert(m.checkins)
    await tx.session.execute(stmt.on_conflict_do_update(index_elements=["session_id", "member_id"],
                                                        set_={"present": stmt.excluded.present}), [
        {"session_id": p.session_id, "member_id": p.member_id, "assembly_id": p.assembly_id, "present": p.present}
        for p in latest.values()])


on_attendance_recorded = Bulk(on_attendances_recorded)


async def on_session_held(tx: Tx, event: Envelope, payload: ev.SessionHeldV1) -> None:
    fields = {"held": True, "present": payload.present, "absent": payload.absent,
              "duration_hours": payload.duration_hours}
    await _upsert(tx, m.sessions, {"session_id": payload.session_id, "assembly_id": payload.assembly_id, **fields},
                  ["session_id"], fields)


async def on_ballot_opened(tx: Tx, event: Envelope,
                           payload: ev.BallotOpenedV2 | ev.BallotOpenedV3 | ev.BallotOpenedV4) -> None:
    p, th = payload, payload.threshold
    # Before v4 ballots were not marked, and each was reported as the result: they stay final.
    kind, list_id = (p.kind, p.list_id) if isinstance(p, ev.BallotOpenedV4) else ("final", None)
    recommendation_of = {r.question_id: r.recommendation_id for r in getattr(p, "recommendations", [])}
    if isinstance(p, ev.BallotOpenedV3):
        await _upsert(tx, m.boards, {"assembly_id": p.assembly_id, "board_id": p.board_id,
                                     "board_key_fingerprint": p.board_key_fingerprint}, ["assembly_id"])
    text = f"{'>' if th.strict else '>='} {th.fraction} of {th.base}"
    # results-tallied (another topic) may have overtaken this event: fill in what only this one has.
    await _upsert(tx, m.ballots, {"ballot_id": p.ballot_id, "assembly_id": p.assembly_id, "title": p.title,
                                  "threshold": text, "members": p.members, "kind": kind, "list_id": list_id},
                  ["ballot_id"], {"title": p.title, "threshold": text, "members": p.members, "kind": kind,
                                  "list_id": list_id})
    for i, q in enumerate(p.questions):
        rid = recommendation_of.get(q.question_id)
        await _upsert(tx, m.questions, {"ballot_id": p.ballot_id, "question_id": q.question_id,
                                        "assembly_id": p.assembly_id, "position": i, "text": q.text, "type": q.type,
                                        "recommendation": q.recommendation, "recommendation_id": rid},
                      ["ballot_id", "question_id"], {"recommendation_id": rid, "position": i})  # the ballot's order


async def on_votes_cast(tx: Tx, events: list[tuple[Envelope, ev.VoteCastV2]]) -> None:
    # One row per board position: a redelivered event (or a replay) is counted once. A whole
    # batch of votes in one statement (the consumer's batches; ballot boxes get busy).
    await tx.session.execute(pg_insert(m.votes).on_conflict_do_nothing(index_elements=["assembly_id", "position"]), [
        {"assembly_id": p.assembly_id, "position": p.position, "ballot_id": p.ballot_id, "kind": p.kind,
         "token_hash": p.token_hash, "choices": p.choices} for _, p in events])


# voting.vote-cast.v2 (from services/voting/ingest.py): applied a consumer batch at a time.
on_vote_cast = Bulk(on_votes_cast)


async def on_ballot_closed(tx: Tx, event: Envelope, payload: ev.BallotClosedV2) -> None:
    # May be read before ballot-opened (another topic): a row marked closed, which ballot-opened
    # fills in (a ballot without a kind is in no list until then).
    await _upsert(tx, m.ballots, {"ballot_id": payload.ballot_id, "assembly_id": payload.assembly_id, "title": "",
                                  "threshold": "", "members": 0, "closed": True}, ["ballot_id"], {"closed": True})


async def on_results_tallied(tx: Tx, event: Envelope, payload: ev.ResultsTalliedV2 | ev.ResultsTalliedV3) -> None:
    p = payload
    # v2 counts are from before ballots were marked: final, as they were reported then.
    kind = p.kind if isinstance(p, ev.ResultsTalliedV3) else "final"
    # results-tallied may overtake ballot-opened (another topic): upsert everything it carries.
    await _upsert(tx, m.ballots, {"ballot_id": p.ballot_id, "assembly_id": p.assembly_id, "title": "",
                                  "threshold": "", "members": p.members, "closed": True,
                                  "ballots_cast": p.ballots_cast, "quorum_met": p.quorum_met, "kind": kind},
                  ["ballot_id"], {"closed": True, "ballots_cast": p.ballots_cast, "quorum_met": p.quorum_met,
                                  "kind": kind})
    for i, r in enumerate(p.questions):
        outcome = r.passed_options if r.type == "approval" else r.order
        fields = {"counts": r.counts, "support": r.support, "base": r.base, "threshold": r.threshold,
                  "passed": r.passed, "outcome": outcome}
        await _upsert(tx, m.questions, {"ballot_id": p.ballot_id, "question_id": r.question_id,
                                        "assembly_id": p.assembly_id, "position": i, "text": r.text, "type": r.type,
                                        "recommendation": r.recommendation, **fields},
                      ["ballot_id", "question_id"], fields)


async def on_recommendations_finalised(tx: Tx, event: Envelope, payload: ev.RecommendationsFinalisedV1) -> None:
    p = payload
    for r in p.recommendations:
        await _upsert(tx, m.final_recommendations, {
            "list_id": p.list_id, "recommendation_id": r.recommendation_id, "assembly_id": p.assembly_id,
            "finalised_at": p.finalised_at, "position": r.position, "title": r.title, "version": r.version,
            "text": r.text, "text_sha256": r.text_sha256, "rationale": r.rationale,
            "minority_statements": [s.model_dump(mode="json") for s in r.minority_statements]},
            ["list_id", "recommendation_id"])


async def on_report_published(tx: Tx, event: Envelope, payload: ev.ReportPublishedV1 | ev.ReportPublishedV2) -> None:
    return None  # our own event: the version's row is written by the command that published it


async def on_response_recorded(tx: Tx, event: Envelope, payload: ev.RecommendationResponseRecordedV1) -> None:
    # Our own event: the command wrote the row already; a rebuild from the topic writes it here.
    await _upsert(tx, m.responses, response_row(payload, event.time), ["response_id"])


def response_row(p: ev.RecommendationResponseRecordedV1, at) -> dict:
    return {"response_id": p.response_id, "assembly_id": p.assembly_id, "ballot_id": p.ballot_id,
            "question_id": p.question_id, "response": p.response, "implementation": p.implementation,
            "reasoning": p.reasoning, "responsible_body": p.responsible_body, "answered_on": p.answered_on,
            "deadline": p.deadline, "links": p.links, "recorded_at": at}


HANDLERS = {
    "recruitment.assembly-created.v1": on_assembly_created,
    "recruitment.invitations-sent.v1": on_invitations_sent,
    "recruitment.respondent-registered.v1": on_respondent_registered,
    "recruitment.respondent-withdrew.v1": on_respondent_withdrew,
    "sortition.pool-frozen.v1": on_pool_frozen,
    "sortition.panel-drawn.v1": on_panel_drawn,
    "sortition.replacement-drawn.v1": on_replacement_drawn,
    "sessions.session-scheduled.v1": on_session_scheduled,
    "sessions.session-scheduled.v2": on_session_scheduled_v2,
    "sessions.attendance-recorded.v1": on_attendance_recorded,
    "sessions.session-held.v1": on_session_held,
    "voting.ballot-opened.v2": on_ballot_opened,  # before v3 (still in the topic's history)
    "voting.ballot-opened.v3": on_ballot_opened,  # before v4
    "voting.ballot-opened.v4": on_ballot_opened,
    "sessions.recommendations-finalised.v1": on_recommendations_finalised,
    "voting.vote-cast.v2": on_vote_cast,
    "voting.ballot-closed.v2": on_ballot_closed,
    "voting.results-tallied.v2": on_results_tallied,  # before v3
    "voting.results-tallied.v3": on_results_tallied,
    "reporting.report-published.v1": on_report_published,
    "reporting.report-published.v2": on_report_published,
    "reporting.recommendation-response-recorded.v1": on_response_recorded,
    **audit_head_handlers(m.audit_heads),
}
