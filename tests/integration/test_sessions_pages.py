"""Sessions' staff screens in the browser, in-process on the real stack: the calendar, scheduling
a session (local Danish time), the attendance sheet a facilitator fills in on a phone, closing a
session as held after a confirmation; each page for its roles only, bad input answered in the
chosen language, CSRF refused without the form's token."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
import sqlalchemy as sa

from tests.integration.staff_browser import browser, csrf, error_code
from tests.integration.test_apis import client

pytestmark = pytest.mark.integration


async def panel(settings, aid: uuid.UUID, n: int = 3) -> list[uuid.UUID]:
    """Sessions hears that a panel of `n` was drawn (its handler, as the consumer would call it)."""
    from services.sessions.handlers import HANDLERS
    from shared.events import contracts as ev

    members = [uuid.uuid4() for _ in range(n)]
    app = client("sessions", settings)._transport.app
    drawn = ev.PanelDrawnV1(assembly_id=aid, panel_id=uuid.uuid4(), algorithm="t", members=members, pool_size=n)
    async with app.state.rt.transaction() as tx:
        await HANDLERS["sortition.panel-drawn.v1"](tx, None, drawn)
    await app.state.rt.close()
    return members


GOOD = {"title": "Weekend 1", "date": "2027-03-06", "time": "09:30", "duration_hours": "6,5", "mode": "physical",
        "phase": "learning"}


async def test_the_secretariat_schedules_sessions_into_the_calendar(settings, auth):
    aid = uuid.uuid4()
    web = await browser("sessions", settings, auth, "organiser", aid)
    async with web:
        page = await web.get(f"/assemblies/{aid}/calendar")
        assert page.status_code == 200 and "Der er endnu ikke planlagt nogen møder" in page.text
        form = await web.get(f"/assemblies/{aid}/calendar/new")
        assert form.status_code == 200 and 'type="date"' in form.text and "checked" not in form.text
        token = csrf(form)
        r = await web.post(f"/assemblies/{aid}/calendar/new", data=GOOD)
        assert r.status_code == 403 and error_code(r) == "csrf_failed"
        r = await web.post(f"/assemblies/{aid}/calendar/new?lang=en",
                           data={"csrf_token": token, "title": "", "date": "6/3", "time": "25:00", "duration_hours": "0"})
        assert r.status_code == 422
        for words in ("Enter the session&#39;s title", "Enter the date as year-month-day", "Enter the start time",
                      "Enter the duration in hours", "Choose where the session takes place", "Choose the session&#39;s phase"):
            assert words in r.text, words
        r = await web.post(f"/assemblies/{aid}/calendar/new?lang=da", data={**GOOD, "csrf_token": token})
        assert r.status_code == 303 and r.headers["location"] == f"/assemblies/{aid}/calendar?done=scheduled"
        await web.post(f"/assemblies/{aid}/calendar/new", data={**GOOD, "csrf_token": token, "title": "Weekend 2",
                                                                "date": "2027-04-10", "mode": "hybrid", "phase": "values"})
        page = await web.get(r.headers["location"])
        assert "Mødet er planlagt" in page.text and "Marts 2027" in page.text and "April 2027" in page.text
        assert "Lørdag 6. marts, 09.30" in page.text and "6,5 timer" in page.text and "Læring" in page.text
        assert "På stedet og online" in page.text
        en = await web.get(f"/assemblies/{aid}/calendar?lang=en")
        assert "Saturday 6 March, 9:30" in en.text and "At the venue" in en.text
    # stored in UTC, as the API serves it (09:30 in Copenhagen in March is 08:30 UTC)
    async with client("sessions", settings) as api:
        agenda = (await api.get(f"/assemblies/{aid}/sessions")).json()
    assert agenda[0]["starts_at"].startswith("2027-03-06T08:30") and agenda[0]["duration_hours"] == 6.5
    async with client("sessions", settings, auth=httpx.Auth()) as other:
        for role, path, status in (("facilitator", "/new", 403), ("auditor", "/new", 403),
                                   ("registrar", "", 403), ("auditor", "", 200), ("facilitator", "", 200)):
            r = await other.get(f"/assemblies/{aid}/calendar{path}", headers=auth.headers(role, aid))
            assert r.status_code == status, (role, path, r.status_code)
        r = await other.get(f"/assemblies/{aid}/calendar", headers=auth.headers("organiser", uuid.uuid4()))
        assert r.status_code == 404 and "Siden findes ikke" in r.text


async def test_a_facilitator_records_attendance_then_closes_the_session_after_confirming(settings, auth):
    aid = uuid.uuid4()
    members = await panel(settings, aid, 3)
    async with client("sessions", settings) as api:
        sid = (await api.post(f"/assemblies/{aid}/sessions", json={"title": "Weekend 1",
                                                                   "starts_at": "2027-03-06T08:30:00Z"})).json()["id"]
    web = await browser("sessions", settings, auth, "facilitator", aid)
    async with web:
        sheet = await web.get(f"/sessions/{sid}/check-in")
        assert sheet.status_code == 200 and sheet.text.count('type="radio"') == 6 and "checked" not in sheet.text
        assert f'href="/sessions/assemblies/{aid}/calendar"' in sheet.text  # the assembly's menu, on a session's page
        token = csrf(sheet)
        first, second, third = sorted(members, key=str)
        marks = {f"m_{first}": "present", f"m_{second}": "absent"}
        assert (await web.post(f"/sessions/{sid}/check-in", data=marks)).status_code == 403
        r = await web.post(f"/sessions/{sid}/check-in?lang=en", data={"csrf_token": token, f"m_{uuid.uuid4()}": "present"})
        assert r.status_code == 422 and "Mark at least one member as present or absent" in r.text
        r = await web.post(f"/sessions/{sid}/check-in?lang=da", data={"csrf_token": token, **marks})
        assert r.status_code == 303 and r.headers["location"] == f"/sessions/{sid}/check-in?saved=2"
        sheet = await web.get(r.headers["location"])
        assert "Fremmøde gemt: 2 markeret" in sheet.text
        assert re.search(rf'name="m_{first}" value="present" checked', sheet.text)
        assert re.search(rf'name="m_{second}" value="absent" checked', sheet.text)
        assert not re.search(rf'name="m_{third}" value="\w+" checked', sheet.text)
        confirm = await web.get(f"/sessions/{sid}/close")
        assert confirm.status_code == 200 and "Det kan ikke fortrydes" in confirm.text
        assert "Ikke markeret: 1" in confirm.text
        assert (await web.post(f"/sessions/{sid}/close")).status_code == 403
        r = await web.post(f"/sessions/{sid}/close", data={"csrf_token": token})
        assert r.status_code == 303 and r.headers["location"] == f"/assemblies/{aid}/calendar?done=held"
        page = await web.get(r.headers["location"])
        assert "Mødet er afsluttet som afholdt" in page.text and "1 til stede, 1 markeret fraværende (33 %)" in page.text
        assert f'href="/sessions/{sid}/check-in"' in page.text and f'href="/sessions/{sid}/close"' not in page.text
        assert f'href="/sessions/{sid}/tables"' in page.text  # the facilitators' table plan, from the calendar
        table = (await web.get(f"/assemblies/{aid}/attendance.csv?lang=en")).text.lstrip("\ufeff").splitlines()
        assert table[0] == "Session,Starts at,Duration in hours,Phase,Where,Held,present,absent"
        assert table[1] == "Weekend 1,2027-03-06T08:30:00+00:00,6.0,Learning,At the venue,Yes,1,1"
        # closed: the sheet says so; a late change needs a reason, and is a correction (audited)
        assert "Dette møde er afsluttet" in (await web.get(f"/sessions/{sid}/check-in?lang=da")).text
        r = await web.post(f"/sessions/{sid}/check-in?lang=en", data={"csrf_token": token, f"m_{third}": "present"})
        assert r.status_code == 422 and "Choose a reason" in r.text
        assert re.search(rf'name="m_{third}" value="present" checked', r.text)  # the choice stays
        r = await web.post(f"/sessions/{sid}/check-in?lang=en", data={
            "csrf_token": token, f"m_{first}": "present", "reason": "mistake"})
        assert r.status_code == 422 and "Change at least one member&#39;s mark" in r.text
        r = await web.post(f"/sessions/{sid}/check-in?lang=en", data={
            "csrf_token": token, f"m_{first}": "present", f"m_{third}": "present", "reason": "other", "note": ""})
        assert r.status_code == 422 and "Write the reason" in r.text
        r = await web.post(f"/sessions/{sid}/check-in", data={
            "csrf_token": token, f"m_{first}": "present", f"m_{third}": "present", "reason": "was_there"})
        assert r.status_code == 303 and r.headers["location"] == f"/sessions/{sid}/check-in?saved=1&corrected=1"
        page = await web.get(r.headers["location"] + "&lang=en")
        assert "1 mark changed after the close" in page.text
        assert re.search(rf'name="m_{third}" value="present" checked', page.text)
        page = await web.get(f"/sessions/{sid}/corrections?lang=en")
        assert "Was there, but not checked in" in page.text and "the audit trail records that it came after" in page.text
        r = await web.post(f"/sessions/{sid}/close?lang=da", data={"csrf_token": token})
        assert r.status_code == 409 and "Det kan ikke lade sig gøre lige nu" in r.text
    async with client("sessions", settings) as api:
        assert (await api.get(f"/assemblies/{aid}/sessions")).json()[0]["held"] is True
    from services.sessions import models as m

    app = client("sessions", settings)._transport.app
    async with app.state.rt.transaction() as tx:
        audit = (await tx.session.execute(sa.select(m.audit.c.details).where(
            m.audit.c.assembly_id == aid, m.audit.c.action == "attendance.corrected"))).scalars().all()
    await app.state.rt.close()
    assert audit == [{"member": str(third), "from": None, "to": True, "reason": "was_there", "after_close": True}]
    async with client("sessions", settings, auth=httpx.Auth()) as other:
        for role in ("auditor", "registrar"):
            r = await other.get(f"/sessions/{sid}/check-in", headers=auth.headers(role, aid))
            assert r.status_code == 403 and error_code(r) == "forbidden"
        r = await other.get(f"/sessions/{sid}/check-in", headers=auth.headers("facilitator", uuid.uuid4()))
        assert r.status_code == 404
        r = await other.get(f"/sessions/{uuid.uuid4()}/close", headers=auth.headers("organiser", aid))
        assert r.status_code == 404 and "<html" in r.text
