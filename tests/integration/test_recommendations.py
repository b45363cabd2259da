"""The recommendations workspace on the real stack: a table's draft, members' amendments accepted
(a new version with its diff) or rejected, a revision, two similar drafts merged (both histories
kept), a minority statement, and the secretariat freezing the final list: the
recommendations-finalised event in sessions' outbox carries each text with its SHA-256."""

from __future__ import annotations

import hashlib
import uuid

import httpx
import pytest
import sqlalchemy as sa

from services.sessions import models as sm
from shared.events.envelope import Envelope
from tests.integration.test_apis import client

pytestmark = pytest.mark.integration


def ok(r: httpx.Response, status: int = 200) -> dict:
    assert r.status_code == status, r.text
    return r.json()


async def outbox(sessionmaker, aid: uuid.UUID, type_: str) -> list[Envelope]:
    async with sessionmaker() as s:
        rows = (await s.execute(sa.select(sm.outbox.c.envelope).where(
            sm.outbox.c.envelope["subject"].astext == str(aid), sm.outbox.c.envelope["type"].astext == type_))).all()
    return [Envelope.model_validate(r[0]) for r in rows]


async def workspace(settings, auth, aid: uuid.UUID, n: int = 3) -> list[str]:
    """`n` drafts by members of tables 1..n, the first amended, revised and merged with the last;
    returns the open drafts' ids."""
    member = auth.headers("member", aid, member_id=uuid.uuid4())
    async with client("sessions", settings) as c:
        c.auth.know(aid)
        ids = [ok(await c.post(f"/assemblies/{aid}/drafts", headers=member, json={
            "group": f"Table {i}", "title": f"Recommendation {i}", "text": f"We recommend **{i}**.\n\nSecond line.",
            "rationale": f"Because {i}."}), 201)["id"] for i in range(1, n + 1)]
        amendment = ok(await c.post(f"/drafts/{ids[0]}/amendments", headers=member, json={
            "text": "We recommend **one**.\n\nSecond line.", "reason": "clearer"}), 201)["id"]
        other = ok(await c.post(f"/drafts/{ids[0]}/amendments", headers=member, json={
            "text": "We do not recommend it.", "reason": "no"}), 201)["id"]
        assert ok(await c.post(f"/amendments/{amendment}/decision", json={"accept": True}))["version"] == 2
        r = await c.post(f"/amendments/{other}/decision", json={"accept": True})
        assert r.status_code == 409 and r.json()["error"]["code"] == "amendment_outdated"
        assert ok(await c.post(f"/amendments/{other}/decision", json={"accept": False, "note": "see v2"}))["version"] is None
        if n > 2:
            ok(await c.post(f"/drafts/{ids[0]}/minority-statements", headers=member,
                            json={"text": "A minority wants an EU-wide price first."}), 201)
            ok(await c.post(f"/drafts/{ids[-1]}/minority-statements", headers=member,
                            json={"text": "Statement on the merged draft."}), 201)
            assert ok(await c.post(f"/drafts/{ids[0]}/merge", json={
                "others": [ids[-1]], "title": "Recommendation 1 and 3", "text": "We recommend **one** and three.",
                "rationale": "Because 1 and 3."}))["version"] == 3
            ids = ids[:-1]
    return ids


async def test_drafts_amendments_merge_and_the_frozen_list(settings, auth, sessionmaker):
    aid = uuid.uuid4()
    ids = await workspace(settings, auth, aid)
    member = auth.headers("member", aid, member_id=uuid.uuid4())
    async with client("sessions", settings) as c:
        c.auth.know(aid)
        d = ok(await c.get(f"/drafts/{ids[0]}", headers=member))
        assert [v["cause"] for v in d["versions"]] == ["drafted", "amendment", "merge"]
        assert {"kind": "removed", "text": "We recommend **1**."} in d["versions"][1]["diff"]
        assert {"kind": "added", "text": "We recommend **one**."} in d["versions"][1]["diff"]
        assert "<strong>one</strong>" in d["versions"][2]["html"]
        assert [a["status"] for a in d["amendments"]] == ["accepted", "rejected"]
        assert len(d["minority_statements"]) == 2 and len(d["merged_from"]) == 1
        merged = ok(await c.get(f"/drafts/{d['merged_from'][0]['id']}"))
        assert merged["status"] == "merged" and merged["merged_into"] == ids[0] and len(merged["versions"]) == 1
        r = await c.post(f"/drafts/{merged['id']}/amendments", headers=member, json={"text": "x", "reason": "y"})
        assert r.status_code == 409 and r.json()["error"]["code"] == "draft_merged"
        r = await c.post(f"/assemblies/{aid}/drafts", headers=member, json={"group": "T", "title": "<b>", "text": " "})
        assert r.status_code == 422 and "text" in r.text
        # Markdown is sanitised: no script survives, raw HTML is shown as text.
        x = ok(await c.post(f"/assemblies/{aid}/drafts", json={
            "group": "T", "title": "X", "text": "<script>alert(1)</script> [a](javascript:alert(1))"}), 201)["id"]
        html = ok(await c.get(f"/drafts/{x}"))["versions"][0]["html"]
        assert "<script" not in html and "javascript:" not in html.replace("[a](javascript:alert(1))", "")

        r = await c.post(f"/assemblies/{aid}/recommendations/finalise", json={"drafts": [ids[1], ids[0], ids[0]]})
        assert r.status_code == 422
        f = ok(await c.post(f"/assemblies/{aid}/recommendations/finalise", json={"drafts": [ids[1], ids[0]]}), 201)
        assert f["recommendations"] == 2
        r = await c.post(f"/assemblies/{aid}/recommendations/finalise", json={"drafts": [ids[1]]})
        assert r.status_code == 409 and r.json()["error"]["code"] == "list_frozen"
        r = await c.post(f"/drafts/{ids[0]}/amendments", headers=member, json={"text": "x", "reason": "y"})
        assert r.status_code == 409 and r.json()["error"]["code"] == "list_frozen"
        final = ok(await c.get(f"/assemblies/{aid}/recommendations/final", headers=member))
    [env] = await outbox(sessionmaker, aid, "recommendations-finalised")
    p = env.payload
    assert str(p["list_id"]) == final["list_id"] == str(f["list_id"]) and p["list_sha256"] == f["list_sha256"]
    assert [r["recommendation_id"] for r in p["recommendations"]] == [ids[1], ids[0]]
    first = p["recommendations"][1]
    assert first["title"] == "Recommendation 1 and 3" and first["version"] == 3
    assert first["text_sha256"] == hashlib.sha256(first["text"].encode()).hexdigest()
    assert [s["text"] for s in first["minority_statements"]] == ["A minority wants an EU-wide price first.",
                                                                "Statement on the merged draft."]
    assert "member" not in str(p)  # no member ids in the event
    drafted = await outbox(sessionmaker, aid, "recommendation-drafted")
    amended = await outbox(sessionmaker, aid, "recommendation-amended")
    assert len(drafted) == 4 and [e.payload["cause"] for e in amended] == ["amendment", "merge"]


async def test_finalised_list_to_final_ballot_to_report_with_the_trial_left_out(settings, auth, sessionmaker):
    """Sessions freezes the list -> voting opens the final ballot from its event (one question per
    recommendation, bound to its text hash) beside a trial ballot -> both are voted and closed ->
    reporting, from the events alone, shows the final ballot's support beside each full text,
    rationale and minority statement, and nothing of the trial in the results."""
    from services.reporting import handlers as rh
    from services.reporting import models as rm
    from services.voting import handlers as vh
    from services.voting import models as vm
    from services.voting.app import SPEC as VOTING
    from services.voting.client import VotingClient
    from shared.bus.outbox import transaction
    from shared.events import contracts as ev
    from shared.events.envelope import new_event
    from shared.runtime import build_app

    aid, members, session_id = uuid.uuid4(), [uuid.uuid4() for _ in range(4)], uuid.uuid4()
    ids = await workspace(settings, auth, aid)
    async with client("sessions", settings) as c:
        ok(await c.post(f"/assemblies/{aid}/recommendations/finalise", json={"drafts": ids}), 201)
    [finalised] = await outbox(sessionmaker, aid, "recommendations-finalised")
    final_payload = ev.RecommendationsFinalisedV1.model_validate(finalised.payload)

    async def apply(models, handlers, topic, payload):
        async with transaction(sessionmaker, models.outbox, models.audit) as tx:
            await handlers[topic](tx, new_event(payload, subject=aid), payload)

    await apply(vm, vh.HANDLERS, "sortition.panel-drawn.v1", ev.PanelDrawnV1(
        assembly_id=aid, panel_id=uuid.uuid4(), algorithm="t", members=members, pool_size=4))
    for mid in members:
        await apply(vm, vh.HANDLERS, "sessions.attendance-recorded.v1", ev.AttendanceRecordedV1(
            assembly_id=aid, session_id=session_id, member_id=mid, present=True))
    org = auth.headers("organiser", aid)
    app = build_app(VOTING, "api", settings.model_copy(update={"voting_flush_seconds": 0.01}))
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                                                   base_url="http://t") as voting:
        r = await voting.post(f"/assemblies/{aid}/final-ballot", json={"threshold": 0.7}, headers=org)
        assert r.status_code == 409 and r.json()["error"]["code"] == "no_final_list"  # not heard of yet
        await apply(vm, vh.HANDLERS, "sessions.recommendations-finalised.v1", final_payload)
        final = ok(await voting.post(f"/assemblies/{aid}/final-ballot", json={"threshold": 0.7}, headers=org), 201)
        assert final["kind"] == "final" and final["list_id"] == str(final_payload.list_id)
        assert [q["text"] for q in final["definition"]["questions"]] == [r.title for r in final_payload.recommendations]
        r = await voting.post(f"/assemblies/{aid}/final-ballot", json={}, headers=org)
        assert r.status_code == 409 and r.json()["error"]["code"] == "final_ballot_exists"
        trial = ok(await voting.post(f"/assemblies/{aid}/ballots", headers=org, json={
            "title": "Straw poll", "recommendations": ["Trial question"]}), 201)
        assert trial["kind"] == "trial"
        vc = VotingClient(voting)
        for b, choice in ((final, "yes"), (trial, "no")):
            ballot = await vc.ballot(b["id"])
            tokens = [await vc.get_token(ballot, headers=auth.headers("member", aid, member_id=m)) for m in members]
            await vc.open_voting(ballot, headers=org)
            for i, t in enumerate(tokens):
                await vc.vote(ballot, {q: (choice if i < 3 else "abstain") for q in ballot.question_ids}, t)
            ok(await voting.post(f"/ballots/{b['id']}/close", headers=org))
    async with sessionmaker() as s:
        envs = [Envelope.model_validate(r[0]) for r in (await s.execute(sa.select(vm.outbox.c.envelope).where(
            vm.outbox.c.envelope["subject"].astext == str(aid)).order_by(vm.outbox.c.id))).all()]
    wanted = {"voting.ballot-opened.v4", "voting.vote-cast.v2", "voting.results-tallied.v3"}
    assert wanted <= {e.topic for e in envs}
    opened = [e for e in envs if e.topic == "voting.ballot-opened.v4"]
    assert sorted(e.payload["kind"] for e in opened) == ["final", "trial"]
    [fo] = [e for e in opened if e.payload["kind"] == "final"]
    assert [x["text_sha256"] for x in fo.payload["recommendations"]] == [
        r.text_sha256 for r in final_payload.recommendations]

    # Reporting, from the events (the trial's count first: tallies may overtake openings).
    created = ev.AssemblyCreatedV1(assembly_id=aid, name="Klima", panel_size=4,
                                   regions=[ev.RegionV1(code="N", name="North", population=10)], strata=[])
    await apply(rm, rh.HANDLERS, "recruitment.assembly-created.v1", created)
    for e in sorted((e for e in envs if e.topic in wanted), key=lambda e: e.topic != "voting.results-tallied.v3"):
        spec = ev.spec_for_topic(e.topic)
        payload = spec.model.model_validate(e.payload)
        async with transaction(sessionmaker, rm.outbox, rm.audit) as tx:
            await rh.HANDLERS[e.topic](tx, e, payload)
    await apply(rm, rh.HANDLERS, "sessions.recommendations-finalised.v1", final_payload)
    async with client("reporting", settings) as c:
        summary = ok(await c.get(f"/assemblies/{aid}/summary"))
        report = (await c.get(f"/assemblies/{aid}/report?lang=en")).text
    assert summary["votes_cast"] == 4 and summary["trial_votes_cast"] == 4 and summary["trial_ballots"] == 1
    assert summary["recommendations"] == 2 and summary["recommendations_passed"] == 2
    assert [r["recommendation"] for r in summary["results"]] == [r.title for r in final_payload.recommendations]
    assert "Trial question" not in str(summary["results"]) and "Trial question" not in report
    fl = summary["final_list"]["recommendations"]
    assert [r["result"]["yes"] for r in fl] == [3, 3] and all(r["result"]["passed"] for r in fl)
    assert "<strong>one</strong> and three" in report and "Because 1 and 3." in report
    assert "A minority wants an EU-wide price first." in report and fl[0]["text_sha256"] in report


async def test_the_workspace_in_the_browser_member_and_secretariat(settings, auth, sessionmaker):
    """A member drafts and amends in the portal's pages, the secretariat accepts the amendment and
    freezes the list through its forms; forms need their CSRF token and say what to fix."""
    import re

    from tests.integration.staff_browser import browser, csrf, error_code

    aid = uuid.uuid4()
    member = await browser("sessions", settings, auth, "member", aid)
    staff = await browser("sessions", settings, auth, "organiser", aid)
    async with member, staff:
        page = await member.get(f"/assemblies/{aid}/recommendations")
        assert page.status_code == 200 and "Ingen udkast endnu." in page.text
        assert "Lås den endelige liste" not in page.text  # members do not freeze the list
        form = {"group": "Bord 2", "title": "Flere cykelstier", "text": "Byg **cykelstier**.", "rationale": ""}
        r = await member.post(f"/assemblies/{aid}/recommendations", data=form)
        assert r.status_code == 403 and error_code(r) == "csrf_failed"
        r = await member.post(f"/assemblies/{aid}/recommendations?lang=en",
                              data={**form, "csrf_token": csrf(page), "text": "  "})
        assert r.status_code == 422 and "Write the recommendation&#39;s text" in r.text
        r = await member.post(f"/assemblies/{aid}/recommendations", data={**form, "csrf_token": csrf(page)})
        assert r.status_code == 303, r.text
        draft_url = r.headers["location"].split("?")[0]
        page = await member.get(f"{draft_url}?lang=da")
        assert "<strong>cykelstier</strong>" in page.text and "Udkastet er gemt" not in page.text
        r = await member.post(f"{draft_url}/amendments", data={
            "csrf_token": csrf(page), "amendment_text": "Byg **cykelstier** i hele landet.", "reason": "Bredere"})
        assert r.status_code == 303
        r = await member.post(f"{draft_url}/minority-statements", data={
            "csrf_token": csrf(page), "statement": "Et mindretal vil hellere have busser."})
        assert r.status_code == 303

        page = await staff.get(draft_url)
        assert "Bredere" in page.text and "i hele landet." in page.text and "<ins>" in page.text
        [amendment] = re.findall(r'/amendments/([0-9a-f-]{36})/decide', page.text)
        r = await staff.post(f"/amendments/{amendment}/decide", data={"csrf_token": csrf(page)})
        assert r.status_code == 422
        r = await staff.post(f"/amendments/{amendment}/decide", data={"csrf_token": csrf(page), "decision": "accept"})
        assert r.status_code == 303 and r.headers["location"].endswith("done=accepted")
        page = await staff.get(draft_url)
        assert "version 2" in page.text and "Ændringsforslag godkendt" in page.text

        page = await staff.get(f"/assemblies/{aid}/recommendations/final-list")
        draft_id = draft_url.rsplit("/", 1)[1]
        r = await staff.post(f"/assemblies/{aid}/recommendations/final-list", data={
            "csrf_token": csrf(page), f"include-{draft_id}": "true", f"position-{draft_id}": "1"})
        assert r.status_code == 422 and "Jeg har kontrolleret listen" in r.text  # the confirmation
        r = await staff.post(f"/assemblies/{aid}/recommendations/final-list", data={
            "csrf_token": csrf(page), f"include-{draft_id}": "true", f"position-{draft_id}": "1", "confirm": "true"})
        assert r.status_code == 303
        page = await member.get(f"/assemblies/{aid}/recommendations/final-list?lang=da")
        assert "i hele landet." in page.text and "Listens SHA-256" in page.text
        page = await member.get(f"{draft_url}?lang=da")
        assert "Den endelige liste er låst" in page.text and "Foreslå ændringen" not in page.text
    [env] = await outbox(sessionmaker, aid, "recommendations-finalised")
    [rec] = env.payload["recommendations"]
    assert rec["text"] == "Byg **cykelstier** i hele landet." and rec["version"] == 2
    assert [s["text"] for s in rec["minority_statements"]] == ["Et mindretal vil hellere have busser."]
