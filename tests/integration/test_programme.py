"""The programme over the API on the real stack: a session's venues and online link, its agenda
by phase with speakers and documents (files and links, each with its SHA-256), experts with their
declarations, publishing the programme as session-scheduled v2, members reading it and asking for
a witness, the secretariat answering; every refusal a clear 4xx."""

from __future__ import annotations

import hashlib
import uuid

import httpx
import pytest
import sqlalchemy as sa

from shared.events.envelope import Envelope, new_event
from tests.integration.test_apis import assert_error, client

pytestmark = pytest.mark.integration


async def _session(api, auth, aid, mode="hybrid") -> str:
    r = await api.post(f"/assemblies/{aid}/sessions", headers=auth.headers("organiser", aid),
                       json={"title": "Weekend 1", "starts_at": "2027-03-06T08:00:00Z", "mode": mode, "phase": "learning"})
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def test_the_secretariat_builds_a_programme_and_members_read_it(settings, auth, engine):
    aid = uuid.uuid4()
    org = auth.headers("organiser", aid)
    member_id = uuid.uuid4()
    mem = auth.headers("member", aid, member_id=member_id)
    async with client("sessions", settings, auth=httpx.Auth()) as api:
        sid = await _session(api, auth, aid)
        # where: a hybrid session needs a venue and a link
        assert_error(await api.put(f"/sessions/{sid}/setting", headers=org, json={"venues": [], "capacity": 60}),
                     422, "needs at least one venue")
        assert_error(await api.put(f"/sessions/{sid}/setting", headers=org, json={
            "venues": [{"region": "Hovedstaden", "venue": "Bella Center"}], "online_url": "javascript:x"}),
            422, "must be a web address")
        r = await api.put(f"/sessions/{sid}/setting", headers=org, json={
            "venues": [{"region": "Hovedstaden", "venue": "Bella Center"}, {"region": "Nordjylland", "venue": "AKKC"}],
            "online_url": "https://meet.example.org/w1", "capacity": 80})
        assert r.status_code == 200 and [x["region"] for x in r.json()["venues"]] == ["Hovedstaden", "Nordjylland"]
        # experts and stakeholders
        expert = (await api.post(f"/assemblies/{aid}/experts", headers=org, json={
            "name": "Karen Holm", "affiliation": "Klimarådet", "interests": "None"})).json()["id"]
        farmer = (await api.post(f"/assemblies/{aid}/experts", headers=org, json={
            "kind": "stakeholder", "name": "Landbrug & Fødevarer", "affiliation": "Trade association",
            "interests": "Represents farmers"})).json()["id"]
        assert_error(await api.post(f"/assemblies/{aid}/experts", headers=org, json={"name": "X", "affiliation": "Y"}),
                     422)
        # the agenda
        assert_error(await api.post(f"/sessions/{sid}/agenda-items", headers=org, json={
            "phase": "learning", "title": "Talk", "minutes": 45, "speaker_ids": [str(uuid.uuid4())]}),
            422, "not experts or stakeholders of this assembly")
        assert_error(await api.post(f"/sessions/{sid}/agenda-items", headers=org, json={
            "phase": "brunch", "title": "Talk", "minutes": 0}), 422)
        assert_error(await api.post(f"/sessions/{sid}/publish", headers=org), 404)
        assert_error(await api.post(f"/sessions/{sid}/agenda/publish", headers=org), 409, "the agenda is empty")
        talk = (await api.post(f"/sessions/{sid}/agenda-items", headers=org, json={
            "phase": "learning", "title": "What drives emissions", "minutes": 45, "speaker_ids": [expert]})).json()["id"]
        hearing = (await api.post(f"/sessions/{sid}/agenda-items", headers=org, json={
            "phase": "hearing", "title": "Hearing: farmers", "minutes": 60, "speaker_ids": [farmer]})).json()["id"]
        extra = (await api.post(f"/sessions/{sid}/agenda-items", headers=org, json={
            "phase": "values", "title": "Values", "minutes": 30})).json()["id"]
        r = await api.put(f"/agenda-items/{extra}", headers=org, json={
            "phase": "values", "title": "What matters to us", "minutes": 30, "position": 1})
        assert r.status_code == 200, r.text
        # documents: a file (its bytes' checksum) and a link (its text's)
        brief = b"%PDF-1.4 briefing"
        r = await api.post(f"/agenda-items/{talk}/files", headers=org, data={"kind": "briefing", "title": "Briefing"},
                           files={"file": ("../brief.pdf", brief, "application/pdf")})
        assert r.status_code == 201 and r.json()["sha256"] == hashlib.sha256(brief).hexdigest(), r.text
        doc = r.json()["id"]
        assert_error(await api.post(f"/agenda-items/{talk}/files", headers=org, data={"kind": "briefing", "title": "Big"},
                                    files={"file": ("big.pdf", b"x" * (5 * 2**20 + 1))}), 413, "larger than 5 MiB")
        assert_error(await api.post(f"/agenda-items/{talk}/files", headers=org, data={"kind": "poster"}), 422, "kind")
        assert_error(await api.post(f"/agenda-items/{talk}/files", headers=org, json={}), 415)
        r = await api.post(f"/agenda-items/{hearing}/documents", headers=org,
                           json={"kind": "video", "title": "Recording", "url": "https://video.example.org/h1"})
        assert r.status_code == 201 and len(r.json()["sha256"]) == 64
        gone = (await api.post(f"/agenda-items/{hearing}/documents", headers=org,
                               json={"title": "Old", "url": "https://video.example.org/old"})).json()["id"]
        assert (await api.delete(f"/documents/{gone}", headers=org)).status_code == 204
        assert_error(await api.get(f"/documents/{gone}", headers=mem), 404, "document not found")
        # members read the programme, the documents' checksums and the online link
        prog = (await api.get(f"/assemblies/{aid}/agenda", headers=mem)).json()
        (s,) = prog["sessions"]
        assert [i["title"] for i in s["items"]] == ["What matters to us", "What drives emissions", "Hearing: farmers"]
        assert [i["position"] for i in s["items"]] == [1, 2, 3]
        assert s["items"][1]["speakers"][0]["name"] == "Karen Holm" and s["online_url"] == "https://meet.example.org/w1"
        assert [d["title"] for d in s["items"][2]["documents"]] == ["Recording"]
        assert s["items"][1]["documents"][0]["filename"] == "brief.pdf"
        assert prog["hours_by_phase"] == {"learning": 0.75, "hearing": 1.0, "values": 0.5}
        meta = (await api.get(f"/documents/{doc}", headers=mem)).json()
        assert meta["size"] == len(brief) and meta["media_type"] == "application/pdf" and "content" not in meta
        experts = (await api.get(f"/assemblies/{aid}/experts", headers=mem)).json()
        assert {e["name"]: [i["title"] for i in e["items"]] for e in experts} == {
            "Karen Holm": ["What drives emissions"], "Landbrug & Fødevarer": ["Hearing: farmers"]}
        # publishing: session-scheduled v2 with the agenda, a new revision each time
        assert (await api.post(f"/sessions/{sid}/agenda/publish", headers=org)).json()["revision"] == 1
        assert (await api.delete(f"/agenda-items/{extra}", headers=org)).status_code == 204
        assert_error(await api.put(f"/agenda-items/{extra}", headers=org, json={
            "phase": "values", "title": "x", "minutes": 3}), 404, "agenda item not found")
        assert (await api.post(f"/sessions/{sid}/agenda/publish", headers=org)).json()["revision"] == 2
        # a member asks for a witness; the secretariat sees it and answers once
        assert_error(await api.post(f"/assemblies/{aid}/witness-requests", headers=mem, json={"wanted": ""}), 422)
        r = await api.post(f"/assemblies/{aid}/witness-requests", headers=mem, json={
            "wanted": "A fisher from Thyborøn", "reason": "We heard no one from the coast", "session_id": sid})
        assert r.status_code == 201, r.text
        wid = r.json()["id"]
        other = await api.post(f"/assemblies/{aid}/witness-requests", headers=mem, json={
            "wanted": "x", "reason": "y", "session_id": str(uuid.uuid4())})
        assert_error(other, 404, "session not found")
        listed = (await api.get(f"/assemblies/{aid}/witness-requests", headers=org)).json()
        assert [x["wanted"] for x in listed] == ["A fisher from Thyborøn"] and "member_id" not in listed[0]
        someone_else = auth.headers("member", aid, member_id=uuid.uuid4())
        assert (await api.get(f"/assemblies/{aid}/witness-requests", headers=someone_else)).json() == []
        r = await api.post(f"/witness-requests/{wid}/answer", headers=org, json={"status": "accepted",
                                                                                "answer": "Invited for weekend 2"})
        assert r.status_code == 200
        assert_error(await api.post(f"/witness-requests/{wid}/answer", headers=org, json={"status": "declined"}),
                     409, "already accepted")
        mine = (await api.get(f"/assemblies/{aid}/witness-requests", headers=mem)).json()
        assert mine[0]["status"] == "accepted" and mine[0]["answer"] == "Invited for weekend 2"
        # once held, the programme is the record
        assert (await api.post(f"/sessions/{sid}/held", headers=org)).status_code in (200, 409)
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.text(
            "SELECT envelope FROM sessions.outbox WHERE topic = 'sessions.session-scheduled.v2' AND key = :a "
            "ORDER BY id"), {"a": str(aid)})).scalars().all()
    assert len(rows) == 2
    first, second = (Envelope.model_validate(x) for x in rows)
    assert first.payload["revision"] == 1 and len(first.payload["items"]) == 3 and len(second.payload["items"]) == 2
    assert first.payload["online"] is True and "meet.example.org" not in str(first.payload)  # the link stays private
    assert second.payload["items"][0]["speakers"][0]["name"] == "Karen Holm"
    assert second.payload["items"][0]["documents"][0]["sha256"] == hashlib.sha256(brief).hexdigest()
    assert [d["title"] for d in second.payload["items"][1]["documents"]] == ["Recording"]


async def test_a_held_sessions_agenda_no_longer_changes(settings, auth):
    from tests.integration.test_sessions_pages import panel

    aid = uuid.uuid4()
    org = auth.headers("organiser", aid)
    await panel(settings, aid, 2)
    async with client("sessions", settings, auth=httpx.Auth()) as api:
        sid = await _session(api, auth, aid, mode="digital")
        item = (await api.post(f"/sessions/{sid}/agenda-items", headers=org, json={
            "phase": "learning", "title": "Talk", "minutes": 45})).json()["id"]
        assert (await api.post(f"/sessions/{sid}/held", headers=org)).status_code == 200
        assert_error(await api.post(f"/sessions/{sid}/agenda-items", headers=org, json={
            "phase": "learning", "title": "Late", "minutes": 5}), 409, "can no longer change")
        assert_error(await api.delete(f"/agenda-items/{item}", headers=org), 409, "can no longer change")
        assert_error(await api.put(f"/sessions/{sid}/setting", headers=org, json={"online_url": "https://m.org/x"}),
                     409, "was held")


async def _registered(settings, aid, member_id, region: str) -> None:
    """Sessions hears a member's registration (their region), as the consumer would call it."""
    from services.sessions.handlers.tables import HANDLERS
    from shared.events import contracts as ev

    app = client("sessions", settings)._transport.app
    async with app.state.rt.transaction() as tx:
        await HANDLERS["recruitment.respondent-registered.v1"](tx, None, ev.RespondentRegisteredV1(
            assembly_id=aid, respondent_id=member_id, region=region, features={}))
    await app.state.rt.close()


async def test_the_programme_in_the_browser_secretariat_and_member(settings, auth):
    """The secretariat builds a hybrid session's programme from the pages (venues per region, the
    link, an expert, an item with a speaker, a file and a link with their checksums) and publishes
    it; a member of one region sees their venue only, the link, the agenda and the documents, and
    asks for a witness, whom the secretariat accepts. Bad input is answered beside the field."""
    from tests.integration.staff_browser import browser, csrf, error_code
    from tests.integration.test_sessions_pages import panel

    aid = uuid.uuid4()
    members = await panel(settings, aid, 2)
    await _registered(settings, aid, members[0], "DK05")
    async with client("sessions", settings, auth=httpx.Auth()) as api:
        sid = await _session(api, auth, aid)
        later = await _session(api, auth, aid, mode="digital")
    staff = await browser("sessions", settings, auth, "organiser", aid)
    member = await browser("sessions", settings, auth, "member", aid, member_id=members[0])
    async with staff, member:
        page = await staff.get(f"/assemblies/{aid}/programme?lang=da")
        assert page.status_code == 200 and "Weekend 1" in page.text and "Ikke offentliggjort" in page.text
        assert f'href="/sessions/{sid}/programme"' in page.text
        page = await staff.get(f"/sessions/{sid}/programme?lang=en")
        assert page.status_code == 200 and "The agenda is empty." in page.text and "DK05" in page.text
        token = csrf(page)
        # where: a hybrid session needs a venue and the link; a row needs both region and venue
        r = await staff.post(f"/sessions/{sid}/programme/setting", data={"csrf_token": token, "region_0": "DK01",
                                                                        "online_url": "ftp://x", "capacity": "0"})
        assert r.status_code == 422
        for words in ("Enter the venue&#39;s name and address", "Enter a web address starting with https://",
                      "Enter the number of seats"):
            assert words in r.text, words
        r = await staff.post(f"/sessions/{sid}/programme/setting", data={"csrf_token": token})
        assert r.status_code == 422 and "needs at least one venue" in r.text
        r = await staff.post(f"/sessions/{sid}/programme/setting", data={
            "csrf_token": token, "region_0": "DK01", "venue_0": "Bella Center, København", "region_1": "DK05",
            "venue_1": "Aalborg Kongres & Kultur Center", "online_url": "https://meet.example.org/w1", "capacity": "80"})
        assert r.status_code == 303 and r.headers["location"] == f"/sessions/{sid}/programme?done=setting"
        # an expert and a stakeholder
        r = await staff.post(f"/assemblies/{aid}/programme/experts?lang=en", data={"csrf_token": token})
        assert r.status_code == 422 and "Choose expert or stakeholder" in r.text and "write none" in r.text
        for kind, name in (("expert", "Karen Holm"), ("stakeholder", "Danmarks Fiskeriforening")):
            r = await staff.post(f"/assemblies/{aid}/programme/experts", data={
                "csrf_token": token, "kind": kind, "name": name, "affiliation": "Klimarådet",
                "interests": "Ingen" if kind == "expert" else "Taler for fiskerne"})
            assert r.status_code == 303, r.text
        experts = (await api_get(settings, auth, aid, f"/assemblies/{aid}/experts"))
        karen = next(e["id"] for e in experts if e["name"] == "Karen Holm")
        # an item with a speaker
        r = await staff.post(f"/sessions/{sid}/programme/items?lang=en", data={
            "csrf_token": token, "phase": "brunch", "title": "", "minutes": "0", "speakers": karen})
        assert r.status_code == 422
        for words in ("Choose the item&#39;s phase", "Enter a title", "Enter the minutes as a whole number"):
            assert words in r.text, words
        assert f'value="{karen}" checked' in r.text  # the ticked speaker stays ticked
        r = await staff.post(f"/sessions/{sid}/programme/items", data={
            "csrf_token": token, "phase": "learning", "title": "Hvad driver udledningerne?", "minutes": "45",
            "speakers": [karen, str(uuid.uuid4())]})
        assert r.status_code == 303
        prog = await api_get(settings, auth, aid, f"/sessions/{sid}/agenda")
        (item,) = prog["items"]
        assert [x["name"] for x in item["speakers"]] == ["Karen Holm"]
        # its documents: a file (checksum of its bytes) and a link
        edit = f"/agenda-items/{item['id']}"
        page = await staff.get(f"{edit}/edit?lang=en")
        assert page.status_code == 200 and 'enctype="multipart/form-data"' in page.text
        brief = "Baggrund om udledninger".encode() * 10
        r = await staff.post(f"{edit}/upload", data={"csrf_token": token, "file_kind": "briefing", "file_title": "Baggrund"},
                             files={"file": ("baggrund æ.pdf", brief, "application/pdf")})
        assert r.status_code == 303 and r.headers["location"] == f"{edit}/edit?done=document"
        r = await staff.post(f"{edit}/upload?lang=en", data={"csrf_token": token, "file_kind": "briefing",
                                                             "file_title": "Big"},
                             files={"file": ("big.pdf", b"x" * (5 * 2**20 + 1))})
        assert r.status_code == 413 and "larger than 5 MiB" in r.text
        r = await staff.post(f"{edit}/upload?lang=en", data={"csrf_token": token, "file_title": "No file"})
        assert r.status_code == 422 and "Choose a file" in r.text and "Choose the kind of document" in r.text
        r = await staff.post(f"{edit}/links?lang=en", data={"csrf_token": token, "link_kind": "video",
                                                            "link_title": "Optagelse", "url": "javascript:alert(1)"})
        assert r.status_code == 422 and "Enter a web address starting with https://" in r.text
        r = await staff.post(f"{edit}/links", data={"csrf_token": token, "link_kind": "video", "link_title": "Optagelse",
                                                    "url": "https://video.example.org/w1"})
        assert r.status_code == 303
        page = await staff.get(f"{edit}/edit?lang=en")
        assert hashlib.sha256(brief).hexdigest() in page.text and "https://video.example.org/w1" in page.text
        r = await staff.post(f"{edit}/remove?lang=en", data={"csrf_token": token})
        assert r.status_code == 422 and "Tick the box to confirm" in r.text
        # publishing: members see it from now on
        r = await staff.post(f"/sessions/{later}/programme/publish?lang=en", data={"csrf_token": token})
        assert r.status_code == 409 and "the agenda is empty" in r.text
        r = await staff.post(f"/sessions/{sid}/programme/publish", data={"csrf_token": token})
        assert r.status_code == 303 and r.headers["location"] == f"/sessions/{sid}/programme?done=published"
        assert "Version 1, published" in (await staff.get(f"/sessions/{sid}/programme?lang=en")).text
        # when: the session moves to another day and time (members see it; session-scheduled says it again)
        r = await staff.post(f"/sessions/{sid}/programme/when?lang=en", data={
            "csrf_token": token, "date": "2027-13-01", "time": "25:00", "duration_hours": "0"})
        assert r.status_code == 422
        for words in ("Enter the date as year-month-day", "Enter the start time", "Enter the duration in hours"):
            assert words in r.text, words
        r = await staff.post(f"/sessions/{sid}/programme/when", data={
            "csrf_token": token, "date": "2027-03-13", "time": "10.30", "duration_hours": "6,5"})
        assert r.status_code == 303 and r.headers["location"] == f"/sessions/{sid}/programme?done=when"
        page = await staff.get(r.headers["location"] + "&lang=en")
        assert "The session&#39;s date and time are saved" in page.text and 'value="2027-03-13"' in page.text
        assert 'value="10:30"' in page.text
        moved = [x for x in await _outbox_of(settings, aid, "sessions.session-scheduled.v1") if x["session_id"] == sid]
        assert [(x["starts_at"], x["duration_hours"]) for x in moved][-1] == ("2027-03-13T09:30:00Z", 6.5)

        # the member: their region's venue only, the link, the agenda, the documents
        page = await member.get(f"/assemblies/{aid}/my-programme?lang=da")
        assert page.status_code == 200, page.text
        text = page.text
        assert "Aalborg Kongres &amp; Kultur Center" in text and "Bella Center" not in text
        assert "https://meet.example.org/w1" in text and "Hvad driver udledningerne?" in text and "45 minutter" in text
        assert "Karen Holm" in text and "Ingen" in text and "Danmarks Fiskeriforening" not in text  # not on an agenda
        assert "Programmet for dette møde er ikke offentliggjort endnu" in text  # the later session
        doc = next(d for d in (await api_get(settings, auth, aid, f"/sessions/{sid}/agenda"))["items"][0]["documents"]
                   if d["filename"])
        assert f'href="/documents/{doc["id"]}/file"' in text and hashlib.sha256(brief).hexdigest() in text
        got = await member.get(f"/documents/{doc['id']}/file")
        assert got.status_code == 200 and got.content == brief and got.headers["x-content-type-options"] == "nosniff"
        assert got.headers["content-disposition"].startswith("attachment;") and "baggrund%20%C3%A6.pdf" in \
            got.headers["content-disposition"]
        link = next(d for d in (await api_get(settings, auth, aid, f"/sessions/{sid}/agenda"))["items"][0]["documents"]
                    if d["url"])
        assert (await member.get(f"/documents/{link['id']}/file")).status_code == 404
        # a member of another region (none known) sees every venue
        other = await browser("sessions", settings, auth, "member", aid, member_id=members[1])
        async with other:
            text = (await other.get(f"/assemblies/{aid}/my-programme?lang=en")).text
            assert "The venues:" in text and "Bella Center" in text and "Aalborg" in text
        # asking for a witness
        mtoken = csrf(page)
        r = await member.post(f"/assemblies/{aid}/my-programme/witness?lang=en", data={"csrf_token": mtoken,
                                                                                       "session_id": "x"})
        assert r.status_code == 422 and "Write whom, or what knowledge" in r.text and "Choose one of the sessions" in r.text
        r = await member.post(f"/assemblies/{aid}/my-programme/witness", data={
            "csrf_token": mtoken, "wanted": "En fisker fra Thyborøn", "reason": "Vi har ikke hørt kysten",
            "session_id": later})
        assert r.status_code == 303
        assert "Venter på svar" in (await member.get(f"/assemblies/{aid}/my-programme?lang=da")).text
        # the secretariat sees it (not who asked) and answers once
        page = await staff.get(f"/assemblies/{aid}/programme/witnesses?lang=en")
        assert "En fisker fra Thyborøn" in page.text and str(members[0]) not in page.text
        wid = (await api_get(settings, auth, aid, f"/assemblies/{aid}/witness-requests"))[0]["id"]
        r = await staff.post(f"/witness-requests/{wid}/decide?lang=en", data={"csrf_token": token, "answer": "x"})
        assert r.status_code == 422 and "Choose accept or decline" in r.text
        r = await staff.post(f"/witness-requests/{wid}/decide", data={
            "csrf_token": token, "status": "accepted", "answer": "Hun taler på næste møde"})
        assert r.status_code == 303
        r = await staff.post(f"/witness-requests/{wid}/decide?lang=en", data={"csrf_token": token, "status": "declined"})
        assert r.status_code == 409 and "already accepted" in r.text
        assert "Hun taler på næste møde" in (await member.get(f"/assemblies/{aid}/my-programme")).text
        # roles: staff pages are not the member's, the member's page not staff's, writes the secretariat's
        assert (await member.get(f"/sessions/{sid}/programme")).status_code == 403
        assert (await staff.get(f"/assemblies/{aid}/my-programme")).status_code == 403
        r = await member.post(f"/assemblies/{aid}/my-programme/witness", data={"wanted": "x", "reason": "y"})
        assert r.status_code == 403 and error_code(r) == "csrf_failed"
    facilitator = await browser("sessions", settings, auth, "facilitator", aid)
    async with facilitator:
        page = await facilitator.get(f"/sessions/{sid}/programme")
        assert page.status_code == 200 and "Hvad driver udledningerne?" in page.text and "<form method=\"post\" action=\"/sessions" not in page.text
        r = await facilitator.post(f"/sessions/{sid}/programme/items", data={"csrf_token": csrf(page), "phase": "values",
                                                                            "title": "x", "minutes": "5"})
        assert r.status_code == 403


async def _outbox_of(settings, aid, topic: str) -> list[dict]:
    from services.sessions import models as m

    app = client("sessions", settings)._transport.app
    async with app.state.rt.transaction() as tx:
        rows = (await tx.session.execute(sa.select(m.outbox.c.envelope).where(
            m.outbox.c.topic == topic, m.outbox.c.key == str(aid)).order_by(m.outbox.c.id))).all()
    await app.state.rt.close()
    return [r.envelope["payload"] for r in rows]


async def api_get(settings, auth, aid, path: str):
    async with client("sessions", settings, auth=httpx.Auth()) as api:
        r = await api.get(path, headers=auth.headers("organiser", aid))
    assert r.status_code == 200, r.text
    return r.json()


async def test_the_report_tells_the_programme_heard_from_the_latest_published_agenda(settings, auth):
    """Reporting keeps each session's highest programme revision (whatever order they arrive in)
    and the handover report's process section lists the agenda's hours per phase and the experts
    and stakeholders heard at the sessions held."""
    from datetime import datetime, timezone

    from services.reporting.handlers import HANDLERS
    from shared.events import contracts as ev
    from tests.integration.staff_browser import browser
    from tests.integration.test_pages import reporting_knows

    aid = await reporting_knows(settings, uuid.uuid4(), "Borgertinget om hav")
    sid, karen, fishers = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()

    def scheduled(revision: int, items: list) -> ev.SessionScheduledV2:
        return ev.SessionScheduledV2(
            assembly_id=aid, session_id=sid, revision=revision, title="Weekend 1", mode="physical", phase="learning",
            starts_at=datetime(2027, 3, 6, 8, tzinfo=timezone.utc), duration_hours=7, items=items)

    def item(n, phase, title, minutes, speakers=()):
        return ev.AgendaItemV2(item_id=uuid.uuid4(), position=n, phase=phase, title=title, minutes=minutes,
                               speakers=list(speakers))

    karen_ = ev.SpeakerV2(expert_id=karen, name="Karen Holm", affiliation="Aarhus Universitet", kind="expert")
    fishers_ = ev.SpeakerV2(expert_id=fishers, name="Danmarks Fiskeriforening", affiliation="Fiskerne",
                            kind="stakeholder")
    app = client("reporting", settings)._transport.app
    on = HANDLERS["sessions.session-scheduled.v2"]
    async with app.state.rt.transaction() as tx:  # revision 2 first, then the older revision 1
        for p in (scheduled(2, [item(1, "learning", "Havet stiger", 90, [karen_]),
                                item(2, "hearing", "Høring: fiskerne", 60, [fishers_, karen_])]),
                  scheduled(1, [item(1, "learning", "Gammel plan", 30)])):
            await on(tx, new_event(p, subject=aid), p)
    async with app.state.rt.transaction() as tx:
        from services.reporting import views

        before = (await views.summary(tx, aid))["programme"]
        await HANDLERS["sessions.session-held.v1"](tx, None, ev.SessionHeldV1(
            assembly_id=aid, session_id=sid, present=5, absent=1, duration_hours=7))
    async with app.state.rt.transaction() as tx:
        after = (await views.summary(tx, aid))["programme"]
    await app.state.rt.close()
    assert before["agenda_items"] == 0  # only sessions held count
    assert after == {"agenda_items": 2, "agenda_hours_by_phase": {"learning": 1.5, "hearing": 1.0},
                     "experts_heard": 1, "stakeholders_heard": 1, "heard": [
                         {"name": "Karen Holm", "affiliation": "Aarhus Universitet", "kind": "expert",
                          "sessions": ["Weekend 1"]},
                         {"name": "Danmarks Fiskeriforening", "affiliation": "Fiskerne", "kind": "stakeholder",
                          "sessions": ["Weekend 1"]}]}
    async with await browser("reporting", settings, auth, "organiser", aid) as web:
        page = (await web.get(f"/assemblies/{aid}/report?lang=da")).text
    assert "Eksperter og interessenter, der blev hørt" in page and "Danmarks Fiskeriforening" in page
    assert "Høring" in page and "Gammel plan" not in page
