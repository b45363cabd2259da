"""Sortition's pages on the real stack, as browsers with server-side sessions: the public draw from
the first seed commitment to the panel (commit, freeze, reveal, start, live progress), the fairness
page with its chart and the files and command to verify the draw, and a replacement; bad input and
refusals of the domain stay on the page with a clear message in the chosen language; every form
needs its CSRF token; each page is for its roles only."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from services.sortition.app import SPEC
from services.sortition.domain import commitment
from shared.runtime import build_app
from tests.integration.staff_browser import browser, csrf, error_code
from tests.integration.test_sortition_service import replaceable, seed_pool

pytestmark = pytest.mark.integration


@pytest.fixture
async def app(settings):
    a = build_app(SPEC, "api", settings)
    async with a.router.lifespan_context(a):  # runs the job worker, as the api process does
        yield a


async def finished(web, location: str, timeout: float = 120) -> str:
    """Follow a job's progress page (it refreshes itself while the job runs) until it is done."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        page = await web.get(location)
        assert page.status_code == 200, page.text
        if "refresh" not in page.headers:
            return page.text
        assert page.headers["refresh"] == "2" and "opdaterer sig selv" in page.text
        still = await web.get(location + "?still=1")  # the reader may stop the updates
        assert "refresh" not in still.headers and "opdaterer sig selv" not in still.text
        assert loop.time() < deadline, "the job did not finish"
        await asyncio.sleep(0.3)


async def test_the_public_draw_from_the_browser(app, settings, auth):
    aid, people = await seed_pool(app.state.rt, seed=31)  # not test_sortition_service's ids
    base = f"/assemblies/{aid}/draw"
    async with await browser("sortition", settings, auth, "organiser", aid, app=app) as web:
        page = await web.get(base)
        assert page.status_code == 200, page.text
        assert '<html lang="da">' in page.text and "Lodtrækningen" in page.text and "Frøforpligtelser" in page.text
        assert "70 frivillige i puljen til et panel på 9" in page.text and "Køn: Kvinde" in page.text
        assert "Region: North" in page.text and "Region: N<" not in page.text  # the region by its name
        token = csrf(page)
        # every form needs the token
        r = await web.post(f"{base}/commitments", data={"name": "organiser", "commitment": commitment("a")})
        assert r.status_code == 403 and error_code(r) == "csrf_failed"
        # bad input: named at the field, in the chosen language; nothing stored
        r = await web.post(f"{base}/commitments?lang=en", data={"csrf_token": token, "name": "", "commitment": "xyz"})
        assert r.status_code == 422 and "Enter the commitment: 64 hexadecimal characters" in r.text
        assert 'href="#name"' in r.text and 'value="xyz"' in r.text and "No commitments yet." in r.text
        secrets = {"organiser": "correct horse", "ombudsman": "battery staple"}
        for name, value in secrets.items():
            r = await web.post(f"{base}/commitments", data={"csrf_token": token, "name": name,
                                                            "commitment": commitment(value)})
            assert r.status_code == 303 and r.headers["location"] == base
        # a refusal of the domain stays on the page, in Danish, with the service's words beside it
        r = await web.post(f"{base}/commitments?lang=da", data={"csrf_token": token, "name": "ombudsman",
                                                                "commitment": commitment("x")})
        assert r.status_code == 409 and "Det kan ikke lade sig gøre lige nu" in r.text and "already committed" in r.text

        page = await web.get(base)
        assert commitment("battery staple") in page.text and 'name="algorithm"' in page.text
        r = await web.post(f"{base}/freeze", data={"csrf_token": token, "algorithm": "leximin", "lottery_size": "200",
                                                   "reserves": "4"})
        assert r.status_code == 422 and "Sæt kryds for at bekræfte" in r.text  # destructive: confirm first
        r = await web.post(f"{base}/freeze", data={"csrf_token": token, "algorithm": "leximin", "lottery_size": "many",
                                                   "reserves": "4", "confirm": "true"})
        assert r.status_code == 422 and "Skriv et helt tal fra 1 til 10.000" in r.text
        # GOLDILOCKS' cap: a number, and only with GOLDILOCKS (the field is on the form)
        assert 'name="cap"' in page.text and 'value="goldilocks"' in page.text
        for algorithm, cap in (("goldilocks", "three"), ("leximin", "3")):
            r = await web.post(f"{base}/freeze", data={"csrf_token": token, "algorithm": algorithm, "cap": cap,
                                                       "lottery_size": "200", "reserves": "4", "confirm": "true"})
            assert r.status_code == 422 and "Angiv et tal over 0 (for eksempel 3), og kun med GOLDILOCKS" in r.text
        assert 'name="intersectional"' in page.text  # quotas on pairs of categories, one per line
        r = await web.post(f"{base}/freeze", data={"csrf_token": token, "algorithm": "leximin", "lottery_size": "200",
                                                   "intersectional": "gender,female,age", "reserves": "4",
                                                   "confirm": "true"})
        assert r.status_code == 422 and "Skriv én kvote pr. linje" in r.text and "gender,female,age</textarea>" in r.text
        # the whole population's figures: lines category,value,count, and only with that algorithm
        assert 'name="population"' in page.text and 'value="population"' in page.text
        for algorithm, figures in (("population", ""), ("population", "gender,female,many"), ("leximin", "gender,female,5")):
            r = await web.post(f"{base}/freeze", data={"csrf_token": token, "algorithm": algorithm, "population": figures,
                                                       "lottery_size": "200", "reserves": "4", "confirm": "true"})
            assert r.status_code == 422 and "Skriv én linje pr. gruppe" in r.text, algorithm + figures
        r = await web.post(f"{base}/freeze", data={"csrf_token": token, "algorithm": "leximin", "lottery_size": "200",
                                                   "reserves": "4", "confirm": "true"})
        assert r.status_code == 303, r.text
        page = await web.get(base)
        assert "Puljens hash" in page.text and 'name="reveal_name"' in page.text and 'name="commitment"' not in page.text

        r = await web.post(f"{base}/reveals", data={"csrf_token": token, "reveal_name": "ombudsman", "value": "wrong"})
        assert r.status_code == 422 and "does not match" in r.text
        for name, value in secrets.items():
            r = await web.post(f"{base}/reveals", data={"csrf_token": token, "reveal_name": name, "value": value})
            assert r.status_code == 303, r.text
        page = await web.get(base)
        assert 'action="/assemblies/' in page.text and "Start lodtrækningen" in page.text
        r = await web.post(f"{base}/start", data={"csrf_token": token, "legacy_samples": "50"})
        assert r.status_code == 422
        r = await web.post(f"{base}/start", data={"csrf_token": token, "legacy_samples": "50", "confirm": "true"})
        assert r.status_code == 303 and r.headers["location"].startswith(f"{base}/jobs/")
        done = await finished(web, r.headers["location"])
        assert "Færdig" in done and "100 %" in done and f"{base}/fairness" in done
        assert (await web.get(f"/assemblies/{aid}/draw/jobs/{uuid.uuid4()}")).status_code == 404

        page = await web.get(f"{base}/panel")
        assert page.status_code == 200 and page.text.count('<li><code>') == 9 + 4  # the panel, then 4 reserves

        # replacements: the commitment to the next one's randomness is shown before any drop-out
        page = await web.get(f"{base}/replacements")
        assert page.status_code == 200 and "Ingen erstatninger endnu" in page.text
        import re

        members = re.findall(r'name="dropped" value="([0-9a-f-]{36})"', page.text)
        assert len(members) == 9
        r = await web.post(f"{base}/replacements", data={"csrf_token": token, "confirm": "true"})
        assert r.status_code == 422 and "Vælg mindst ét medlem" in r.text
        [gone] = replaceable(members, people, set(), 1)
        r = await web.post(f"{base}/replacements", data={"csrf_token": token, "dropped": gone, "confirm": "true"})
        assert r.status_code == 303, r.text
        done = await finished(web, r.headers["location"])
        assert "Færdig" in done
        page = await web.get(f"{base}/replacements?lang=en")
        assert "r1.json" in page.text and "borgerting sortition verify-replacement r1.json --draw transcript.json" in page.text

    # the fairness page, the files and the command: for anyone
    async with await browser("sortition", settings, app=app) as anyone:
        page = await anyone.get(f"{base}/fairness?lang=en")
        assert page.status_code == 200 and "<svg" in page.text and 'role="img"' in page.text
        assert "Selection chance of every volunteer" in page.text and page.text.count("<rect ") >= 1
        assert "Region: South" in page.text
        assert "borgerting sortition verify transcript.json --features features.csv --people people.csv" in page.text
        t = await anyone.get(f"{base}/transcript.json")
        assert t.status_code == 200 and "attachment" in t.headers["content-disposition"]
        assert t.json()["transcript_hash"] in page.text
        # certified optimal, with the certificate and the exact command to check it
        cert = await anyone.get(f"{base}/certificate.json")
        assert cert.status_code == 200 and "attachment" in cert.headers["content-disposition"]
        assert cert.json()["certificate"]["hash"] == t.json()["certificate_hash"] and t.json()["certificate_hash"] in page.text
        assert "Certified optimal" in page.text and f"{base}/certificate.json" in page.text
        assert ("borgerting sortition certify certificate.json --features features.csv --people people.csv "
                "--address-columns household") in page.text
        da = await anyone.get(f"{base}/fairness?lang=da")
        assert "Certificeret optimal" in da.text and "borgerting sortition certify certificate.json" in da.text
        assert (await anyone.get(f"{base}/people.csv")).text.startswith("id,")
        r1 = await anyone.get(f"{base}/replacements/1/transcript.json")
        assert r1.status_code == 200 and r1.json()["number"] == 1
        assert (await anyone.get(f"{base}/replacements/2/transcript.json")).status_code == 404
        r = await anyone.get(base)
        assert r.status_code == 303 and "/signin?next=" in r.headers["location"]


async def test_each_draw_page_is_for_its_roles(app, settings, auth):
    aid, _people = await seed_pool(app.state.rt, n=20, seed=32)
    base = f"/assemblies/{aid}/draw"
    async with await browser("sortition", settings, auth, "auditor", aid, app=app) as web:
        page = await web.get(f"{base}?lang=en")
        assert page.status_code == 200 and "The draw" in page.text and "<form method=\"post\" action=\"/assemblies" not in page.text
        r = await web.post(f"{base}/commitments", data={"csrf_token": csrf(page), "name": "a", "commitment": "a" * 64})
        assert r.status_code == 403 and error_code(r) == "forbidden"
        assert (await web.get(f"{base}/replacements")).status_code == 200
        # before the draw nothing is published
        r = await web.get(f"{base}/fairness")
        assert r.status_code == 404 and "Page not found" in r.text  # in the language chosen above
    async with await browser("sortition", settings, auth, "facilitator", aid, app=app) as web:
        assert (await web.get(f"{base}/panel")).status_code == 200
        assert error_code(await web.get(base)) == "forbidden"
    async with await browser("sortition", settings, auth, "organiser", uuid.uuid4(), app=app) as web:
        r = await web.get(base)
        assert r.status_code == 404 and error_code(r) == "not_found"
