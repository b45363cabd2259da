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

from shared.events.envelope import Envelope
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
