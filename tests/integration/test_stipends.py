"""Places and stipends on the real database (issue 13): members confirm or decline their place
(a decline leaves for sortition as place-declined), the ledger from sessions' attendance events
pays the present and not the absent, claims with receipts need two different registrars, and the
payment export pays each earned line once."""

from __future__ import annotations

import base64
import csv
import io
import uuid
from datetime import datetime, timezone

import httpx
import pytest
import sqlalchemy as sa

from shared.events import contracts as ev
from shared.events.envelope import new_event
from tests.integration.test_apis import assert_error, client
from tests.integration.test_members import panel_of

pytestmark = pytest.mark.integration
PDF = b"%PDF-1.4\n% a bus ticket\n"


async def deliver(app, payload, subject) -> None:
    """An event of another service, through recruitment's own handler (as its consumer would)."""
    from services.recruitment.app import SPEC

    env = new_event(payload, subject=subject)
    async with app.state.rt.transaction() as tx:
        await SPEC.handlers[env.topic](tx, env, payload)


async def test_places_ledger_four_eyes_claims_and_payment_export(rec, settings, auth):
    aid, ids = await panel_of(rec, settings)
    app = rec._transport.app
    ann, bo = ids[0], ids[1]

    def member(mid):
        return auth.headers("member", aid, member_id=mid)

    async with client("recruitment", settings, auth=httpx.Auth()) as c:
        # ---- places: confirm, decline (an event for sortition), no way back
        assert (await c.get(f"/assemblies/{aid}/my-place", headers=member(ann))).json()["answer"] is None
        r = await c.post(f"/assemblies/{aid}/my-place", headers=member(ann), json={"answer": "confirmed"})
        assert r.status_code == 200 and r.json()["answer"] == "confirmed", r.text
        assert_error(await c.post(f"/assemblies/{aid}/my-place", headers=member(ann), json={"answer": "confirmed"}),
                     409, "already confirmed")
        assert (await c.post(f"/assemblies/{aid}/my-place", headers=member(bo), json={"answer": "declined"})).status_code == 200
        assert_error(await c.post(f"/assemblies/{aid}/my-place", headers=member(bo), json={"answer": "confirmed"}),
                     409, "declined")
        assert_error(await c.post(f"/assemblies/{aid}/my-place", headers=member(ids[2]), json={"answer": "confirmed"}),
                     403, "not on this assembly's panel")
        from services.recruitment import models as m

        async with app.state.rt.transaction() as tx:
            sent = [r.envelope["payload"] for r in (await tx.session.execute(
                sa.select(m.outbox.c.envelope).where(m.outbox.c.topic == "recruitment.place-declined.v1"))).all()]
        assert {"assembly_id": aid, "member_id": str(bo)} in sent

        # ---- rates, then three sessions: ann at all three, bo at the first only
        r = await rec.put(f"/assemblies/{aid}/stipends/rates",
                          json={"session_ore": 75_000, "travel_cap_ore": 50_000, "childcare_cap_ore": 0})
        assert r.status_code == 200, r.text
        sessions = [uuid.uuid4() for _ in range(3)]
        for i, s in enumerate(sessions):
            await deliver(app, ev.SessionScheduledV1(assembly_id=aid, session_id=s, title=f"Session {i + 1}",
                                                     starts_at=datetime(2027, 3 + i, 6, 9, tzinfo=timezone.utc),
                                                     mode="physical", phase="learning", duration_hours=7), aid)
        marks = {(sessions[0], ann): True, (sessions[0], bo): True, (sessions[1], ann): True, (sessions[1], bo): False,
                 (sessions[2], bo): False}
        for (s, mid), present in marks.items():
            await deliver(app, ev.AttendanceRecordedV1(assembly_id=aid, session_id=s, member_id=mid, present=present), aid)
        for s, present in zip(sessions, (2, 1, 1)):
            await deliver(app, ev.SessionHeldV1(assembly_id=aid, session_id=s, present=present, absent=2 - present,
                                                duration_hours=7), aid)
        # the last session's held event overtook ann's check-in (separate topics): nothing is paid yet
        book = (await rec.get(f"/assemblies/{aid}/stipends")).json()
        assert book["incomplete"] == [str(sessions[2])] and book["sessions_held"] == 3
        assert_error(await rec.post(f"/assemblies/{aid}/stipends/payments"), 409, "still arriving")
        await deliver(app, ev.AttendanceRecordedV1(assembly_id=aid, session_id=sessions[2], member_id=ann,
                                                   present=True), aid)
        book = (await rec.get(f"/assemblies/{aid}/stipends")).json()
        by = {x["member_id"]: x for x in book["ledgers"]}
        assert book["incomplete"] == []
        assert by[str(ann)]["earned_ore"] == 225_000 and by[str(ann)]["sessions_present"] == 3
        assert by[str(bo)]["earned_ore"] == 75_000
        assert [x["status"] for x in by[str(bo)]["lines"]] == ["present", "absent", "absent"]

        # ---- claims: only for a session attended, within the cap, with a receipt
        claim = {"session_id": str(sessions[1]), "kind": "travel", "amount_ore": 12_350,
                 "receipt_base64": base64.b64encode(PDF).decode()}
        assert_error(await c.post(f"/assemblies/{aid}/my-claims", headers=member(bo), json=claim), 409, "checked in")
        assert_error(await c.post(f"/assemblies/{aid}/my-claims", headers=member(ann),
                                  json={**claim, "amount_ore": 50_001}), 422, "above")
        assert_error(await c.post(f"/assemblies/{aid}/my-claims", headers=member(ann),
                                  json={**claim, "kind": "childcare"}), 422, "does not pay")
        assert_error(await c.post(f"/assemblies/{aid}/my-claims", headers=member(ann),
                                  json={**claim, "receipt_base64": base64.b64encode(b"<html>").decode()}), 422, "PDF")
        r = await c.post(f"/assemblies/{aid}/my-claims", headers=member(ann), json=claim)
        assert r.status_code == 201, r.text
        claim_id = r.json()["id"]
        assert r.json()["status"] == "pending" and r.json()["approvals"] == 0
        assert_error(await c.post(f"/assemblies/{aid}/my-claims", headers=member(ann), json=claim), 409, "already")
        # ---- four eyes: two different registrars
        alice, bob = (auth.headers("registrar", aid, subject=s) for s in ("alice", "bob"))
        receipt = await c.get(f"/claims/{claim_id}/receipt", headers=alice)
        assert receipt.content == PDF and receipt.headers["content-type"] == "application/pdf"
        assert_error(await c.get(f"/claims/{claim_id}/receipt", headers=auth.headers("organiser", aid)), 403)
        first = await c.post(f"/claims/{claim_id}/approve", headers=alice)
        assert first.json() == {"id": claim_id, "status": "pending", "approvals": 1}
        assert_error(await c.post(f"/claims/{claim_id}/approve", headers=alice), 409, "second, different person")
        second = await c.post(f"/claims/{claim_id}/approve", headers=bob)
        assert second.json()["status"] == "approved" and second.json()["approvals"] == 2
        assert_error(await c.post(f"/claims/{claim_id}/reject", headers=bob, json={"reason": "late"}), 409)

        # ---- the payment file pays the present, not the absent, each line once
        r = await c.post(f"/assemblies/{aid}/stipends/payments", headers=alice)
        assert r.status_code == 201, r.text
        assert r.headers["content-disposition"] == 'attachment; filename="payment-1.csv"'
        rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig")), delimiter=";"))
        assert [(x["amount_ore"], x["amount_dkk"]) for x in sorted(rows, key=lambda x: -int(x["amount_ore"]))] == [
            ("237350", "2373,50"), ("75000", "750,00")]
        assert all(x["person_ref"] and x["name"].startswith("P") and x["reference"].startswith("BT-1-") for x in rows)
        assert_error(await c.post(f"/assemblies/{aid}/stipends/payments", headers=alice), 409, "nothing is due")
        again = await c.get(f"/assemblies/{aid}/stipends/payments/1", headers=bob)
        assert again.content == r.content
        assert_error(await c.get(f"/assemblies/{aid}/stipends/payments/2", headers=bob), 404)
        listed = (await rec.get(f"/assemblies/{aid}/stipends/payments")).json()
        assert [(p["number"], p["payees"], p["total_ore"]) for p in listed] == [(1, 2, 312_350)]

        # ---- the member's statement
        mine = (await c.get(f"/assemblies/{aid}/my-stipend", headers=member(ann))).json()
        assert (mine["earned_ore"], mine["paid_ore"], mine["due_ore"]) == (237_350, 237_350, 0)
        assert [x["kind"] for x in mine["lines"]] == ["session", "session", "session", "travel"]
        assert [x["status"] for x in (await c.get(f"/assemblies/{aid}/my-claims", headers=member(ann))).json()] == [
            "approved"]
        # a rate changed later does not change what held sessions paid
        await rec.put(f"/assemblies/{aid}/stipends/rates", json={"session_ore": 90_000})
        assert (await c.get(f"/assemblies/{aid}/my-stipend", headers=member(ann))).json()["due_ore"] == 0


async def test_the_pages_place_statement_claims_and_the_staff_page(rec, settings, auth):
    aid, ids = await panel_of(rec, settings)
    app = rec._transport.app
    ann, bo = ids[0], ids[1]
    member = {m: auth.headers("member", aid, member_id=m) for m in (ann, bo)}
    async with client("recruitment", settings, auth=httpx.Auth()) as c:
        page = await c.get(f"/assemblies/{aid}/place?lang=da", headers=member[bo])
        assert page.status_code == 200 and "Tager du din plads?" in page.text and " checked" not in page.text
        r = await c.post(f"/assemblies/{aid}/place?lang=da", headers=member[bo], data={"answer": "declined"})
        assert r.status_code == 422 and "Sæt kryds for at bekræfte, at du afslår din plads" in r.text
        r = await c.post(f"/assemblies/{aid}/place", headers=member[bo], data={"answer": "declined", "confirm": "true"})
        assert r.status_code == 303
        assert "Du har afslået din plads" in (await c.get(f"/assemblies/{aid}/place?lang=da", headers=member[bo])).text
        r = await c.post(f"/assemblies/{aid}/place?lang=en", headers=member[ann], data={"answer": "confirmed"})
        assert r.status_code == 303
        assert "You have confirmed your place" in (await c.get(f"/assemblies/{aid}/place?lang=en", headers=member[ann])).text

        await rec.put(f"/assemblies/{aid}/stipends/rates", json={"session_ore": 150_050, "travel_cap_ore": 50_000})
        s = uuid.uuid4()
        await deliver(app, ev.SessionScheduledV1(assembly_id=aid, session_id=s, title="Weekend 1", mode="physical",
                                                 starts_at=datetime(2027, 3, 6, 9, tzinfo=timezone.utc),
                                                 phase="learning", duration_hours=7), aid)
        await deliver(app, ev.AttendanceRecordedV1(assembly_id=aid, session_id=s, member_id=ann, present=True), aid)
        await deliver(app, ev.SessionHeldV1(assembly_id=aid, session_id=s, present=1, absent=1, duration_hours=7), aid)
        statement = await c.get(f"/assemblies/{aid}/stipend?lang=da", headers=member[ann])
        assert statement.status_code == 200 and "1.500,50 kr." in statement.text and "Weekend 1" in statement.text
        assert "DKK 1,500.50" in (await c.get(f"/assemblies/{aid}/stipend?lang=en", headers=member[ann])).text
        r = await c.post(f"/assemblies/{aid}/stipend/claims?lang=da", headers=member[ann],
                         data={"session": str(s), "kind": "travel", "amount": "600,00"},
                         files={"receipt": ("ticket.pdf", PDF, "application/pdf")})
        assert r.status_code == 422 and "større end det, borgertinget betaler" in r.text
        r = await c.post(f"/assemblies/{aid}/stipend/claims", headers=member[ann],
                         data={"session": str(s), "kind": "travel", "amount": "123,50"},
                         files={"receipt": ("ticket.pdf", PDF, "application/pdf")})
        assert r.status_code == 303, r.text
        assert "123,50 kr. – Venter på godkendelse" in (await c.get(f"/assemblies/{aid}/stipend?lang=da",
                                                                   headers=member[ann])).text

        alice, bob = (auth.headers("registrar", aid, subject=x) for x in ("alice", "bob"))
        staff = await c.get(f"/assemblies/{aid}/stipend-ledger?lang=en", headers=alice)
        assert staff.status_code == 200 and "DKK 123.50" in staff.text and "approvals: 0 of 2" in staff.text
        [claim] = (await rec.get(f"/assemblies/{aid}/claims")).json()
        assert (await c.get(f"/claims/{claim['id']}/receipt/view", headers=alice)).content == PDF
        assert (await c.post(f"/claims/{claim['id']}/decision", headers=alice, data={"action": "approve"})).status_code == 303
        again = await c.post(f"/claims/{claim['id']}/decision?lang=en", headers=alice, data={"action": "approve"})
        assert again.status_code == 409 and "a second, different person must approve it" in again.text
        assert (await c.post(f"/claims/{claim['id']}/decision", headers=bob, data={"action": "approve"})).status_code == 303
        refused = await c.post(f"/assemblies/{aid}/stipend-ledger/payments.csv?lang=en", headers=bob, data={})
        assert refused.status_code == 422 and "Tick the box" in refused.text
        paid = await c.post(f"/assemblies/{aid}/stipend-ledger/payments.csv", headers=bob, data={"confirm": "true"})
        assert paid.status_code == 200 and paid.headers["content-type"].startswith("text/csv")
        assert ";162400;1624,00;" in paid.content.decode("utf-8-sig")  # 1.500,50 + 123,50 kr.
        assert (await c.get(f"/assemblies/{aid}/stipend-ledger/payment.csv?number=1", headers=alice)).content == paid.content
        organiser = await c.get(f"/assemblies/{aid}/stipend-ledger?lang=da", headers=auth.headers("organiser", aid))
        assert "Gem satserne" in organiser.text and "Lav betalingsfilen" not in organiser.text
