"""Check-in on the real stack: a member's personal code from the portal checks them in at the door
(typed as a facilitator would, in any case and without the hyphen), twice is harmless, a wrong
code is answered in words; a member checks themselves in online once staff open it; staff correct
a mark with a reason (audited without the note); codes never travel in a path or query."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
import sqlalchemy as sa

from tests.integration.staff_browser import browser, csrf
from tests.integration.test_apis import client
from tests.integration.test_sessions_pages import panel

pytestmark = pytest.mark.integration


async def _outbox(settings, aid, topic: str) -> list[dict]:
    from services.sessions import models as m

    app = client("sessions", settings)._transport.app
    async with app.state.rt.transaction() as tx:
        rows = (await tx.session.execute(sa.select(m.outbox.c.envelope).where(
            m.outbox.c.topic == topic, m.outbox.c.key == str(aid)))).all()
    await app.state.rt.close()
    return [r.envelope["payload"] for r in rows]


async def _audit(settings, aid) -> list:
    from services.sessions import models as m

    app = client("sessions", settings)._transport.app
    async with app.state.rt.transaction() as tx:
        rows = (await tx.session.execute(sa.select(m.audit.c.action, m.audit.c.details).where(
            m.audit.c.assembly_id == aid))).all()
    await app.state.rt.close()
    return rows


async def test_check_in_by_code_online_and_a_correction_with_a_reason(settings, auth):
    aid = uuid.uuid4()
    members = await panel(settings, aid, 3)
    first, second, third = sorted(members, key=str)  # numbered 1, 2, 3 on the sheet
    async with client("sessions", settings) as api:
        sid = (await api.post(f"/assemblies/{aid}/sessions", json={
            "title": "Weekend 1", "starts_at": "2027-03-06T08:30:00Z"})).json()["id"]
        online = (await api.post(f"/assemblies/{aid}/sessions", json={
            "title": "Evening online", "starts_at": "2027-03-10T17:00:00Z", "mode": "digital"})).json()["id"]
    async with client("sessions", settings, auth=httpx.Auth()) as other:
        mine = (await other.get(f"/assemblies/{aid}/my-check-in-code",
                                headers=auth.headers("member", aid, member_id=str(first)))).json()
        theirs = (await other.get(f"/assemblies/{aid}/my-check-in-code",
                                  headers=auth.headers("member", aid, member_id=str(second)))).json()
        r = await other.get(f"/assemblies/{uuid.uuid4()}/my-check-in-code",
                            headers=auth.headers("member", aid, member_id=str(first)))
        assert r.status_code == 404
    code = mine["code"]
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}", code) and theirs["code"] != code
    assert mine["url"].endswith(f"/sessions/assemblies/{aid}/door#{code}")  # the code only in the fragment

    # the member's page: the QR code and the code under it; online check-in not open yet
    async with await browser("sessions", settings, auth, "member", aid, member_id=first) as web:
        page = await web.get(f"/assemblies/{aid}/my-check-in?lang=en")
        assert page.status_code == 200 and '<svg role="img" viewBox' in page.text and code in page.text
        assert "Online check-in opens 30 minutes before the start" in page.text and "Evening online" in page.text
        token = csrf(page)
        r = await web.post(f"/sessions/{online}/check-in/online", data={"csrf_token": token})
        assert r.status_code == 409
        r = await web.post(f"/sessions/{sid}/check-in/online", data={"csrf_token": token})
        assert r.status_code == 409  # at the venue only

    async with await browser("sessions", settings, auth, "facilitator", aid) as web:
        door = await web.get(f"/sessions/{sid}/door")
        assert door.status_code == 200 and 'id="code"' in door.text and "Tjekket ind: 0 af 3" in door.text
        token = csrf(door)
        typed = code.lower().replace("-", " ")
        r = await web.post(f"/sessions/{sid}/door", data={"csrf_token": token, "code": typed})
        assert r.status_code == 303 and r.headers["location"] == f"/sessions/{sid}/door?in=1"
        page = await web.get(r.headers["location"] + "&lang=en")
        assert "Member 1 is checked in" in page.text and "Checked in: 1 of 3" in page.text
        r = await web.post(f"/sessions/{sid}/door", data={"csrf_token": token, "code": mine["url"]})
        assert r.headers["location"] == f"/sessions/{sid}/door?in=1&again=1"  # scanned: the whole address
        r = await web.post(f"/sessions/{sid}/door?lang=en", data={"csrf_token": token, "code": "ABCDE-FGHJK"})
        assert r.status_code == 422 and "No member of this assembly has this code" in r.text
        r = await web.post(f"/sessions/{sid}/door?lang=da", data={"csrf_token": token, "code": "hello"})
        assert r.status_code == 422 and "En tjek ind-kode har 10 bogstaver og tal" in r.text
        sheet = await web.get(f"/sessions/{sid}/check-in")
        assert re.search(rf'name="m_{first}" value="present" checked', sheet.text)

        # online: the facilitator opens it, the member checks in from the portal
        r = await web.post(f"/sessions/{online}/door/online", data={"csrf_token": token})
        assert r.status_code == 303
        assert (await web.post(f"/sessions/{sid}/door/online", data={"csrf_token": token})).status_code == 409

        # a correction needs a reason, and a note for "other"
        form = await web.get(f"/sessions/{sid}/corrections?lang=en")
        r = await web.post(f"/sessions/{sid}/corrections?lang=en", data={
            "csrf_token": token, "member": "9", "present": "absent", "reason": "other"})
        assert r.status_code == 422 and "Write the member&#39;s number" in r.text and "Write the reason" in r.text
        assert form.status_code == 200
        r = await web.post(f"/sessions/{sid}/corrections", data={
            "csrf_token": token, "member": "1", "present": "absent", "reason": "other", "note": "scanned the wrong phone"})
        assert r.status_code == 303
        page = await web.get(f"/sessions/{sid}/corrections?done=1&lang=en")
        assert "The mark is corrected" in page.text and "scanned the wrong phone" in page.text
        r = await web.post(f"/sessions/{sid}/corrections?lang=en", data={
            "csrf_token": token, "member": "1", "present": "absent", "reason": "mistake"})
        assert r.status_code == 409 and "already marked absent" in r.text

    async with await browser("sessions", settings, auth, "member", aid, member_id=second) as web:
        page = await web.get(f"/assemblies/{aid}/my-check-in?lang=en")
        r = await web.post(f"/sessions/{online}/check-in/online", data={"csrf_token": csrf(page)})
        assert r.status_code == 303 and r.headers["location"] == f"/assemblies/{aid}/my-check-in?done=online"
        page = await web.get(r.headers["location"] + "&lang=en")
        assert "You are checked in" in page.text and "Checked in" in page.text

    async with client("sessions", settings) as api:
        api.auth.know(aid)  # /sessions/{id}/... carries no assembly in its path
        r = await api.post(f"/sessions/{sid}/attendance-corrections", json={
            "member_id": str(third), "present": True, "reason": "was_there"})
        assert r.status_code == 201 and r.json() == {"member_id": str(third), "present_before": None, "present": True}, r.text
        r = await api.post(f"/sessions/{sid}/check-ins", json={"code": theirs["code"]})
        assert r.status_code == 200 and r.json() == {"member_id": str(second), "already": False}
        r = await api.post(f"/sessions/{sid}/held")
        assert r.json()["present"] == 2 and r.json()["absent"] == 1
        r = await api.post(f"/sessions/{sid}/check-ins", json={"code": code})
        assert r.status_code == 409 and r.json()["error"]["code"] == "session_held"

    arrivals = await _outbox(settings, aid, "sessions.member-checked-in.v1")
    assert sorted((a["member_id"], a["how"]) for a in arrivals) == sorted(
        [(str(first), "code"), (str(second), "online"), (str(third), "correction"), (str(second), "code")])
    audit = await _audit(settings, aid)
    corrected = [d for a, d in audit if a == "attendance.corrected"]
    assert corrected[0] == {"member": str(first), "from": True, "to": False, "reason": "other"}
    assert "wrong phone" not in str(audit)


async def test_drop_outs_by_the_rule_the_replacement_request_and_the_composition_chart(settings, auth):
    from services.sessions.domain.checkin import checkin_code
    from services.sessions.handlers.dropout import HANDLERS
    from shared.events import contracts as ev
    from tests.integration.test_tables import strata

    aid = uuid.uuid4()
    members = await panel(settings, aid, 4)
    await strata(settings, aid, members)  # genders f, m, f, m
    app = client("sessions", settings)._transport.app
    async with app.state.rt.transaction() as tx:
        await HANDLERS["recruitment.assembly-created.v1"](tx, None, ev.AssemblyCreatedV1(
            assembly_id=aid, name="t", panel_size=4, regions=[{"code": "DK01", "name": "Hovedstaden", "population": 1}],
            strata=[{"category": "gender", "quotas": [{"value": "f", "min": 2, "max": 2}, {"value": "m", "min": 2, "max": 2}]}]))
    await app.state.rt.close()
    one, two, three, four = members  # numbered by id on the pages
    async with client("sessions", settings) as api:
        api.auth.know(aid)
        sids = [(await api.post(f"/assemblies/{aid}/sessions", json={
            "title": f"Weekend {i}", "starts_at": f"2027-0{3 + i}-06T08:30:00Z"})).json()["id"] for i in (1, 2)]
        for sid, here in zip(sids, ([one, two, three], [one, two])):
            for mid in here:
                code = checkin_code(settings.secret_key.encode(), aid, mid)  # as the member's portal shows it
                assert (await api.post(f"/sessions/{sid}/check-ins", json={"code": code})).status_code == 200
            assert (await api.post(f"/sessions/{sid}/held")).status_code == 200
        body = (await api.get(f"/assemblies/{aid}/attendance")).json()
        assert body["missed_in_a_row"] == 2 and body["sessions_held"] == sids
        assert body["dropouts"] == [str(four)] and body["at_risk"] == [str(three)]
        r = await api.post(f"/assemblies/{aid}/replacement-requests", json={"members": [str(three)]})
        assert r.status_code == 422 and r.json()["error"]["code"] == "not_a_dropout"

    web = await browser("sessions", settings, auth, "organiser", aid)
    async with web:
        page = await web.get(f"/assemblies/{aid}/drop-outs?lang=en")
        assert page.status_code == 200 and page.text.count('<svg') == 1 and "Outside the quota" in page.text
        assert f'value="{four}"' in page.text and f'value="{three}"' not in page.text  # only drop-outs to choose
        assert "Gender" in page.text and "Quota 50 %–50 %" in page.text  # the chart's description
        token = csrf(page)
        r = await web.post(f"/assemblies/{aid}/drop-outs/replace?lang=en", data={"csrf_token": token, "member": str(four)})
        assert r.status_code == 422 and "confirm that you have checked" in r.text
        r = await web.post(f"/assemblies/{aid}/drop-outs/replace", data={
            "csrf_token": token, "member": str(four), "confirm": "yes"})
        assert r.status_code == 303 and r.headers["location"] == f"/assemblies/{aid}/drop-outs?done=requested"
        page = await web.get(r.headers["location"] + "&lang=en")
        assert "The replacements are requested" in page.text and "Replacement requested" in page.text
        r = await web.post(f"/assemblies/{aid}/drop-outs/replace", data={
            "csrf_token": token, "member": str(four), "confirm": "yes"})
        assert r.status_code == 409
        r = await web.post(f"/assemblies/{aid}/drop-outs/rule", data={"csrf_token": token, "missed_in_a_row": "0"})
        assert r.status_code == 422
        r = await web.post(f"/assemblies/{aid}/drop-outs/rule", data={"csrf_token": token, "missed_in_a_row": "1"})
        assert r.status_code == 303
        csv = (await web.get(f"/assemblies/{aid}/member-attendance.csv?lang=en")).text.lstrip("\ufeff").splitlines()
        assert csv[0] == "Member,Member id,Session 1,Session 2,Attended,Missed,Missed in a row,Replacement requested"
        assert f",{three},present,absent,1,1,1,No" in "\n".join(csv) and f",{four},absent,absent,0,2,2,Yes" in "\n".join(csv)
    async with await browser("sessions", settings, auth, "facilitator", aid) as web:
        page = await web.get(f"/assemblies/{aid}/drop-outs")
        assert page.status_code == 200 and 'name="member"' not in page.text  # facilitators see, do not decide
        r = await web.post(f"/assemblies/{aid}/drop-outs/replace", data={"csrf_token": csrf(page), "member": str(four),
                                                                          "confirm": "yes"})
        assert r.status_code == 403
    async with client("sessions", settings) as api:
        body = (await api.get(f"/assemblies/{aid}/attendance")).json()
        assert body["missed_in_a_row"] == 1 and sorted(body["dropouts"]) == sorted([str(three), str(four)])
    [request] = await _outbox(settings, aid, "sessions.replacement-requested.v1")
    assert request == {"assembly_id": str(aid), "session_id": sids[1], "members": [str(four)], "missed_in_a_row": 2}


async def test_sortition_draws_the_replacement_sessions_requested(settings, auth):
    """Sortition's consumer of replacement-requested starts a replacement on the verifiable path."""
    from services.sortition.app import SPEC
    from services.sortition.domain import commitment
    from services.sortition.handlers import HANDLERS
    from shared.events import contracts as ev
    from shared.events.envelope import new_event
    from shared.runtime import build_app
    from tests.integration.test_sortition_service import outbox, seed_pool, wait_job

    a = build_app(SPEC, "api", settings)
    async with a.router.lifespan_context(a):  # the job worker runs, as in the api process
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=a), base_url="http://test") as c:
            rt = a.state.rt
            aid, _people = await seed_pool(rt, n=60, seed=41)  # its own ids: respondent ids are global (not test_sortition_service's seeds)
            org = auth.headers("organiser", aid)
            await c.post(f"/assemblies/{aid}/seed-commitments", json={"name": "o", "commitment": commitment("s")},
                         headers=org)
            assert (await c.post(f"/assemblies/{aid}/pool/freeze", headers=org,
                                 json={"lottery_size": 50, "reserves": 4})).status_code == 201
            await c.post(f"/assemblies/{aid}/seed-reveals", json={"name": "o", "value": "s"}, headers=org)
            r = await c.post(f"/assemblies/{aid}/draws", json={"legacy_samples": 0}, headers=org)
            done, _ = await wait_job(c, r.json()["id"], org)
            assert done["status"] == "succeeded", done["error"]
            panel = (await c.get(f"/assemblies/{aid}/panel", headers=org)).json()["members"]
            gone = uuid.UUID(panel[0])
            p = ev.ReplacementRequestedV1(assembly_id=aid, session_id=uuid.uuid4(), members=[gone, uuid.uuid4()],
                                          missed_in_a_row=2)
            async with rt.transaction() as tx:
                await HANDLERS["sessions.replacement-requested.v1"](tx, new_event(p, subject=aid), p)
            [job] = [j for j in (await c.get(f"/assemblies/{aid}/draw-jobs", headers=org)).json()
                     if j["kind"] == "replacement"]
            done, _ = await wait_job(c, job["id"], org)
            assert done["status"] == "succeeded", done["error"]
            [drawn] = await outbox(rt, "sortition.replacement-drawn.v1", aid)
            assert drawn["payload"]["dropped"] == [str(gone)] and len(drawn["payload"]["added"]) == 1
            # a second request while nothing is left to replace changes nothing
            async with rt.transaction() as tx:
                await HANDLERS["sessions.replacement-requested.v1"](tx, new_event(p, subject=aid), p)
            assert [j["kind"] for j in (await c.get(f"/assemblies/{aid}/draw-jobs", headers=org)).json()].count(
                "replacement") == 1
            # requests stay listed for the secretariat: two at once, so the second (a member declining
            # in the portal) cannot start while the first's job is under way, and waits on the page
            now = (await c.get(f"/assemblies/{aid}/panel", headers=org)).json()["members"]
            p1 = ev.ReplacementRequestedV1(assembly_id=aid, session_id=uuid.uuid4(), members=[uuid.UUID(now[0])],
                                           missed_in_a_row=3)
            p2 = ev.PlaceDeclinedV1(assembly_id=aid, member_id=uuid.UUID(now[1]))
            async with rt.transaction() as tx:
                await HANDLERS["sessions.replacement-requested.v1"](tx, new_event(p1, subject=aid), p1)
                await HANDLERS["recruitment.place-declined.v1"](tx, new_event(p2, subject=aid), p2)
            jobs = [j for j in (await c.get(f"/assemblies/{aid}/draw-jobs", headers=org)).json()
                    if j["kind"] == "replacement"]
            assert len(jobs) == 2
            for j in jobs:
                done, _ = await wait_job(c, j["id"], org)
                assert done["status"] == "succeeded", done["error"]
    async with await browser("sortition", settings, auth, "organiser", aid) as web:
        page = await web.get(f"/assemblies/{aid}/draw/replacements?lang=en")
        assert "Requests waiting for the secretariat: 1" in page.text and "Missed 3 sessions in a row" in page.text
        assert "Declined their place in the portal" in page.text and page.text.count(">Replaced</span>") == 2
        rid = re.search(r"/draw/replacements\?request=([0-9a-f-]{36})", page.text).group(1)
        page = await web.get(f"/assemblies/{aid}/draw/replacements?request={rid}&lang=en")
        assert re.search(rf'value="{now[1]}" checked', page.text) and page.text.count(" checked") == 1
        # the panel page: the secretariat chooses alternates for drop-outs from the form
        page = await web.get(f"/assemblies/{aid}/draw/panel?lang=en")
        assert 'id="alternates-form"' in page.text and "gender: female" in page.text and "region: S" in page.text
        token = csrf(page)
        r = await web.post(f"/assemblies/{aid}/draw/alternates?lang=en", data={
            "csrf_token": token, "count": "0", "rate_0": "120"})
        assert r.status_code == 422
        for words in ("Enter how many alternates", "Enter a drop-out rate in per cent", "Tick the box to confirm"):
            assert words in r.text, words
        r = await web.post(f"/assemblies/{aid}/draw/alternates?lang=en", data={"csrf_token": token, "count": "2",
                                                                               "confirm": "true"})
        assert r.status_code == 422 and "Give at least one group a drop-out rate above 0" in r.text
        r = await web.post(f"/assemblies/{aid}/draw/alternates", data={
            "csrf_token": token, "count": "3", "rate_2": "20", "rate_4": "10,5", "scenarios": "10", "confirm": "true"})
        assert r.status_code == 303 and r.headers["location"] == f"/assemblies/{aid}/draw/panel?done=alternates"
        page = await web.get(r.headers["location"] + "&lang=en")
        assert "The alternates are chosen" in page.text and "Alternates chosen for drop-outs" in page.text
        assert "age: 18-39</th>" in page.text and "age: 65+</th>" in page.text  # the rates table
    async with await browser("sortition", settings, auth, "facilitator", aid) as web:
        page = await web.get(f"/assemblies/{aid}/draw/panel")
        assert page.status_code == 200 and "alternates-form" not in page.text
        r = await web.post(f"/assemblies/{aid}/draw/alternates", data={"csrf_token": csrf(page), "count": "1"})
        assert r.status_code == 403
