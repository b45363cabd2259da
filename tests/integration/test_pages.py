"""The pages on the shared design system, in-process on the real stack: the registration form
(no answer pre-selected, labels and errors in the chosen language, CSRF on the form), the panel
members' sign-in into a server-side session, and the page policy (sign-in redirects, refusals as
pages)."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.integration.test_apis import client, make_assembly

pytestmark = pytest.mark.integration


def csrf(page: httpx.Response) -> str:
    return re.search(r'name="csrf_token" value="([0-9a-f]{64})"', page.text).group(1)


def citizen(settings) -> httpx.AsyncClient:
    return client("recruitment", settings, auth=httpx.Auth())  # no token: a browser


async def test_registration_page_asks_without_preselecting_and_speaks_the_chosen_language(rec, settings):
    aid = await make_assembly(rec)
    code = (await rec.post(f"/assemblies/{aid}/invitation-batches", json={"count": 2, "seed": 3})).json()["letters"][0]["code"]
    async with citizen(settings) as web:
        page = await web.get(f"/register?assembly={aid}")
        assert page.status_code == 200
        assert '<html lang="da">' in page.text and "Tilmelding til borgertinget" in page.text
        assert "Kvinde" in page.text and "Mand" in page.text and ">female<" not in page.text
        assert 'type="radio"' in page.text and "checked" not in page.text  # nothing pre-selected
        assert "/ui-static/vendor/dkfds/css/dkfds.min.css" in page.text
        # the switch, remembered in a cookie
        en = await web.get(f"/register?assembly={aid}&lang=en")
        assert '<html lang="en">' in en.text and "Woman" in en.text and "Register for the citizens" in en.text
        assert (await web.get(f"/register?assembly={aid}")).text.count('lang="en"') >= 1

        # without the form's CSRF token: refused, as a page
        r = await web.post("/register", data={"assembly": aid, "code": code, "q_gender": "female", "consent": "true"})
        assert r.status_code == 403 and "<html" in r.text and 'data-error-code="csrf_failed"' in r.text

        # missing answers: every problem named, in English (the chosen language), nothing stored
        token = csrf(en)
        r = await web.post("/register", data={"csrf_token": token, "assembly": aid, "code": code})
        assert r.status_code == 422
        assert "Choose an answer: Gender" in r.text and "Tick the box to say you agree" in r.text
        assert 'href="#q_gender"' in r.text and 'aria-invalid="true"' not in r.text.split("q_gender")[0][-200:]
        assert (await rec.get(f"/assemblies/{aid}/stats")).json()["registrations"] == 0

        r = await web.post("/register", data={"csrf_token": token, "assembly": aid, "code": code, "q_gender": "female",
                                              "consent": "true", "lang": "da"})
        assert r.status_code == 201, r.text
        assert "You are registered" in r.text and "Your receipt" in r.text and "<dd>Woman</dd>" in r.text
        assert "I agree that my answers are processed to draw the panel (consent text, version 2026-12)" in r.text
        assert (await rec.get(f"/assemblies/{aid}/stats")).json()["registrations"] == 1
        # the same code again: the error says so, on the form
        r = await web.post("/register", data={"csrf_token": token, "assembly": aid, "code": code, "q_gender": "male",
                                              "consent": "true"})
        assert r.status_code == 409 and "already been used" in r.text


async def test_registration_without_the_letters_link_starts_with_the_code(rec, settings):
    aid = await make_assembly(rec)
    code = (await rec.post(f"/assemblies/{aid}/invitation-batches", json={"count": 1, "seed": 4})).json()["letters"][0]["code"]
    async with citizen(settings) as web:
        page = await web.get("/register")
        assert page.status_code == 200 and 'name="q_gender"' not in page.text
        r = await web.post("/register", data={"csrf_token": csrf(page), "code": "ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ"})
        assert r.status_code == 404 and "Koden kendes ikke" in r.text
        r = await web.post("/register", data={"csrf_token": csrf(page), "code": code.lower()})
        assert r.status_code == 200 and 'name="q_gender"' in r.text and f'value="{aid}"' in r.text


async def test_a_member_signs_in_with_the_letter_code_into_a_server_side_session(rec, settings):
    from tests.integration.test_members import panel_of

    aid, ids = await panel_of(rec, settings)
    letters = (await rec.post(f"/assemblies/{aid}/member-letters")).json()["letters"]
    async with citizen(settings) as web:
        page = await web.get("/member/signin?next=//evil.example/x")
        assert page.status_code == 200 and "Log ind som panelmedlem" in page.text and 'value=""' in page.text
        token = csrf(page)
        r = await web.post("/member/signin", data={"csrf_token": token, "code": "ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ"})
        assert r.status_code == 404 and "Koden kendes ikke" in r.text
        r = await web.post("/member/signin", data={"code": letters[0]["code"]})
        assert r.status_code == 403  # no CSRF token
        r = await web.post("/member/signin", data={"csrf_token": token, "code": letters[0]["code"]})
        assert r.status_code == 303 and r.headers["location"] == f"/reporting/assemblies/{aid}/portal"
        cookie = r.headers["set-cookie"]
        assert "borgerting_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
        assert "Secure" not in cookie  # development; production sets it
        # the session is in Valkey, keyed by a hash of the cookie's id
        sid = web.cookies["borgerting_session"]
        rt = web._transport.app.state.rt
        session = await rt.web_sessions.load(sid)
        assert session.kind == "member" and session.principal.member_id is not None
        assert await rt.redis.get("borgerting:web-session:" + sid) is None


async def reporting_knows(settings, aid, name="Klimaborgertinget") -> None:
    """Reporting hears that an assembly was created (its handler, as the consumer would call it)."""
    import uuid

    from services.reporting.handlers import HANDLERS
    from shared.events import contracts as ev

    app = client("reporting", settings)._transport.app
    payload = ev.AssemblyCreatedV1(assembly_id=aid, name=name, panel_size=4,
                                   regions=[{"code": "N", "name": "Nord", "population": 300}],
                                   strata=[{"category": "gender", "quotas": [{"value": "female", "min": 0, "max": 4}]}])
    async with app.state.rt.transaction() as tx:
        await HANDLERS["recruitment.assembly-created.v1"](tx, None, payload)
    await app.state.rt.close()
    return uuid.UUID(str(aid))


async def test_staff_sign_in_with_oidc_pkce_at_the_development_issuer_then_sign_out(settings, auth):
    import uuid
    from urllib.parse import parse_qs, urlsplit

    aid = await reporting_knows(settings, uuid.uuid4())
    async with client("reporting", settings, auth=httpx.Auth()) as web, httpx.AsyncClient() as idp:
        # a page needing a role sends the browser to sign in, and back afterwards
        r = await web.get(f"/assemblies/{aid}/dashboard")
        assert r.status_code == 303 and r.headers["location"] == f"/reporting/signin?next=%2Fassemblies%2F{aid}%2Fdashboard"
        page = await web.get("/signin")
        assert "Log ind med din konto i myndigheden" in page.text
        r = await web.get(f"/auth/login?next=/assemblies/{aid}/dashboard")
        assert r.status_code == 303
        authorize = urlsplit(r.headers["location"])
        q = parse_qs(authorize.query)
        assert q["code_challenge_method"] == ["S256"] and q["nonce"] and q["state"] and q["response_type"] == ["code"]
        # the development issuer's sign-in page: the tester picks a role and an assembly
        page = await idp.get(r.headers["location"])
        assert page.status_code == 200 and 'name="role"' in page.text
        form = {k: v[0] for k, v in q.items() if k in ("client_id", "redirect_uri", "state", "nonce", "code_challenge")}
        csrf_idp = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        back = await idp.post(f"{auth.issuer}/authorize", data={**form, "csrf": csrf_idp, "role": "organiser",
                                                                 "assembly_id": str(aid)})
        assert back.status_code == 303
        callback = urlsplit(back.headers["location"])
        # a replayed or foreign state is refused
        bad = await web.get(f"{callback.path}?code=x&state=forged")
        assert bad.status_code == 400 and "start again" in bad.text
        r = await web.get(f"{callback.path}?{callback.query}")
        assert r.status_code == 303 and r.headers["location"] == f"/assemblies/{aid}/dashboard", r.text
        assert "borgerting_session" in web.cookies
        # the code is single-use at the issuer too
        assert (await web.get(f"{callback.path}?{callback.query}")).status_code == 400
        dash = await web.get(f"/assemblies/{aid}/dashboard")
        assert dash.status_code == 200 and "Klimaborgertinget" in dash.text and "Hvor processen står" in dash.text
        assert "Logget ind: sekretariat" in dash.text
        # another assembly does not exist for this organiser
        other = await web.get(f"/assemblies/{uuid.uuid4()}/dashboard")
        assert other.status_code == 404 and 'data-error-code="not_found"' in other.text
        home = await web.get("/")
        assert "Klimaborgertinget" in home.text
        # sign-out needs the form's token, then ends the session in Valkey
        assert (await web.post("/signout")).status_code == 403
        r = await web.post("/signout", data={"csrf_token": csrf(dash)})
        assert r.status_code == 303
        web.cookies.clear()
        assert (await web.get(f"/assemblies/{aid}/dashboard")).status_code == 303


async def test_a_session_expires_when_idle_and_at_its_absolute_limit(settings):
    import time

    from shared.auth.principal import Principal
    from shared.auth.sessions import SessionStore
    from shared.redis import make_redis

    redis = make_redis(settings.redis_url)
    store = SessionStore(redis, idle=60, absolute=120)
    who = Principal(subject="s", issuer="i", grants=frozenset({("auditor", None)}))
    s = await store.create(who, "token", "staff")
    assert (await store.load(s.sid)).subject == "s"
    assert 50 < await redis.ttl("borgerting:web-session:" + __import__("hashlib").sha256(s.sid.encode()).hexdigest()) <= 60
    # idle: last seen 61 s ago
    key = "borgerting:web-session:" + __import__("hashlib").sha256(s.sid.encode()).hexdigest()
    import json

    data = json.loads(await redis.get(key))
    await redis.set(key, json.dumps({**data, "seen": time.time() - 61}), ex=60)
    assert await store.load(s.sid) is None and await redis.get(key) is None
    # absolute: created 121 s ago, however busy
    s = await store.create(who, "token", "staff")
    key = "borgerting:web-session:" + __import__("hashlib").sha256(s.sid.encode()).hexdigest()
    data = json.loads(await redis.get(key))
    await redis.set(key, json.dumps({**data, "created": time.time() - 121}), ex=60)
    assert await store.load(s.sid) is None
    await redis.aclose()


async def test_the_member_portal_shows_the_assembly_and_is_for_members_only(rec, settings, auth):
    import uuid

    aid = await reporting_knows(settings, uuid.uuid4(), "Borgertinget om klima")
    async with client("reporting", settings, auth=httpx.Auth()) as web:
        r = await web.get(f"/assemblies/{aid}/portal")
        assert r.status_code == 303 and r.headers["location"].startswith("/recruitment/member/signin?next=")
        member = {"authorization": f"Bearer {auth.token('member', aid, member_id=uuid.uuid4())}"}
        r = await web.get(f"/assemblies/{aid}/portal", headers=member)
        assert r.status_code == 200 and "Borgertinget om klima" in r.text and "Der er ingen åben afstemning" in r.text
        staff = {"authorization": f"Bearer {auth.token('organiser', aid)}"}
        r = await web.get(f"/assemblies/{aid}/portal", headers=staff)
        assert r.status_code == 403 and 'data-error-code="forbidden"' in r.text and "Du har ikke adgang" in r.text


async def test_the_ballot_page_needs_no_pasted_token_for_a_member_signed_in_to_the_portal(settings, auth):
    import uuid

    from shared.auth.sessions import SESSION_COOKIE
    from tests.integration.test_authz import make_ballot

    aid = uuid.uuid4()
    ballot_id = await make_ballot(settings, auth, aid)
    async with client("voting", settings, auth=httpx.Auth()) as web:
        rt = web._transport.app.state.rt
        anonymous = await web.get(f"/ballots/{ballot_id}/page", headers={"x-forwarded-prefix": "/voting"})
        assert anonymous.status_code == 200 and "SIGNED_IN = null" in anonymous.text
        assert 'const BASE = "/voting"' in anonymous.text and 'src="/voting/voting-static/blindrsa.js"' in anonymous.text
        token = auth.token("member", aid, member_id=uuid.uuid4())
        member = await rt.web_sessions.create(await rt.auth.verify(token), token, "member")
        page = await web.get(f"/ballots/{ballot_id}/page", cookies={SESSION_COOKIE: member.sid})
        assert f"SIGNED_IN = \"{token}\"" in page.text and page.headers["cache-control"] == "no-store"
        # a member of another assembly gets nothing of theirs into this page
        other_token = auth.token("member", uuid.uuid4(), member_id=uuid.uuid4())
        other = await rt.web_sessions.create(await rt.auth.verify(other_token), other_token, "member")
        page = await web.get(f"/ballots/{ballot_id}/page", cookies={SESSION_COOKIE: other.sid})
        assert "SIGNED_IN = null" in page.text


async def test_a_citizen_withdraws_with_the_letter_code_after_confirming(rec, settings):
    aid = await make_assembly(rec)
    code = (await rec.post(f"/assemblies/{aid}/invitation-batches", json={"count": 1, "seed": 5})).json()["letters"][0]["code"]
    async with citizen(settings) as web:
        page = await web.get("/withdraw")
        assert page.status_code == 200 and "Meld dig fra" in page.text and "checked" not in page.text
        token = csrf(page)
        r = await web.post("/withdraw", data={"csrf_token": token, "code": code, "confirm": "true"})
        assert r.status_code == 409 and "Ingen har tilmeldt sig med denne kode" in r.text
        page = await web.get(f"/register?assembly={aid}")
        r = await web.post("/register", data={"csrf_token": csrf(page), "assembly": aid, "code": code,
                                              "q_gender": "male", "consent": "true"})
        assert r.status_code == 201 and "/withdraw" in r.text
        # the receipt: a reference, the answers as chosen, the consent's version (stored with the registration)
        reference = re.search(r"<dt>Reference</dt><dd>([0-9A-F]{8})</dd>", r.text).group(1)
        assert "Din kvittering" in r.text and "<dd>Mand</dd>" in r.text and "samtykketekst, version 2026-12" in r.text
        regs = (await rec.get(f"/assemblies/{aid}/registrations")).json()
        assert str(regs[0]["respondent_id"]).upper().startswith(reference)
        assert (await rec.get(f"/assemblies/{aid}/stats")).json()["registrations"] == 1
        r = await web.post("/withdraw", data={"csrf_token": token, "code": code})  # not confirmed: nothing happens
        assert r.status_code == 422 and "Sæt kryds for at bekræfte" in r.text
        assert (await rec.get(f"/assemblies/{aid}/stats")).json()["registrations"] == 1
        r = await web.post("/withdraw", data={"csrf_token": token, "code": code, "confirm": "true"})
        assert r.status_code == 200 and "Du er meldt fra" in r.text and f"<dd>{reference}</dd>" in r.text
        assert (await rec.get(f"/assemblies/{aid}/stats")).json()["registrations"] == 0
        r = await web.post("/withdraw?lang=en", data={"csrf_token": token, "code": code, "confirm": "true"})
        assert r.status_code == 409 and "already been withdrawn" in r.text


QUESTIONNAIRE_STRATA = [
    {"category": "gender", "quotas": [{"value": "female", "min": 1, "max": 2}, {"value": "male", "min": 1, "max": 2},
                                      {"value": "prefer_not_to_say", "min": 0, "max": 1}]},
    {"category": "age", "quotas": [{"value": "18-39", "min": 0, "max": 4}, {"value": "40+", "min": 0, "max": 4}]},
    {"category": "region", "quotas": [{"value": "N", "min": 0, "max": 3}, {"value": "S", "min": 0, "max": 3}]},
]


async def test_the_secretariat_configures_the_questionnaire_and_citizens_answer_it(rec, settings, auth):
    """The questionnaire page (versions; refused once letters are out), the API's 4xx, and the
    public form built from it in Danish and English: no answer pre-selected, "prefer not to say"
    where the mandate has a quota for it, optional attitudes, needs and contact for the selected."""
    from tests.integration.test_apis import EXTRACT, REGIONS, assert_error
    from tests.integration.test_recruitment_pages import browser

    r = await rec.post("/assemblies", json={"name": "Spørgeskema", "panel_size": 4, "regions": REGIONS,
                                            "strata": QUESTIONNAIRE_STRATA})
    aid = r.json()["id"]
    assert (await rec.post(f"/assemblies/{aid}/register-extract", content=EXTRACT,
                           headers={"content-type": "text/csv"})).status_code == 201
    q = (await rec.get(f"/assemblies/{aid}/questionnaire")).json()
    assert q["version"] == 0 and [s["category"] for s in q["strata"]] == ["gender", "age"] and not q["fixed"]
    # the API: "prefer not to say" only where the mandate has it; every problem named
    bad = {"strata": [{"category": "gender"}, {"category": "age", "prefer_not_to_say": True}],
           "attitudes": [{"key": "Trust", "label": {"da": "Tillid?"}, "options": [
               {"value": "1", "label": {"da": "Høj", "en": "High"}}, {"value": "2", "label": {"da": "Lav"}}]}]}
    body = assert_error(await rec.put(f"/assemblies/{aid}/questionnaire", json=bad), 422,
                        "the mandate has no quota for the value prefer_not_to_say")
    assert {d["field"] for d in body["details"]} == {"prefer_age", "att_key_0", "att_label_0", "att_options_0"}

    web = await browser("recruitment", settings, auth, "organiser", aid)
    async with web:
        page = await web.get(f"/assemblies/{aid}/questions")
        assert page.status_code == 200 and "Tilmeldingens spørgeskema" in page.text
        assert 'name="prefer_gender"' in page.text and 'name="prefer_age"' not in page.text
        form = {"csrf_token": csrf(page), "label_da_gender": "Hvilket køn har du?", "label_en_gender": "Your gender?",
                "prefer_gender": "true", "att_key_0": "trust", "att_da_0": "Hvor meget stoler du på politikerne?",
                "att_en_0": "How much do you trust politicians?", "att_options_da_0": "Meget\nLidt",
                "att_options_en_0": "A lot", "need_diet": "true", "need_accessibility": "true", "contact": "true"}
        r = await web.post(f"/assemblies/{aid}/questions?lang=en", data=form)  # 2 Danish answers, 1 English
        assert r.status_code == 422 and "as many in Danish as in English" in r.text and 'href="#att_options_0"' in r.text
        r = await web.post(f"/assemblies/{aid}/questions", data={**form, "att_options_en_0": "A lot\nA little"})
        assert r.status_code == 303, r.text
        saved = await web.get(r.headers["location"])
        assert "The questionnaire is saved as version 1" in saved.text and "Hvilket køn har du?" in saved.text
    q = (await rec.get(f"/assemblies/{aid}/questionnaire")).json()
    assert q["version"] == 1 and q["strata"][0]["prefer_not_to_say"] and q["needs"] == ["accessibility", "diet"]
    assert q["attitudes"][0]["options"][1] == {"value": "2", "label": {"da": "Lidt", "en": "A little"}}

    letters = (await rec.post(f"/assemblies/{aid}/invitation-batches", json={"count": 3, "seed": 5})).json()["letters"]
    # letters are out: the questionnaire is fixed, on the API and the page
    assert_error(await rec.put(f"/assemblies/{aid}/questionnaire", json={"strata": q["strata"]}), 409,
                 "can no longer change", "version 1 stays in use")
    assert (await rec.get(f"/assemblies/{aid}/questionnaire")).json()["fixed"] is True
    web = await browser("recruitment", settings, auth, "organiser", aid)
    async with web:
        page = await web.get(f"/assemblies/{aid}/questions")
        assert "Brevene er sendt" in page.text and "Gem som ny version" not in page.text
        r = await web.post(f"/assemblies/{aid}/questions", data={"csrf_token": csrf(page), "contact": "true"})
        assert r.status_code == 409 and "kan ikke længere ændres" in r.text

    async with citizen(settings) as web:
        page = await web.get(f"/register?assembly={aid}")
        assert "Hvilket køn har du?" in page.text and "Vil ikke oplyse" in page.text and "checked" not in page.text
        assert "Hvor meget stoler du på politikerne?" in page.text and 'name="need_diet"' in page.text
        assert 'name="need_language"' not in page.text and 'name="email"' in page.text
        assert page.text.index("Mand") < page.text.index("Vil ikke oplyse")  # last
        en = await web.get(f"/register?assembly={aid}&lang=en")
        assert "Your gender?" in en.text and "Prefer not to say" in en.text and "A little" in en.text
        token = csrf(en)
        base = {"csrf_token": token, "assembly": aid, "code": letters[0]["code"], "consent": "true"}
        # nothing chosen for age, a malformed e-mail: both named, in English, nothing stored
        r = await web.post("/register", data={**base, "q_gender": "prefer_not_to_say", "email": "ase@"})
        assert r.status_code == 422 and "Choose an answer: Age" in r.text and "Enter an e-mail address" in r.text
        r = await web.post("/register", data={**base, "q_gender": "female", "q_age": "40+", "phone": "ring mig"})
        assert r.status_code == 422 and "Enter a phone number of digits" in r.text and 'id="phone"' in r.text
        r = await web.post("/register", data={**base, "q_gender": "prefer_not_to_say", "q_age": "40+", "a_trust": "2",
                                              "need_diet": "Vegetar", "email": "ase@example.org", "phone": "12345678"})
        assert r.status_code == 201, r.text
        assert "<dd>Prefer not to say</dd>" in r.text and "<dd>A little</dd>" in r.text and "Needs noted" in r.text
        # the attitude question may be left out; "prefer not to say" where it is not offered is refused
        r = await web.post("/register", data={**base, "code": letters[1]["code"], "q_gender": "female",
                                              "q_age": "prefer_not_to_say"})
        assert r.status_code == 422 and "Choose one of the answers offered: Age" in r.text
        r = await web.post("/register", data={**base, "code": letters[1]["code"], "q_gender": "female", "q_age": "18-39"})
        assert r.status_code == 201, r.text
    regs = {x["features"]["gender"]: x for x in (await rec.get(f"/assemblies/{aid}/registrations")).json()}
    assert {k: x for k, x in regs["prefer_not_to_say"]["features"].items() if k != "region"} == {
        "gender": "prefer_not_to_say", "age": "40+"}  # its own value, for the draw
    assert regs["prefer_not_to_say"]["contact"] == "ase@example.org · 12345678"
    assert (regs["prefer_not_to_say"]["email"], regs["prefer_not_to_say"]["phone"]) == ("ase@example.org", "12345678")
    assert regs["female"]["contact"] is None
    # the JSON API asks the same questionnaire
    r = await rec.post("/registrations", json={"code": letters[2]["code"], "consent": True,
                                               "answers": {"gender": "male"}, "needs": {"language": "engelsk"}})
    body = assert_error(r, 422, "missing; one of 18-39, 40+", "not a question of this assembly")
    assert {d["field"] for d in body["details"]} == {"answers.age", "needs.language"}
