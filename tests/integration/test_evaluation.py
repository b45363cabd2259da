"""The evaluation (issue 14): the secretariat opens and closes the members' surveys, members answer
in the portal once and anonymously (nothing stored with the answers names a member or a time,
and closing re-keys and re-orders them), the figures appear only once a survey is closed and small
groups are suppressed; the evaluation pack (JSON, CSV, page); the secretariat's live figures
(check-ins, turnout without results) and the business metrics without personal data."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime, timezone

import httpx
import pytest
import sqlalchemy as sa
from markupsafe import escape
from prometheus_client import generate_latest

from services.reporting.jobs import business_metrics
from services.reporting import models as rm
from services.reporting.handlers import HANDLERS
from services.reporting.views.report import gettext_for
from shared.events import contracts as ev
from shared.events.envelope import new_event
from tests.integration.staff_browser import browser, csrf
from tests.integration.test_apis import client
from tests.integration.test_pages import reporting_knows
from tests.integration.test_pages_reporting import pdf_text
from shared.ui.i18n import Formats

pytestmark = pytest.mark.integration


async def assembly_with_panel(settings, n: int = 7) -> tuple[uuid.UUID, list[uuid.UUID], uuid.UUID]:
    """An assembly with a panel of `n` members and one reserve, a held session with check-ins and
    an open final ballot with three votes cast."""
    aid = await reporting_knows(settings, uuid.uuid4(), "Borgertinget om evaluering")
    members, reserve = [uuid.uuid4() for _ in range(n)], uuid.uuid4()
    session_id, ballot_id = uuid.uuid4(), uuid.uuid4()
    app = client("reporting", settings)._transport.app
    events = [ev.RespondentRegisteredV1(assembly_id=aid, respondent_id=x, region="N", features={"gender": "female"})
              for x in [*members, reserve]]
    events += [ev.PanelDrawnV1(assembly_id=aid, panel_id=uuid.uuid4(), algorithm="leximin", members=members,
                               reserves=[reserve], pool_size=n + 1),
               ev.SessionScheduledV1(assembly_id=aid, session_id=session_id, title="Session 1",
                                     starts_at=datetime(2027, 3, 6, 9, tzinfo=timezone.utc), mode="physical",
                                     phase="learning", duration_hours=6)]
    events += [ev.AttendanceRecordedV1(assembly_id=aid, session_id=session_id, member_id=x, present=i != 0)
               for i, x in enumerate(members)]
    events += [ev.BallotOpenedV4(assembly_id=aid, ballot_id=ballot_id, title="Final vote", members=n,
                                 threshold={"fraction": "1/2", "base": "valid_votes", "strict": True},
                                 quorum_min_ballots=0, quorum_min_fraction="0", board_id=f"assembly-{aid}",
                                 board_key_fingerprint="f" * 64, token_key_id="k" * 64, kind="final",
                                 questions=[{"question_id": "q1", "text": "Plant trees", "type": "yes_no_abstain",
                                             "recommendation": True}])]
    events += [ev.VoteCastV2(assembly_id=aid, ballot_id=ballot_id, position=i + 1, entry_hash=f"{i:064d}",
                             kind="online", token_hash=f"{i + 7:064d}", choices={"q1": "yes"}) for i in range(3)]
    async with app.state.rt.transaction() as tx:
        for p in events:
            await HANDLERS[ev.spec_for_model(type(p)).topic](tx, new_event(p, subject=aid), p)
    await app.state.rt.close()
    return aid, members, reserve


ANSWERS = [{"fair": 5, "speak": 4, "pressure": 4, "best": "The tables"}, {"fair": 4, "speak": 2},
           {"fair": 2, "speak": 5, "best": "Meeting people"}, {"fair": 5, "speak": 5}, {"fair": 4}, {"fair": 1}]


async def test_members_answer_anonymously_and_the_pack_counts_only_closed_surveys(settings, auth):
    aid, members, reserve = await assembly_with_panel(settings)
    anyone = httpx.Auth()
    async with client("reporting", settings) as staff, client("reporting", settings, auth=anyone) as api:
        def as_member(m):
            return auth.headers("member", aid, member_id=m)

        # not open yet: refused, with what to do
        r = await api.post(f"/assemblies/{aid}/surveys/end/answers", json={"answers": {"fair": 5}},
                           headers=as_member(members[0]))
        assert r.status_code == 409 and "not open" in r.text
        assert (await staff.post(f"/assemblies/{aid}/surveys/end/open")).status_code == 200
        assert (await staff.post(f"/assemblies/{aid}/surveys/end/open")).status_code == 409
        assert (await staff.post(f"/assemblies/{aid}/surveys/start/open")).status_code == 200
        for m, a in zip(members, ANSWERS):
            r = await api.post(f"/assemblies/{aid}/surveys/end/answers", json={"answers": a}, headers=as_member(m))
            assert r.status_code == 201, r.text
        # once only; members of the panel only; answers on the scale only
        again = await api.post(f"/assemblies/{aid}/surveys/end/answers", json={"answers": {"fair": 1}},
                               headers=as_member(members[0]))
        assert again.status_code == 409 and "answered the end survey already" in again.text
        r = await api.post(f"/assemblies/{aid}/surveys/end/answers", json={"answers": {"fair": 5}},
                           headers=as_member(reserve))
        assert r.status_code == 403 and "only the panel's members" in r.text
        r = await api.post(f"/assemblies/{aid}/surveys/end/answers", json={"answers": {"fair": 9}},
                           headers=as_member(members[6]))
        assert r.status_code == 422
        for m in members[:2]:  # two answer at the start: below the smallest group shown
            r = await api.post(f"/assemblies/{aid}/surveys/start/answers", json={"answers": {"task": 4}},
                               headers=as_member(m))
            assert r.status_code == 201, r.text

        # while open: counts only, no figures
        states = {s["stage"]: s for s in (await staff.get(f"/assemblies/{aid}/surveys")).json()}
        assert states["end"]["state"] == "open" and states["end"]["respondents"] == 6
        assert states["middle"]["state"] == "not_started"
        pack = (await staff.get(f"/assemblies/{aid}/evaluation.json")).json()
        assert pack["surveys"] == {} and pack["perceived_fairness"] is None
        assert "perceived_fairness" in {n["figure"] for n in pack["not_known"]}

        # anonymity: the answers' rows hold no member id and no time; who answered holds no answer
        app = api._transport.app
        async with app.state.rt.transaction() as tx:
            columns = {c.name for c in rm.survey_answers.columns}
            rows = [dict(r._mapping) for r in (await tx.session.execute(
                sa.select(rm.survey_answers).where(rm.survey_answers.c.assembly_id == aid))).all()]
            who = (await tx.session.execute(sa.select(rm.survey_respondents).where(
                rm.survey_respondents.c.assembly_id == aid))).all()
        assert columns == {"answer_id", "assembly_id", "stage", "answers"}
        assert not any(str(m) in repr(rows) for m in members)
        assert {c.name for c in rm.survey_respondents.columns} == {"assembly_id", "stage", "member_id"}
        assert len(who) == 8 and len(rows) == 8
        before = {r["answer_id"] for r in rows}

        closed = await staff.post(f"/assemblies/{aid}/surveys/end/close")
        assert closed.status_code == 200 and closed.json()["respondents"] == 6
        assert (await staff.post(f"/assemblies/{aid}/surveys/start/close")).status_code == 200
        assert (await staff.post(f"/assemblies/{aid}/surveys/end/close")).status_code == 409
        r = await api.post(f"/assemblies/{aid}/surveys/end/answers", json={"answers": {"fair": 5}},
                           headers=as_member(members[6]))
        assert r.status_code == 409
        async with app.state.rt.transaction() as tx:
            after = {a for (a,) in (await tx.session.execute(sa.select(rm.survey_answers.c.answer_id).where(
                rm.survey_answers.c.assembly_id == aid))).all()}
            trail = [a for (a,) in (await tx.session.execute(sa.select(rm.audit.c.action).where(
                rm.audit.c.assembly_id == aid).order_by(rm.audit.c.seq)))]
        assert len(after) == 8 and not after & before  # re-keyed at close
        assert trail == ["survey.opened", "survey.opened", "survey.closed", "survey.closed"]  # never an answer
        await app.state.rt.close()

        pack = (await staff.get(f"/assemblies/{aid}/evaluation.json")).json()
        end = {q["id"]: q for q in pack["surveys"]["end"]["questions"]}
        assert pack["surveys"]["end"]["respondents"] == 6
        assert end["fair"]["answered"] == 6 and end["fair"]["counts"] == {"1": 1, "2": 1, "3": 0, "4": 2, "5": 2}
        assert end["fair"]["agree"] == round(4 / 6, 5) and end["fair"]["mean"] == round(21 / 6, 3)
        assert end["speak"]["answered"] == 4 and end["speak"]["suppressed"] and end["speak"]["agree"] is None
        assert pack["perceived_fairness"] == {"stage": "end", "question": "fair", "answered": 6,
                                              "agree": round(4 / 6, 5), "mean": 3.5, "suppressed": False}
        assert pack["freedom_to_speak"]["suppressed"] and pack["freedom_to_speak"]["agree"] is None
        assert pack["surveys"]["start"]["respondents"] == 2 and pack["surveys"]["start"]["suppressed"]
        assert pack["retention"]["present_first_session"] is None  # the session is not held yet
        assert pack["hours"]["total"] == 0 and pack["response"]["adopted"] == 0
        assert "independent_evaluation" in {n["figure"] for n in pack["not_known"]}
        # the panel has 7 women: the group is shown; the region's 8 registrations too
        assert pack["representativeness"][0]["panel"] == 7

        rows = list(csv.reader(io.StringIO((await staff.get(f"/assemblies/{aid}/evaluation.csv")).text)))
        assert rows[0] == ["section", "figure", "value"]
        assert ["perceived_fairness", "agree", str(round(4 / 6, 5))] in rows
        assert ["survey:end", "speak:agree", ""] in rows  # suppressed

        live = (await staff.get(f"/assemblies/{aid}/live")).json()
        assert live["checkins"][0]["checked_in"] == 6
        (turnout,) = live["turnout"]
        assert turnout["open"] and turnout["voted"] == 3 and turnout["eligible"] == 7
        assert "yes" not in repr(live) and "counts" not in repr(live)  # no results while open

        # the business metrics: the same figures, labelled by ids and strata, never a member
        app = client("reporting", settings)._transport.app  # as the consumer's worker refreshes them
        await business_metrics.refresh(app.state.rt)
        await app.state.rt.close()
        text = generate_latest().decode()
        assert f'borgerting_assembly_checked_in{{assembly="{aid}",service="reporting",session=' in text
        assert f'borgerting_assembly_ballot_votes{{assembly="{aid}",ballot="{turnout["ballot_id"]}",kind="final",' \
               f'service="reporting"}} 3.0' in text
        assert not any(str(m) in text for m in [*members, reserve])

    # The handover report carries the evaluation pack as published, in both languages, HTML and PDF:
    # the figures the surveys and the events say, the suppressed ones left out, the notes beside.
    async with client("reporting", settings) as staff, client("reporting", settings, auth=httpx.Auth()) as anyone:
        pack = (await staff.get(f"/assemblies/{aid}/evaluation.json")).json()
        r = await staff.post(f"/assemblies/{aid}/report/publish")
        assert r.status_code == 201, r.text
        app = staff._transport.app
        async with app.state.rt.transaction() as tx:
            figures = (await tx.session.execute(sa.select(rm.report_versions.c.figures).where(
                rm.report_versions.c.assembly_id == aid))).scalar_one()
        await app.state.rt.close()
        assert figures["evaluation"] == pack  # the published figures are the pack's, as the events and answers say
        for lang in ("da", "en"):
            fmt = Formats(lang)
            html = (await anyone.get(f"/assemblies/{aid}/report/published?lang={lang}")).text
            section = html[html.index('id="evaluation"'):html.index('id="anchors"')]
            pdf = "".join(pdf_text((await anyone.get(f"/assemblies/{aid}/report/published.pdf?lang={lang}")).content)
                          .split())
            fair = fmt.percent(round(4 / 6, 5))
            for text in (section, pdf):
                squeezed = "".join(text.split())
                assert "".join(fair.split()) in squeezed, (lang, fair)  # perceived fairness: 4 of 6 agree
            assert f"{fmt.percent(0.75)}<" not in section  # freedom to speak: 4 answers, below 5: not shown
            assert "Evaluering" in html if lang == "da" else "Evaluation" in html
            for note in pack["not_known"]:  # every figure it cannot know, with its note, translated
                assert str(escape(gettext_for(lang)(note["note"]).split(":")[0])) in section


async def test_a_member_answers_in_the_portal_and_staff_open_and_close_from_the_page(settings, auth):
    aid, members, _reserve = await assembly_with_panel(settings, n=5)
    async with await browser("reporting", settings, auth, "organiser", aid) as web:
        page = await web.get(f"/assemblies/{aid}/evaluation?lang=en")
        assert page.status_code == 200 and "Member surveys" in page.text and "Not opened" in page.text
        r = await web.post(f"/assemblies/{aid}/evaluation", data={"csrf_token": csrf(page), "stage": "middle",
                                                                   "action": "open"})
        assert r.status_code == 303 and r.headers["location"].endswith("/evaluation?open=middle")
        r = await web.post(f"/assemblies/{aid}/evaluation", data={"csrf_token": csrf(page), "stage": "middle",
                                                                   "action": "open"})
        assert r.status_code == 409 and "The survey is open already" in r.text
        dash = await web.get(f"/assemblies/{aid}/dashboard?lang=en")
        assert "Check-ins" in dash.text and "4 / 5" in dash.text and "Turnout" in dash.text
        assert "3 / 5" in dash.text and "Plant trees" not in dash.text
    async with await browser("reporting", settings, auth, "member", aid, member_id=members[0]) as member:
        portal = await member.get(f"/assemblies/{aid}/portal?lang=en")
        assert "A short survey is open" in portal.text and f"/assemblies/{aid}/surveys/middle" in portal.text
        form = await member.get(f"/assemblies/{aid}/surveys/middle?lang=en")
        assert "The experts and stakeholders we heard" in form.text and " checked" not in form.text
        r = await member.post(f"/assemblies/{aid}/surveys/middle", data={
            "csrf_token": csrf(form), "speak": "7", "better": "x" * 2001})
        assert r.status_code == 422 and "Choose one of the five answers, or none" in r.text
        assert "Shorten the answer to at most 2000 characters" in r.text
        r = await member.post(f"/assemblies/{aid}/surveys/middle", data={
            "csrf_token": csrf(form), "speak": "4", "respect": "5", "better": "More breaks"})
        assert r.status_code == 303 and r.headers["location"] == f"/assemblies/{aid}/portal?survey=thanks"
        portal = await member.get(r.headers["location"] + "&lang=da")
        assert "Tak for dine svar." in portal.text and "Et kort spørgeskema er åbent" not in portal.text
        again = await member.get(f"/assemblies/{aid}/surveys/middle?lang=en")
        assert "you have answered this survey" in again.text and 'name="speak"' not in again.text
    async with await browser("reporting", settings, auth, "auditor", aid) as web:
        page = await web.get(f"/assemblies/{aid}/evaluation?lang=da")
        assert page.status_code == 200 and "Spørgeskemaer til medlemmerne" in page.text
        assert 'name="action"' not in page.text  # opening and closing is for organisers


async def test_a_held_sessions_hours_do_not_depend_on_the_order_of_the_schedule_and_the_hold(settings):
    """session-held (its hours as held) and session-scheduled (re-sent after a date change, or
    simply late: another topic) may arrive in either order; the hours of deliberation are the
    held hours either way, so a rebuild from offset 0 comes out the same."""
    app = client("reporting", settings)._transport.app
    hours = {}
    for order in ("held first", "scheduled first"):
        aid = await reporting_knows(settings, uuid.uuid4(), "Borgertinget om rækkefølge")
        session_id = uuid.uuid4()
        scheduled = ev.SessionScheduledV1(assembly_id=aid, session_id=session_id, title="Session 1", mode="physical",
                                          starts_at=datetime(2027, 3, 6, 9, tzinfo=timezone.utc), phase="learning",
                                          duration_hours=14)
        held = ev.SessionHeldV1(assembly_id=aid, session_id=session_id, present=10, absent=2, duration_hours=7.5)
        events = [held, scheduled] if order == "held first" else [scheduled, held]
        async with app.state.rt.transaction() as tx:
            for p in [*events, scheduled]:  # the schedule re-sent after the session, too
                await HANDLERS[ev.spec_for_model(type(p)).topic](tx, new_event(p, subject=aid), p)
        async with app.state.rt.transaction() as tx:
            hours[order] = (await tx.session.execute(sa.select(rm.sessions.c.duration_hours)
                                                     .where(rm.sessions.c.session_id == session_id))).scalar_one()
    await app.state.rt.close()
    assert hours == {"held first": 7.5, "scheduled first": 7.5}


async def test_a_sessions_schedule_is_the_latest_events_whatever_topic_arrives_first(settings):
    """A session scheduled (v1), its programme published (v2, another topic), then moved (v1
    again): read in any of the six orders (a rebuild reads topic by topic), the row is the same —
    the latest event's time and mode, the published agenda. Before the fix a v1 read after the v2
    overwrote the v2's mode (the rebuild test found physical/hybrid flipping)."""
    from itertools import permutations
    app = client("reporting", settings)._transport.app
    aid = await reporting_knows(settings, uuid.uuid4(), "Borgertinget om tidsplanen")
    t0 = datetime(2027, 1, 10, 9, tzinfo=timezone.utc)
    rows = set()
    for order in permutations(range(3)):
        sid = uuid.uuid4()
        common = {"assembly_id": aid, "session_id": sid, "title": "Weekend 1", "phase": "learning",
                  "duration_hours": 7.0}
        first = ev.SessionScheduledV1(**common, mode="physical", starts_at=datetime(2027, 3, 6, 9, tzinfo=timezone.utc))
        published = ev.SessionScheduledV2(
            **common, revision=1, mode="hybrid", starts_at=datetime(2027, 3, 6, 9, tzinfo=timezone.utc), items=[
                ev.AgendaItemV2(item_id=uuid.uuid4(), position=1, phase="learning", title="Oplæg", minutes=90)])
        moved = ev.SessionScheduledV1(**common, mode="hybrid", starts_at=datetime(2027, 3, 13, 9, tzinfo=timezone.utc))
        envs = [new_event(p, subject=aid).model_copy(update={"time": t0.replace(hour=9 + i)})
                for i, p in enumerate((first, published, moved))]
        async with app.state.rt.transaction() as tx:
            for i in order:
                await HANDLERS[envs[i].topic](tx, envs[i], (first, published, moved)[i])
        async with app.state.rt.transaction() as tx:
            r = (await tx.session.execute(sa.select(rm.sessions).where(rm.sessions.c.session_id == sid))).one()
        rows.add((r.mode, r.starts_at, r.programme_revision, tuple(i["title"] for i in r.agenda)))
        assert r.scheduled_by == envs[2].id
    await app.state.rt.close()
    assert rows == {("hybrid", datetime(2027, 3, 13, 9, tzinfo=timezone.utc), 1, ("Oplæg",))}


async def test_a_withdrawal_or_a_close_read_before_what_it_follows_comes_out_the_same(settings):
    """Two more pairs on two topics: a withdrawal read before the registration (the row must still
    get its region and answers) and a ballot's close read before its opening (it must stay closed,
    with the opening's title and members) — in both orders the rows are the same."""
    from pathlib import Path
    examples = Path(ev.__file__).parent / "examples"
    opened0 = ev.BallotOpenedV4.model_validate_json((examples / "voting.ballot-opened.v4.json").read_text())
    closed0 = ev.BallotClosedV2.model_validate_json((examples / "voting.ballot-closed.v2.json").read_text())
    app = client("reporting", settings)._transport.app
    aid = await reporting_knows(settings, uuid.uuid4(), "Borgertinget om rækkefølge igen")
    rows = {}
    for order in ("forwards", "backwards"):
        rid, bid = uuid.uuid4(), uuid.uuid4()
        pairs = [(ev.RespondentRegisteredV1(assembly_id=aid, respondent_id=rid, region="DK01",
                                            features={"gender": "female"}),
                  ev.RespondentWithdrewV1(assembly_id=aid, respondent_id=rid)),
                 (opened0.model_copy(update={"assembly_id": aid, "ballot_id": bid}),
                  closed0.model_copy(update={"assembly_id": aid, "ballot_id": bid}))]
        async with app.state.rt.transaction() as tx:
            for pair in pairs:
                for p in (pair if order == "forwards" else pair[::-1]):
                    await HANDLERS[ev.spec_for_model(type(p)).topic](tx, new_event(p, subject=aid), p)
        async with app.state.rt.transaction() as tx:
            r = (await tx.session.execute(sa.select(rm.respondents).where(rm.respondents.c.respondent_id == rid))).one()
            b = (await tx.session.execute(sa.select(rm.ballots).where(rm.ballots.c.ballot_id == bid))).one()
        rows[order] = (r.region, r.features, r.withdrawn, b.title, b.members, b.closed, b.kind)
    await app.state.rt.close()
    assert rows["forwards"] == rows["backwards"] == (
        "DK01", {"gender": "female"}, True, opened0.title, opened0.members, True, opened0.kind)
