"""Table plans on the real stack: strata from respondent-registered, needs set by staff, a plan for
the roster, a re-plan at live check-in (only those checked in), publishing (table-plan-published
with pseudonymous ids only), the facilitator's page per table, a member's "my table", and the
staff's plan page in the browser."""

from __future__ import annotations

import re
import uuid

import pytest
import sqlalchemy as sa

from tests.integration.staff_browser import browser, csrf
from tests.integration.test_apis import client
from tests.integration.test_sessions_pages import panel

pytestmark = pytest.mark.integration


async def strata(settings, aid: uuid.UUID, members: list[uuid.UUID]) -> None:
    """Sessions hears each member's registration (as its consumer would)."""
    from services.sessions.handlers.tables import HANDLERS
    from shared.events import contracts as ev

    app = client("sessions", settings)._transport.app
    async with app.state.rt.transaction() as tx:
        for i, mid in enumerate(members):
            await HANDLERS["recruitment.respondent-registered.v1"](tx, None, ev.RespondentRegisteredV1(
                assembly_id=aid, respondent_id=mid, region=f"DK0{i % 3 + 1}",
                features={"gender": "fm"[i % 2], "age": ["18-29", "30-44", "45-59", "60+"][i % 4]}))
    await app.state.rt.close()


async def test_plan_replan_at_check_in_publish_and_each_role_sees_its_part(settings, auth):
    aid = uuid.uuid4()
    members = await panel(settings, aid, 30)
    await strata(settings, aid, members)
    async with client("sessions", settings) as api:
        api.auth.know(aid)
        sid = (await api.post(f"/assemblies/{aid}/sessions", json={"title": "Weekend 1",
                                                                    "starts_at": "2027-03-06T09:00:00Z"})).json()["id"]
        r = await api.put(f"/assemblies/{aid}/table-needs", json={"needs": [
            {"member_id": str(members[0]), "language": "en"}, {"member_id": str(members[1]), "language": "en"},
            {"member_id": str(members[2]), "accessible": True}]})
        assert r.status_code == 200 and r.json() == {"members": 3}
        r = await api.put(f"/assemblies/{aid}/table-needs", json={"needs": [{"member_id": str(uuid.uuid4())}]})
        assert r.status_code == 422
        # nobody checked in yet: the planner says what to do
        r = await api.post(f"/sessions/{sid}/table-plan", json={"rounds": 3})
        assert r.status_code == 422 and r.json()["error"]["code"] == "nobody_checked_in", r.text
        r = await api.post(f"/sessions/{sid}/table-plan", json={"rounds": 3, "seat": "roster", "table_size": 6,
                                                               "accessible_tables": 1,
                                                               "keep_apart": [[str(members[3]), str(members[4])]]})
        assert r.status_code == 201, r.text
        assert r.json()["version"] == 1 and r.json()["members"] == 30 and r.json()["tables"] == 5
        plan = (await api.get(f"/sessions/{sid}/table-plan")).json()
        for tables in plan["rounds"]:
            at = {i: t for t, table in enumerate(tables) for i in table}
            assert len(at) == 30 and at[str(members[0])] == at[str(members[1])]  # English together
            assert at[str(members[2])] == 0 and at[str(members[3])] != at[str(members[4])]
        # at the door: 24 checked in, the plan is made again for them
        marks = [{"member_id": str(m), "present": i < 24} for i, m in enumerate(members)]
        assert (await api.post(f"/sessions/{sid}/attendance", json={"records": marks})).status_code == 200
        r = await api.post(f"/sessions/{sid}/table-plan", json={"rounds": 3, "facilitators": 3, "priority": "best"})
        assert r.status_code == 422, r.text
        r = await api.post(f"/sessions/{sid}/table-plan", json={"rounds": 3, "facilitators": 3, "priority": "mix"})
        assert r.status_code == 201 and r.json()["version"] == 2 and r.json()["members"] == 24
        assert r.json()["tables"] == 3
        assert (await api.get(f"/sessions/{sid}/table-plan")).json()["settings"]["priority"] == "mix"
        r = await api.post(f"/sessions/{sid}/table-plan", json={"rounds": 3, "facilitators": 2})
        assert r.status_code == 422 and r.json()["error"]["code"] == "too_few_facilitators"
        r = await api.post(f"/sessions/{sid}/table-plan/publish")
        assert r.status_code == 200 and r.json()["version"] == 2
        assert (await api.post(f"/sessions/{sid}/table-plan/publish")).status_code == 409
    # the event: ids only, and no needs
    app = client("sessions", settings)._transport.app
    from services.sessions import models as m

    async with app.state.rt.transaction() as tx:
        rows = (await tx.session.execute(sa.select(m.outbox.c.envelope).where(
            m.outbox.c.topic == "sessions.table-plan-published.v1", m.outbox.c.key == str(aid)))).all()
        assert len(rows) == 1
        body = rows[0].envelope["payload"]
        assert body["version"] == 2 and len(body["rounds"]) == 3
        assert sorted(i for t in body["rounds"][0] for i in t) == sorted(str(x) for x in members[:24])
        assert "language" not in str(body) and "accessible" not in str(body)
        await tx.session.execute(sa.delete(m.outbox).where(m.outbox.c.key == str(aid)))
    await app.state.rt.close()

    # a facilitator's phone page: one table per round; a member's own table
    async with await browser("sessions", settings, auth, "facilitator", aid) as web:
        page = await web.get(f"/sessions/{sid}/tables?table=2&lang=en")
        assert page.status_code == 200 and "Round 3" in page.text and "Table 2" in page.text
        assert "Table 1 " not in page.text
        assert (await web.get(f"/sessions/{sid}/tables/plan")).status_code == 403
    async with await browser("sessions", settings, auth, "member", aid, member_id=members[5]) as web:
        page = await web.get(f"/sessions/{sid}/my-table?lang=en")
        assert page.status_code == 200 and page.text.count("Round ") == 3 and "Table " in page.text
    async with await browser("sessions", settings, auth, "member", aid, member_id=members[29]) as web:
        page = await web.get(f"/sessions/{sid}/my-table?lang=en")
        assert "You do not have a table" in page.text  # not checked in: left out


async def test_the_secretariat_plans_and_publishes_in_the_browser(settings, auth):
    aid = uuid.uuid4()
    members = await panel(settings, aid, 14)
    await strata(settings, aid, members)
    async with client("sessions", settings) as api:
        sid = (await api.post(f"/assemblies/{aid}/sessions", json={"title": "Weekend 2",
                                                                    "starts_at": "2027-04-10T09:00:00Z"})).json()["id"]
    async with await browser("sessions", settings, auth, "organiser", aid) as web:
        form = await web.get(f"/sessions/{sid}/tables/plan?lang=en")
        assert form.status_code == 200 and "Make the plan" in form.text
        token = csrf(form)
        bad = await web.post(f"/sessions/{sid}/tables/plan?lang=en", data={
            "csrf_token": token, "seat": "roster", "rounds": "40", "languages": "99 en", "keep_apart": "1 1",
            "priority": "best"})
        assert bad.status_code == 422
        for words in ("Enter a whole number", "Write one member per line", "Write one pair per line",
                      "Choose what comes first"):
            assert words in bad.text, words
        r = await web.post(f"/sessions/{sid}/tables/plan?lang=en", data={
            "csrf_token": token, "seat": "roster", "rounds": "2", "table_size": "7", "languages": "1 en\n2 en",
            "accessible": "3", "accessible_tables": "1", "keep_apart": "4 5", "priority": "mix"})
        assert r.status_code == 303, r.text
        page = await web.get(r.headers["location"] + "&lang=en")
        assert "The table plan is made" in page.text and "Publish version 1" in page.text
        assert 'value="mix" checked' in page.text  # the priority as chosen, kept for the next plan
        assert "1 en\n2 en" in page.text  # the needs as set, kept for the next plan
        r = await web.post(f"/sessions/{sid}/tables/publish?lang=en", data={"csrf_token": csrf(page)})
        assert r.status_code == 303
        page = await web.get(f"/sessions/{sid}/tables?lang=en")
        assert "Round 2" in page.text and "Table 2" in page.text
        assert f'href="/sessions/{sid}/tables/print"' in page.text
        # the print view: one sheet (a printed page) per table and round, every member once a round
        page = await web.get(f"/sessions/{sid}/tables/print?lang=en")
        assert page.status_code == 200 and "Table plan to print" in page.text
        sheets = re.findall(r'<section class="bt-sheet".*?</section>', page.text, re.S)
        assert len(sheets) == 4 and "Round 1 · Table 1" in sheets[0] and "Round 2 · Table 2" in sheets[3]
        for r in (0, 2):
            seated = sorted(re.findall(r"Member (\d+)</span>", sheets[r] + sheets[r + 1]), key=int)
            assert seated == [str(n) for n in range(1, 15)]
    app = client("sessions", settings)._transport.app
    from services.sessions import models as m

    async with app.state.rt.transaction() as tx:
        await tx.session.execute(sa.delete(m.outbox).where(m.outbox.c.key == str(aid)))
    await app.state.rt.close()
