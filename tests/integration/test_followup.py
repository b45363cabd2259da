"""Follow-up of the recommendations (issue 14): the secretariat records the authority's response
to an adopted recommendation and the updates on carrying it out (API and form), each kept with its
date, audited and announced as an event; anyone reads them on the public follow-up page; members
see in their portal that an answer arrived."""

from __future__ import annotations

import uuid

import httpx
import pytest
import sqlalchemy as sa

from services.reporting import models as rm
from services.reporting.handlers import HANDLERS
from shared.events import contracts as ev
from tests.integration.staff_browser import browser, csrf
from tests.integration.test_apis import client
from tests.integration.test_pages import reporting_knows

pytestmark = pytest.mark.integration


async def adopted(settings, name: str) -> tuple[uuid.UUID, uuid.UUID]:
    """An assembly whose final ballot adopted q1 ("Plant more trees") and rejected q2."""
    aid, bid = await reporting_knows(settings, uuid.uuid4(), name), uuid.uuid4()
    app = client("reporting", settings)._transport.app
    results = [ev.QuestionResultV2(question_id=q, text=t, type="yes_no_abstain", recommendation=True,
                                   counts={"yes": y, "no": 10 - y, "abstain": 0}, cast=10, valid=10, support=y,
                                   base=10, threshold=">= 7/10 of valid_votes", passed=y >= 7)
               for q, t, y in (("q1", "Plant more trees", 8), ("q2", "Ban cars", 3))]
    async with app.state.rt.transaction() as tx:
        await HANDLERS["voting.results-tallied.v2"](tx, None, ev.ResultsTalliedV2(
            assembly_id=aid, ballot_id=bid, ballots_cast=10, members=12, quorum_met=True, questions=results))
    await app.state.rt.close()
    return aid, bid


def answer(bid, **kw) -> dict:
    return {"ballot_id": str(bid), "question_id": "q1", "response": "partly", "implementation": "in_progress",
            "reasoning": "The ministry plants half of the trees asked for.", "responsible_body": "Ministry of Environment",
            "answered_on": "2027-09-15", "deadline": "2028-06-30", "links": ["https://example.org/plan"], **kw}


async def test_the_secretariat_records_responses_that_anyone_reads_on_the_follow_up_page(settings, auth):
    aid, bid = await adopted(settings, "Borgertinget om træer")
    async with client("reporting", settings) as api:
        r = await api.post(f"/assemblies/{aid}/responses", json=answer(bid))
        assert r.status_code == 201, r.text
        first = r.json()["response_id"]
        r = await api.post(f"/assemblies/{aid}/responses", json=answer(
            bid, response="accepted", implementation="implemented", answered_on="2027-12-01",
            reasoning="All the trees are planted."))
        assert r.status_code == 201, r.text
        # refused, each with a message that says what to fix
        bad = await api.post(f"/assemblies/{aid}/responses", json=answer(
            bid, reasoning=" ", links=["javascript:alert(1)"], responsible_body=""))
        assert bad.status_code == 422 and {d["field"] for d in bad.json()["error"]["details"]} == {
            "reasoning", "links", "responsible_body"}
        late = await api.post(f"/assemblies/{aid}/responses", json=answer(bid, deadline="2027-01-01"))
        assert late.status_code == 422 and "deadline" in late.text
        for other in (answer(bid, question_id="q2"), answer(uuid.uuid4())):  # not adopted / not a ballot here
            r = await api.post(f"/assemblies/{aid}/responses", json=other)
            assert r.status_code == 404 and "adopted recommendation not found" in r.text
        app = api._transport.app
        async with app.state.rt.transaction() as tx:
            trail = (await tx.session.execute(sa.select(rm.audit.c.action, rm.audit.c.object_id)
                                              .where(rm.audit.c.assembly_id == aid))).all()
            events = [e for (e,) in await tx.session.execute(sa.select(rm.outbox.c.envelope).where(
                rm.outbox.c.key == str(aid), rm.outbox.c.topic == "reporting.recommendation-response-recorded.v1"))]
        assert [a for a, _ in trail] == ["recommendation.response_recorded"] * 2 and str(trail[0][1]) == first
        assert len(events) == 2 and events[0]["payload"]["response"] == "partly"
        assert ev.RecommendationResponseRecordedV1.model_validate(events[1]["payload"]).implementation == "implemented"
        await app.state.rt.close()
    async with client("reporting", settings, auth=httpx.Auth()) as anyone:  # no token
        page = await anyone.get(f"/assemblies/{aid}/followup?lang=en")
        assert page.status_code == 200 and "Borgertinget om træer" in page.text
        assert "Plant more trees" in page.text and "Ban cars" not in page.text  # only what was adopted
        assert page.text.index("All the trees are planted.") < page.text.index("plants half of the trees")  # newest first
        assert "Accepted" in page.text and "Implemented" in page.text and "Ministry of Environment" in page.text
        assert 'href="https://example.org/plan"' in page.text and "1 / 1" in page.text
        assert "Record a response" not in page.text  # the form is for the secretariat
        da = await anyone.get(f"/assemblies/{aid}/followup?lang=da")
        assert "Opfølgning på anbefalingerne" in da.text and "Godkendt" in da.text  # "Accepted", shared with amendments
        assert (await anyone.post(f"/assemblies/{aid}/responses", json=answer(bid))).status_code == 401
    async with await browser("reporting", settings, auth, "member", aid) as member:
        portal = await member.get(f"/assemblies/{aid}/portal?lang=en")
        assert "The authority has answered 1 of the recommendations, most recently on" in portal.text
        assert f'/assemblies/{aid}/followup"' in portal.text


async def test_the_form_records_a_response_and_says_what_to_fix(settings, auth):
    aid, bid = await adopted(settings, "Borgertinget om søer")
    async with await browser("reporting", settings, auth, "organiser", aid) as web:
        form = await web.get(f"/assemblies/{aid}/followup/record?lang=en&rec={bid}:q1")
        assert form.status_code == 200 and f'value="{bid}:q1" selected' in form.text
        assert 'type="radio"' in form.text and " checked" not in form.text  # nothing pre-chosen
        token = csrf(form)
        r = await web.post(f"/assemblies/{aid}/followup/record", data={
            "csrf_token": token, "recommendation": f"{bid}:q1", "answered_on": "15-09-2027", "links": "not a link"})
        assert r.status_code == 422
        for message in ("Choose the authority&#39;s response", "Write the authority&#39;s reasoning",
                        "Name the body responsible", "Enter the date of the answer as YYYY-MM-DD",
                        "Enter up to 10 web addresses"):
            assert message in r.text, message
        r = await web.post(f"/assemblies/{aid}/followup/record", data={
            "csrf_token": token, "recommendation": f"{bid}:q1", "response": "under_consideration",
            "reasoning": "The municipality will decide in the spring.", "responsible_body": "Aarhus Municipality",
            "answered_on": "2027-10-01", "deadline": "", "links": ""})
        assert r.status_code == 303 and r.headers["location"] == f"/assemblies/{aid}/followup?recorded=1"
        page = await web.get(r.headers["location"] + "&lang=en")
        assert "The response is recorded." in page.text and "Under consideration" in page.text
        assert "0 / 1" in page.text  # under consideration is not an answer yet
        assert "Record a response to recommendation 1" in page.text
    async with await browser("reporting", settings, auth, "auditor", aid) as web:
        assert (await web.get(f"/assemblies/{aid}/followup/record")).status_code == 403
