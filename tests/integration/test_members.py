"""Panel members' credentials and personal data per role, on the real database and cache:
selection letters with login codes, member login, a member acting only as themselves, and
registrars alone seeing names and contact details."""

from __future__ import annotations

import uuid

import httpx
import pytest

from shared.events import contracts as ev
from tests.integration.test_apis import assert_error, client, make_assembly

pytestmark = pytest.mark.integration


async def panel_of(rec, settings) -> tuple[str, list[dict]]:
    """An assembly with three registrations, two of them drawn (as sortition's event says)."""
    aid = await make_assembly(rec)
    letters = (await rec.post(f"/assemblies/{aid}/invitation-batches", json={"count": 3, "seed": 1})).json()["letters"]
    ids = []
    for i, letter in enumerate(letters):
        async with client("recruitment", settings) as citizen:
            r = await citizen.post("/registrations", json={"code": letter["code"], "consent": True,
                                                           "answers": {"gender": "female" if i else "male"},
                                                           "contact": f"person{i}@example.org"})
            assert r.status_code == 201, r.text
    from services.recruitment.handlers import members as h
    from services.recruitment import models as m

    app = rec._transport.app
    async with app.state.rt.transaction() as tx:
        import sqlalchemy as sa

        ids = [r.id for r in (await tx.session.execute(
            sa.select(m.respondents.c.id).where(m.respondents.c.assembly_id == uuid.UUID(aid))
            .order_by(m.respondents.c.consented_at))).all()]
        drawn = ev.PanelDrawnV1(assembly_id=aid, panel_id=uuid.uuid4(), algorithm="leximin", members=ids[:2],
                                reserves=ids[2:], pool_size=3)
        await h.HANDLERS["sortition.panel-drawn.v1"](tx, None, drawn)
    return aid, ids


async def test_selection_letters_member_login_and_acting_as_oneself(rec, settings, auth):
    aid, ids = await panel_of(rec, settings)
    r = await rec.post(f"/assemblies/{aid}/member-letters")
    assert r.status_code == 201, r.text
    letters = r.json()["letters"]
    assert {x["member_id"] for x in letters} == {str(i) for i in ids[:2]}
    assert all(x["name"].startswith("P") and x["code"] for x in letters)
    # codes are printed once: asking again issues none for the same members
    assert (await rec.post(f"/assemblies/{aid}/member-letters")).json()["count"] == 0

    async with client("recruitment", settings, auth=httpx.Auth()) as member:  # no token: a citizen
        assert_error(await member.post("/member-login", json={"code": "ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ"}), 404,
                     "not recognised")
        r = await member.post("/member-login", json={"code": letters[0]["code"].lower()})
        assert r.status_code == 200, r.text
        tok = r.json()
        assert tok["member_id"] == letters[0]["member_id"] and tok["assembly_id"] == aid
        bearer = {"authorization": f"Bearer {tok['access_token']}"}
        me = await member.get(f"/assemblies/{aid}/members/me", headers=bearer)
        assert me.status_code == 200 and me.json()["respondent_id"] == letters[0]["member_id"]
        assert me.json()["contact"].endswith("@example.org")
        # a member token is no staff token, and opens nothing in another assembly
        assert_error(await member.get(f"/assemblies/{aid}/registrations", headers=bearer), 403, "registrar")
        assert_error(await member.get(f"/assemblies/{uuid.uuid4()}/members/me", headers=bearer), 404)
        # the key is published for the other services
        jwks = (await member.get("/.well-known/jwks.json")).json()
        assert jwks["keys"][0]["alg"] == "EdDSA" and "d" not in jwks["keys"][0]

    # a member replaced on the panel can no longer log in
    from services.recruitment.handlers import members as h

    app = rec._transport.app
    async with app.state.rt.transaction() as tx:
        await h.HANDLERS["sortition.replacement-drawn.v1"](
            tx, None, ev.ReplacementDrawnV1(assembly_id=aid, panel_id=uuid.uuid4(), dropped=[ids[1]], added=[ids[2]]))
    gone = next(x for x in letters if x["member_id"] == str(ids[1]))
    async with client("recruitment", settings, auth=httpx.Auth()) as member:
        assert_error(await member.post("/member-login", json={"code": gone["code"]}), 403, "no longer on")
    new = (await rec.post(f"/assemblies/{aid}/member-letters")).json()["letters"]
    assert [x["member_id"] for x in new] == [str(ids[2])]
    assert_error(await rec.post(f"/assemblies/{aid}/members/{ids[1]}/letter"), 409, "no longer on the panel")
    assert_error(await rec.post(f"/assemblies/{aid}/members/{uuid.uuid4()}/letter"), 404, "panel member not found")

    # a member who lost their letter gets a new code; the old one stops working
    lost = next(x for x in letters if x["member_id"] == str(ids[0]))
    r = await rec.post(f"/assemblies/{aid}/members/{ids[0]}/letter")
    assert r.status_code == 201, r.text
    fresh = r.json()
    assert fresh["member_id"] == str(ids[0]) and fresh["code"] != lost["code"] and fresh["name"] == lost["name"]
    async with client("recruitment", settings, auth=httpx.Auth()) as member:
        assert_error(await member.post("/member-login", json={"code": lost["code"]}), 404, "not recognised")
        assert (await member.post("/member-login", json={"code": fresh["code"]})).status_code == 200
    audit = (await rec.get(f"/assemblies/{aid}/audit")).json()
    assert "member-letter.reissued" in [e["action"] for e in audit["entries"]]


async def test_personal_data_leaves_recruitment_only_to_registrars(rec, settings, auth):
    aid, ids = await panel_of(rec, settings)
    for role, personal in (("registrar", True), ("organiser", False), ("auditor", False)):
        async with client("recruitment", settings, auth=httpx.Auth()) as c:
            r = await c.get(f"/assemblies/{aid}/registrations", headers=auth.headers(role, aid))
        assert r.status_code == 200, r.text
        rows = r.json()
        assert len(rows) == 3
        for row in rows:
            assert ("name" in row and "address" in row and "contact" in row) is personal, (role, row)
            assert row["features"]["region"] in ("N", "S")


async def test_member_login_codes_are_rate_limited(settings):
    code = "MMMM-MMMM-MMMM-MMMM-MMMM"
    statuses = []
    for i in range(settings.member_login_attempts_per_code + 1):
        async with client("recruitment", settings, ip=f"10.79.0.{i + 1}", auth=httpx.Auth()) as c:
            statuses.append((await c.post("/member-login", json={"code": code})).status_code)
    assert statuses[:-1] == [404] * settings.member_login_attempts_per_code
    assert statuses[-1] == 429


async def test_the_panels_needs_counts_for_planners_and_who_needs_what_for_registrars(rec, settings, auth):
    """Needs stated at registration (sealed in the vault) reach the staff who plan the sessions:
    counts per need for organisers and facilitators, each member's own words for registrars only,
    on the API and the page (da + en); a reserve, a withdrawn or an erased member is not counted."""
    import sqlalchemy as sa

    from services.recruitment import models as m
    from services.recruitment import vault
    from services.recruitment.handlers import members as h
    from tests.integration.staff_browser import browser

    aid = await make_assembly(rec)
    q = (await rec.get(f"/assemblies/{aid}/questionnaire")).json()
    r = await rec.put(f"/assemblies/{aid}/questionnaire", json={
        "strata": q["strata"], "needs": ["language", "diet", "childcare"], "contact": True})
    assert r.status_code == 200, r.text
    letters = (await rec.post(f"/assemblies/{aid}/invitation-batches", json={"count": 4, "seed": 3})).json()["letters"]
    stated = [{"diet": "Vegetar", "childcare": "To børn, 3 og 6 år"}, {"language": "Tolk til arabisk"}, {},
              {"diet": "Glutenfri"}]  # the last one is drawn as a reserve only
    for letter, needs in zip(letters, stated):
        async with client("recruitment", settings) as citizen:
            r = await citizen.post("/registrations", json={"code": letter["code"], "consent": True,
                                                           "answers": {"gender": "female"}, "needs": needs})
            assert r.status_code == 201, r.text
    app = rec._transport.app
    async with app.state.rt.transaction() as tx:
        rows = (await tx.session.execute(
            sa.select(m.respondents.c.id, m.invitations.c.register_entry_id)
            .join(m.invitations, m.invitations.c.id == m.respondents.c.invitation_id)
            .where(m.respondents.c.assembly_id == uuid.UUID(aid)).order_by(m.respondents.c.consented_at))).all()
        ids = [r.id for r in rows]
        await h.HANDLERS["sortition.panel-drawn.v1"](tx, None, ev.PanelDrawnV1(
            assembly_id=aid, panel_id=uuid.uuid4(), algorithm="leximin", members=ids[:3], reserves=ids[3:],
            pool_size=4))

    async def needs(role: str) -> dict:
        async with client("recruitment", settings, auth=httpx.Auth()) as c:
            r = await c.get(f"/assemblies/{aid}/member-needs", headers=auth.headers(role, aid))
        assert r.status_code == 200, (role, r.text)
        return r.json()

    counts = {"language": 1, "diet": 1, "childcare": 1}
    for role in ("organiser", "facilitator"):
        assert await needs(role) == {"members": 3, "erased": 0, "with_needs": 2, "counts": counts, "people": None}
    full = await needs("registrar")
    assert full["counts"] == counts
    assert sorted((p["member_id"], p["needs"]) for p in full["people"]) == sorted(
        [(str(ids[0]), stated[0]), (str(ids[1]), stated[1])])
    async with client("recruitment", settings, auth=httpx.Auth()) as c:
        assert (await c.get(f"/assemblies/{aid}/member-needs", headers=auth.headers("auditor", aid))).status_code == 403
    async with await browser("recruitment", settings, auth, "registrar", aid) as web:
        page = await web.get(f"/assemblies/{aid}/needs?lang=da")
        assert page.status_code == 200 and "Panelets behov" in page.text and "Tolk til arabisk" in page.text
        assert "To børn, 3 og 6 år" in page.text and "Glutenfri" not in page.text  # a reserve is not on the panel
    async with await browser("recruitment", settings, auth, "facilitator", aid) as web:
        page = await web.get(f"/assemblies/{aid}/needs?lang=en")
        assert page.status_code == 200 and "Needs of the panel" in page.text and "Childcare" in page.text
        assert "Tolk" not in page.text and "Vegetar" not in page.text  # the words are the registrars'
    # an erased member's needs are unknown: counted as erased, not as without needs
    async with app.state.rt.transaction() as tx:
        await vault.erase(tx, uuid.UUID(aid), [rows[1].register_entry_id], "request", actor="system:test")
    after = await needs("organiser")
    assert (after["erased"], after["with_needs"], after["counts"]["language"]) == (1, 1, 0)
