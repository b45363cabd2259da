"""Recruitment's staff screens in the browser, in-process on the real stack: each page renders
for its roles and refuses the others, each form's happy path and a bad-input path in the chosen
language, CSRF refused without the form's token, and the files for the print house."""

from __future__ import annotations

import csv
import io
import re
import uuid

import httpx
import pytest

from services.recruitment.printing import MERGE_HEADER
from tests.integration.test_apis import client, make_assembly
from tests.letters import open_pack
from tests.integration.test_pages import csrf

pytestmark = pytest.mark.integration


async def browser(service: str, settings, auth, role: str, assembly_id=None) -> httpx.AsyncClient:
    """A browser signed in as `role` (in `assembly_id`): a server-side session in Valkey, as the
    staff sign-in leaves it, and its cookie."""
    web = client(service, settings, auth=httpx.Auth())
    app = web._transport.app
    token = auth.token(role, assembly_id)
    session = await app.state.rt.web_sessions.create(await app.state.auth.verify(token), token, "staff")
    web.cookies.set("borgerting_session", session.sid)
    return web


def as_role(auth, role: str, aid=None) -> dict:
    return auth.headers(role, aid)


def rows_of(response: httpx.Response) -> list[list[str]]:
    assert response.headers["content-type"].startswith("text/csv"), response.text[:300]
    assert response.headers["content-disposition"].startswith("attachment;")
    return list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))


FORM = {"name": "Borgertinget om klima", "panel_size": "4", "region_rows": "2", "quota_rows": "4",
        "region_code_0": "N", "region_name_0": "Nord", "region_population_0": "300",
        "region_code_1": "S", "region_name_1": "Syd", "region_population_1": "100",
        "quota_category_0": "gender", "quota_value_0": "female", "quota_min_0": "1", "quota_max_0": "3",
        "quota_category_1": "gender", "quota_value_1": "male", "quota_min_1": "1", "quota_max_1": "3",
        "quota_category_2": "age", "quota_value_2": "18-39", "quota_min_2": "0", "quota_max_2": "4",
        "quota_category_3": "age", "quota_value_3": "40+", "quota_min_3": "0", "quota_max_3": "4",
        "quota_da_3": "40 år og derover", "quota_en_3": "Aged 40 or more"}


async def test_the_operator_creates_an_assembly_from_the_form(settings, auth):
    web = await browser("recruitment", settings, auth, "operator")
    async with web:
        page = await web.get("/console/assemblies/new")
        assert page.status_code == 200 and '<html lang="da">' in page.text
        assert ">Køn<" in page.text and 'name="region_code_4"' in page.text and "checked" not in page.text
        token = csrf(page)
        # no token: refused
        r = await web.post("/console/assemblies/new", data=FORM)
        assert r.status_code == 403 and 'data-error-code="csrf_failed"' in r.text
        # more rows, without a script: what was typed stays
        r = await web.post("/console/assemblies/new", data={**FORM, "csrf_token": token, "action": "more_regions"})
        assert r.status_code == 200 and 'name="region_code_4"' in r.text and 'value="Nord"' in r.text
        # bad input, in English: every problem named, nothing created
        bad = {**FORM, "csrf_token": token, "name": "", "panel_size": "fire", "quota_min_0": "5", "region_population_1": "-3"}
        r = await web.post("/console/assemblies/new?lang=en", data=bad)
        assert r.status_code == 422 and '<html lang="en">' in r.text
        for words in ("Enter the assembly&#39;s name", "Enter the panel size as a whole number",
                      "Region 2: enter the population as a whole number above 0"):
            assert words in r.text, words
        assert 'href="#region_population_1"' in r.text
        # a mandate no panel can meet, in Danish, with the category's human name
        r = await web.post("/console/assemblies/new?lang=da", data={**FORM, "csrf_token": token, "quota_min_0": "4"})
        assert r.status_code == 422 and "Køn: minimummerne giver tilsammen 5" in r.text, r.text[-3000:]
        r = await web.post("/console/assemblies/new", data={**FORM, "csrf_token": token})
        assert r.status_code == 303, r.text
        created = r.headers["location"].split("created=")[1]
        listing = await web.get(r.headers["location"])
        assert listing.status_code == 200 and "Borgertinget om klima blev oprettet" in listing.text
        assert created in listing.text
        assert 'href="/recruitment/console/assemblies" class="nav-link"' in listing.text  # in the operator's menu
    # the assembly is what the API serves, with its quotas
    async with client("recruitment", settings) as api:
        got = (await api.get(f"/assemblies/{created}")).json()
    assert got["panel_size"] == 4 and [r["code"] for r in got["regions"]] == ["N", "S"]
    assert got["strata"][1] == {"category": "age", "quotas": [
        {"value": "18-39", "min": 0, "max": 4},
        {"value": "40+", "min": 0, "max": 4, "labels": {"da": "40 år og derover", "en": "Aged 40 or more"}}]}
    # the names the form gave are what citizens read, in their language; others come from the catalogue
    async with client("recruitment", settings, auth=httpx.Auth()) as citizen:
        da = await citizen.get(f"/register?assembly={created}&lang=da")
        en = await citizen.get(f"/register?assembly={created}&lang=en")
    assert "40 år og derover" in da.text and "18-39 år" in da.text and "Aged 40 or more" in en.text
    # only operators create assemblies (as the API says)
    async with client("recruitment", settings, auth=httpx.Auth()) as web:
        aid = uuid.UUID(created)
        for path in ("/console/assemblies", "/console/assemblies/new"):
            r = await web.get(path, headers=as_role(auth, "organiser", aid))
            assert r.status_code == 403 and "Du har ikke adgang" in r.text


async def test_the_recruitment_overview_shows_the_quotas_with_their_names_for_every_staff_role(rec, settings, auth):
    aid = await make_assembly(rec)
    async with client("recruitment", settings, auth=httpx.Auth()) as web:
        for role in ("organiser", "registrar", "facilitator", "auditor"):
            r = await web.get(f"/assemblies/{aid}/recruitment?lang=en", headers=as_role(auth, role, aid))
            assert r.status_code == 200, (role, r.text)
            assert "Woman" in r.text and "North" in r.text and ">female<" not in r.text
            assert ("/register-import" in r.text) == (role == "registrar")
        member = auth.headers("member", aid, member_id=uuid.uuid4())
        assert (await web.get(f"/assemblies/{aid}/recruitment", headers=member)).status_code == 403
        assert (await web.get(f"/assemblies/{uuid.uuid4()}/recruitment",
                              headers=as_role(auth, "organiser", aid))).status_code == 404
        r = await web.get("/assemblies/not-an-id/recruitment", headers=as_role(auth, "organiser", aid))
        assert r.status_code == 422 and "<html" in r.text
        assert (await web.get(f"/assemblies/{aid}/recruitment")).status_code == 303  # sign in first


async def test_the_registrar_imports_the_register_with_a_validation_report(rec, settings, auth):
    r = await rec.post("/assemblies", json={"name": "Import", "panel_size": 2,
                                             "regions": [{"code": "N", "name": "Nord", "population": 10}],
                                             "strata": [{"category": "gender", "quotas": [
                                                 {"value": "female", "min": 0, "max": 2}, {"value": "male", "min": 0, "max": 2}]}]})
    aid = r.json()["id"]
    web = await browser("recruitment", settings, auth, "registrar", aid)
    async with web:
        page = await web.get(f"/assemblies/{aid}/register-import")
        assert page.status_code == 200 and 'enctype="multipart/form-data"' in page.text
        token = csrf(page)
        bad = "person_id,name,address,region\n1,Ada,Vej 1,N\n2,,Vej 2,N\n3,Bo,Vej 3,X\n1,Cy,Vej 4,N\n"
        files = {"extract": ("udtraek.csv", bad.encode(), "text/csv")}
        r = await web.post(f"/assemblies/{aid}/register-import", files=files)
        assert r.status_code == 403  # no CSRF token
        r = await web.post(f"/assemblies/{aid}/register-import", data={"csrf_token": token}, files=files)
        assert r.status_code == 422
        for words in ("Linje 3: et felt er tomt", "Linje 4: regionen X er ikke en af forsamlingens regioner (N)",
                      "Linje 5: samme person_id"):
            assert words in r.text, words
        r = await web.post(f"/assemblies/{aid}/register-import?lang=en", data={"csrf_token": token},
                           files={"extract": ("x.csv", "name\nAda\n".encode(), "text/csv")})
        assert r.status_code == 422 and "The file lacks the columns: person_id, address, region" in r.text
        r = await web.post(f"/assemblies/{aid}/register-import?lang=da", data={"csrf_token": token},
                           files={"extract": ("x.csv", b"\xff\xfe\x00", "text/csv")})
        assert r.status_code == 422 and "UTF-8" in r.text
        r = await web.post(f"/assemblies/{aid}/register-import", data={"csrf_token": token})
        assert r.status_code == 422 and "Vælg filen" in r.text
        assert (await rec.get(f"/assemblies/{aid}/stats")).json()["invitations"] == 0
        good = "person_id,name,address,region\n" + "".join(f"{i},P{i},Vej {i},N\n" for i in range(7))
        r = await web.post(f"/assemblies/{aid}/register-import", data={"csrf_token": token},
                           files={"extract": ("x.csv", good.encode(), "text/csv")})
        assert r.status_code == 201 and "7 personer blev importeret" in r.text
        r = await web.post(f"/assemblies/{aid}/register-import", data={"csrf_token": token},
                           files={"extract": ("x.csv", good.encode(), "text/csv")})
        assert r.status_code == 409 and "Intet blev importeret" in r.text
    async with client("recruitment", settings, auth=httpx.Auth()) as other:
        r = await other.get(f"/assemblies/{aid}/register-import", headers=as_role(auth, "organiser", aid))
        assert r.status_code == 403


async def test_the_registrar_sends_a_batch_and_downloads_the_letters_once(rec, settings, auth):
    aid = await make_assembly(rec)
    web = await browser("recruitment", settings, auth, "registrar", aid)
    async with web:
        page = await web.get(f"/assemblies/{aid}/invitations")
        assert page.status_code == 200 and "Ingen breve er sendt endnu" in page.text
        token = csrf(page)
        r = await web.post(f"/assemblies/{aid}/invitations", data={"csrf_token": token, "count": "41", "confirm": "true"})
        assert r.status_code == 422 and "Kun 40 personer" in r.text
        r = await web.post(f"/assemblies/{aid}/invitations?lang=en", data={"csrf_token": token, "count": "ti"})
        assert r.status_code == 422 and "Enter the number of letters" in r.text
        r = await web.post(f"/assemblies/{aid}/invitations?lang=da", data={"csrf_token": token, "count": "10"})
        assert r.status_code == 422 and "Sæt kryds" in r.text
        assert (await rec.get(f"/assemblies/{aid}/stats")).json()["invitations"] == 0
        r = await web.post(f"/assemblies/{aid}/invitations", data={"count": "10", "confirm": "true"})
        assert r.status_code == 403
        once = re.search(r'name="once" value="([^"]+)"', page.text).group(1)
        r = await web.post(f"/assemblies/{aid}/invitations", data={"csrf_token": token, "count": "10", "confirm": "true",
                                                                  "once": once})
        assert r.status_code == 201, r.text
        pack = open_pack(r)
        letters = pack.merge
        assert letters[0] == MERGE_HEADER and len(letters) == 11
        assert all(re.fullmatch(r"[A-Z0-9]{4}(-[A-Z0-9]{4}){4}", row[5]) for row in letters[1:])
        assert len(pack.pages) == 10 and letters[1][5] in pack.pages[0] and pack.digital_post is None
        letters = [[row[2], row[3], row[4], row[5]] for row in letters]
        # the same form again (a double click, the back button after the download): refused, nothing sent
        r = await web.post(f"/assemblies/{aid}/invitations?lang=en", data={"csrf_token": token, "count": "10",
                                                                           "confirm": "true", "once": once})
        assert r.status_code == 409 and "already used to send a batch" in r.text
        assert (await rec.get(f"/assemblies/{aid}/stats")).json()["invitations"] == 10
        page = await web.get(f"/assemblies/{aid}/invitations?lang=en")
        assert "North: 8" in page.text and "South: 2" in page.text and letters[1][3] not in page.text
    async with client("recruitment", settings, auth=httpx.Auth()) as other:
        r = await other.get(f"/assemblies/{aid}/invitations", headers=as_role(auth, "organiser", aid))
        assert r.status_code == 200 and 'name="count"' not in r.text  # organisers watch, registrars send
        r = await other.get(f"/assemblies/{aid}/invitations", headers=as_role(auth, "facilitator", aid))
        assert r.status_code == 403
        r = await other.post(f"/assemblies/{aid}/invitations", headers=as_role(auth, "organiser", aid),
                             data={"count": "1", "confirm": "true"})
        assert r.status_code == 403


async def test_registrations_per_stratum_against_the_quotas_as_a_chart_and_csv(rec, settings, auth):
    aid = await make_assembly(rec)
    letters = (await rec.post(f"/assemblies/{aid}/invitation-batches", json={"count": 4, "seed": 2})).json()["letters"]
    for i, letter in enumerate(letters[:3]):
        r = await rec.post("/registrations", json={"code": letter["code"], "consent": True,
                                                   "answers": {"gender": "female" if i else "male"}})
        assert r.status_code == 201
    async with client("recruitment", settings, auth=httpx.Auth()) as web:
        r = await web.get(f"/assemblies/{aid}/replies", headers=as_role(auth, "organiser", aid))
        assert r.status_code == 200 and "Kvinde" in r.text and "bt-chart-bar" in r.text
        assert "67 %" in r.text  # two of three registrations are women
        r = await web.get(f"/assemblies/{aid}/replies.csv?lang=en", headers=as_role(auth, "auditor", aid))
        table = rows_of(r)
        assert table[0][:4] == ["Category", "Value", "Code", "Registrations"]
        women = next(row for row in table if row[2] == "female")
        assert women[:4] == ["Gender", "Woman", "female", "2"] and women[5:7] == ["1", "2"] and women[7] == "On track"
        south = next(row for row in table if row[2] == "S")
        assert south[1] == "South"
        r = await web.get(f"/assemblies/{aid}/replies", headers=as_role(auth, "facilitator", aid))
        assert r.status_code == 403


async def test_the_registrar_issues_and_reissues_selection_letters(rec, settings, auth):
    from tests.integration.test_members import panel_of

    aid, ids = await panel_of(rec, settings)
    web = await browser("recruitment", settings, auth, "registrar", aid)
    async with web:
        page = await web.get(f"/assemblies/{aid}/letters")
        assert page.status_code == 200 and "Medlemmer uden brev: 2" in page.text
        token = csrf(page)
        assert (await web.post(f"/assemblies/{aid}/letters")).status_code == 403
        letters = rows_of(await web.post(f"/assemblies/{aid}/letters", data={"csrf_token": token}))
        assert letters[0] == ["member_id", "name", "address", "email", "phone", "region", "code"] and len(letters) == 3
        assert letters[1][3].endswith("@example.org") and letters[1][4] == ""  # the contact's e-mail in its column
        page = await web.get(f"/assemblies/{aid}/letters")
        assert "Alle medlemmer af panelet har fået et brev" in page.text
        overview = await web.get(f"/assemblies/{aid}/recruitment")
        # every step of recruitment is done but the stipends, which go on while the sessions do
        assert overview.text.count("bt-tag-done") == 4 and overview.text.count("bt-tag-current") == 1
        current = overview.text.split("bt-tag-current")[1].split("</li>")[0]
        assert "/stipend-ledger" in current, current
        member = letters[1][0]
        confirm = await web.get(f"/assemblies/{aid}/letters/{member}/reissue")
        assert confirm.status_code == 200 and "Den gamle kode holder op med at virke" in confirm.text
        again = rows_of(await web.post(f"/assemblies/{aid}/letters/{member}/reissue", data={"csrf_token": token}))
        assert again[1][0] == member and again[1][6] != letters[1][6]
        r = await web.get(f"/assemblies/{aid}/letters/{uuid.uuid4()}/reissue")
        assert r.status_code == 404 and "Siden findes ikke" in r.text
    async with client("recruitment", settings, auth=httpx.Auth()) as other:
        r = await other.get(f"/assemblies/{aid}/letters", headers=as_role(auth, "organiser", aid))
        assert r.status_code == 403


async def test_the_secretariat_names_the_answers_in_danish_and_english(rec, settings, auth):
    aid = await make_assembly(rec)
    web = await browser("recruitment", settings, auth, "organiser", aid)
    async with web:
        page = await web.get(f"/assemblies/{aid}/names")
        assert page.status_code == 200 and 'name="name_da_0"' in page.text and "standardnavn: Kvinde" in page.text
        token = csrf(page)
        form = {"name_da_0": "Kvinder", "name_en_0": "Women", "name_da_2": "Nordjylland"}
        assert (await web.post(f"/assemblies/{aid}/names", data=form)).status_code == 403
        r = await web.post(f"/assemblies/{aid}/names?lang=en", data={**form, "csrf_token": token, "name_en_1": "x" * 101})
        assert r.status_code == 422 and "Quota 2: a name can have at most 100 characters" in r.text
        assert 'value="Kvinder"' in r.text  # what was typed stays
        r = await web.post(f"/assemblies/{aid}/names", data={**form, "csrf_token": token})
        assert r.status_code == 303 and r.headers["location"] == f"/assemblies/{aid}/names?saved=1"
        assert "Women" in (await web.get(f"/assemblies/{aid}/names?saved=1&lang=en")).text
    async with client("recruitment", settings, auth=httpx.Auth()) as citizen:
        da = (await citizen.get(f"/register?assembly={aid}&lang=da")).text
        en = (await citizen.get(f"/register?assembly={aid}&lang=en")).text
    assert ">Kvinder<" in da and ">Mand<" in da and ">Women<" in en
    got = (await rec.get(f"/assemblies/{aid}")).json()
    assert got["strata"][0]["quotas"][0] == {"value": "female", "min": 1, "max": 2, "labels": {"da": "Kvinder", "en": "Women"}}
    assert got["strata"][1]["quotas"][0]["labels"] == {"da": "Nordjylland"}
    # the API: the same handler; a value the assembly has not is refused; an empty name removes it
    r = await rec.put(f"/assemblies/{aid}/value-names", json={"names": [{"category": "gender", "value": "x", "labels": {}}]})
    assert r.status_code == 422 and "not quota values" in r.json()["error"]["message"]
    r = await rec.put(f"/assemblies/{aid}/value-names",
                      json={"names": [{"category": "gender", "value": "female", "labels": {"en": "Woman"}}]})
    assert r.status_code == 200 and r.json()["strata"][0]["quotas"][0]["labels"] == {"en": "Woman"}
    async with client("recruitment", settings, auth=httpx.Auth()) as other:
        for role in ("registrar", "auditor"):
            assert (await other.get(f"/assemblies/{aid}/names", headers=as_role(auth, role, aid))).status_code == 403
