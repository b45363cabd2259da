"""Reporting's report page in the shared layout: the live report for organisers, facilitators and
auditors, in Danish and English; publishing it from the page (confirmation, CSRF), and the
published document for anyone."""

from __future__ import annotations

import hashlib
import uuid

import httpx
import pytest
import sqlalchemy as sa

from services.reporting import models as rm
from services.reporting.handlers import HANDLERS
from shared.events import contracts as ev
from tests.integration.staff_browser import browser, csrf, error_code
from tests.integration.test_apis import client
from tests.integration.test_pages import reporting_knows
from tests.letters import pdf_pages

pytestmark = pytest.mark.integration


async def test_the_report_page_speaks_both_languages_and_is_for_staff_of_the_assembly(settings, auth):
    aid = await reporting_knows(settings, uuid.uuid4(), "Borgertinget om vand")
    async with await browser("reporting", settings, auth, "facilitator", aid) as web:
        page = await web.get(f"/assemblies/{aid}/report")
        assert page.status_code == 200, page.text
        assert '<html lang="da">' in page.text and "Overdragelsesrapport" in page.text and "Borgertinget om vand" in page.text
        assert "Ikke offentliggjort endnu" in page.text and "Rekruttering pr. region" in page.text
        assert 'name="confirm"' not in page.text  # facilitators read; only organisers publish
        en = await web.get(f"/assemblies/{aid}/report?lang=en")
        assert '<html lang="en">' in en.text and "Handover report" in en.text and "Recruitment by region" in en.text
        assert "Kvinde" not in en.text and ("Woman" in en.text)  # the quota's value by its label, not its code
        # a facilitator cannot publish
        r = await web.post(f"/assemblies/{aid}/report", data={"csrf_token": csrf(page), "confirm": "true"})
        assert r.status_code == 403 and error_code(r) == "forbidden"
    async with await browser("reporting", settings, auth, "member", aid) as web:
        r = await web.get(f"/assemblies/{aid}/report")
        assert r.status_code == 403 and error_code(r) == "forbidden"
    async with await browser("reporting", settings, auth, "organiser", uuid.uuid4()) as web:
        r = await web.get(f"/assemblies/{aid}/report")
        assert r.status_code == 404 and error_code(r) == "not_found"
    async with await browser("reporting", settings) as web:
        r = await web.get(f"/assemblies/{aid}/report")
        assert r.status_code == 303 and "/signin?next=" in r.headers["location"]
        # nothing published yet: a clear 404 page, in the chosen language
        r = await web.get(f"/assemblies/{aid}/report/published?lang=en")
        assert r.status_code == 404 and "Page not found" in r.text and "none published yet" in r.text


async def test_an_organiser_publishes_the_report_from_the_page(settings, auth):
    aid = await reporting_knows(settings, uuid.uuid4(), "Borgertinget om luft")
    async with await browser("reporting", settings, auth, "organiser", aid) as web:
        page = await web.get(f"/assemblies/{aid}/report?lang=en")
        assert page.status_code == 200 and 'name="confirm"' in page.text and 'name="note"' in page.text
        token = csrf(page)
        r = await web.post(f"/assemblies/{aid}/report", data={"confirm": "true"})
        assert r.status_code == 403 and error_code(r) == "csrf_failed"
        r = await web.post(f"/assemblies/{aid}/report", data={"csrf_token": token, "note": "x" * 2001})
        assert r.status_code == 422 and "Tick the box to confirm" in r.text and 'href="#confirm"' in r.text
        assert "Shorten the note" in r.text
        app = web._transport.app
        async with app.state.rt.transaction() as tx:
            count = sa.select(sa.func.count()).where(rm.report_versions.c.assembly_id == aid)
            assert (await tx.session.execute(count)).scalar_one() == 0
        r = await web.post(f"/assemblies/{aid}/report", data={"csrf_token": token, "confirm": "true"})
        assert r.status_code == 303 and r.headers["location"] == f"/assemblies/{aid}/report?published=1"
        done = await web.get(r.headers["location"])
        assert "The report is published." in done.text and "Publish a new version" in done.text
        assert "Version 1 was published" in done.text
        async with app.state.rt.transaction() as tx:
            row = (await tx.session.execute(sa.select(rm.report_versions)
                                            .where(rm.report_versions.c.assembly_id == aid))).one()
    async with await browser("reporting", settings) as anyone:
        doc = await anyone.get(f"/assemblies/{aid}/report/published?lang=en")
        assert doc.status_code == 200 and doc.text == row.html_en and doc.headers["x-report-version"] == "1"
        assert '<html lang="en">' in doc.text and "Borgertinget om luft" in doc.text and "<script" not in doc.text
        assert "ui-static" not in doc.text and "csrf" not in doc.text  # self-contained, nothing of the session
        assert hashlib.sha256(doc.content).hexdigest() == row.hashes["en.html"]
        da = await anyone.get(f"/assemblies/{aid}/report/published?lang=da")
        assert '<html lang="da">' in da.text and "Overdragelsesrapport" in da.text and "Version 1, offentliggjort" in da.text


def pdf_text(body: bytes) -> str:
    return "\n".join(pdf_pages(body))


async def test_each_publication_is_a_new_immutable_version_with_pdfs_and_what_changed(settings):
    aid = await reporting_knows(settings, uuid.uuid4(), "Borgertinget om jord")
    async with client("reporting", settings) as api:
        r = await api.post(f"/assemblies/{aid}/report/publish")
        assert r.status_code == 201, r.text
        first = r.json()
        assert first["version"] == 1 and first["corrects"] is None and set(first["sha256"]) == {
            "da.html", "en.html", "da.pdf", "en.pdf"}
        v1 = {name: (await api.get(f"/assemblies/{aid}/report/versions/1/{name}")).content for name in first["sha256"]}
        for name, body in v1.items():  # served exactly as hashed
            assert hashlib.sha256(body).hexdigest() == first["sha256"][name], name
        assert v1["da.pdf"].startswith(b"%PDF") and "Overdragelsesrapport" in pdf_text(v1["da.pdf"])
        text = pdf_text(v1["en.pdf"])
        assert "Handover report" in text and "Borgertinget om jord" in text and "Version 1" in text
        assert "Recruitment by region" in text and "Nord" in text and "300" in text  # the region and its population

        # New facts arrive (a batch of letters), then a correction: version 2, with what changed
        app = api._transport.app
        async with app.state.rt.transaction() as tx:
            await HANDLERS["recruitment.invitations-sent.v1"](tx, None, ev.InvitationsSentV1(
                assembly_id=aid, batch_id=uuid.uuid4(), count=120, per_region={"N": 120}))
        r = await api.post(f"/assemblies/{aid}/report/publish", json={"note": "The letters of wave 1 were missing"})
        assert r.status_code == 201, r.text
        second = r.json()
        assert second["version"] == 2 and second["corrects"] == 1
        en2 = (await api.get(f"/assemblies/{aid}/report/versions/2/en.pdf")).content
        text = pdf_text(en2)
        assert "It corrects version 1" in text and "The letters of wave 1 were missing" in text
        assert "What changed since version 1" in text and "invitations_sent" in text and "120" in text
        # Version 1 is unchanged, byte for byte, and the newest address serves version 2
        for name, body in v1.items():
            assert (await api.get(f"/assemblies/{aid}/report/versions/1/{name}")).content == body
        newest = await api.get(f"/assemblies/{aid}/report/published.pdf?lang=en")
        assert newest.headers["x-report-version"] == "2" and newest.content == en2
        assert newest.headers["content-type"] == "application/pdf"
        # The database refuses to change or remove a published version
        for statement in (sa.update(rm.report_versions).where(rm.report_versions.c.assembly_id == aid)
                          .values(html_en="forged"),
                          sa.delete(rm.report_versions).where(rm.report_versions.c.assembly_id == aid)):
            with pytest.raises(Exception, match="immutable"):
                async with app.state.rt.transaction() as tx:
                    await tx.session.execute(statement)
        assert (await api.get(f"/assemblies/{aid}/report/versions/1/en.html")).content == v1["en.html"]
        await app.state.rt.close()
    async with client("reporting", settings, auth=httpx.Auth()) as anyone:  # no token
        page = await anyone.get(f"/assemblies/{aid}/report/versions?lang=en")
        assert page.status_code == 200 and "Version 2" in page.text and "Version 1" in page.text
        for digest in (*first["sha256"].values(), *second["sha256"].values()):
            assert digest in page.text
        assert "invitations_sent" in page.text  # what changed, on the public page too
        assert (await anyone.get(f"/assemblies/{aid}/report/versions/3/da.html")).status_code == 404
        assert (await anyone.get(f"/assemblies/{aid}/report/versions/1/fr.html")).status_code == 422
        assert (await anyone.get(f"/assemblies/{uuid.uuid4()}/report/versions")).status_code == 404


async def test_small_groups_are_suppressed_in_the_report(settings, auth):
    aid = await reporting_knows(settings, uuid.uuid4(), "Borgertinget om skoven")
    async with client("reporting", settings) as api:
        app = api._transport.app
        async with app.state.rt.transaction() as tx:
            people = [uuid.uuid4() for _ in range(9)]
            for i, x in enumerate(people):  # 6 women (3 of them on the panel), 3 men
                await HANDLERS["recruitment.respondent-registered.v1"](tx, None, ev.RespondentRegisteredV1(
                    assembly_id=aid, respondent_id=x, region="N",
                    features={"region": "N", "gender": "female" if i < 6 else "male"}))
            await HANDLERS["sortition.panel-drawn.v1"](tx, None, ev.PanelDrawnV1(
                assembly_id=aid, panel_id=uuid.uuid4(), algorithm="leximin", members=people[:3], pool_size=9))
        summary = (await api.get(f"/assemblies/{aid}/summary")).json()
        assert [(c["pool"], c["panel"]) for c in summary["composition"]] == [(6, 3)]  # staff see every figure
        await app.state.rt.close()
    async with await browser("reporting", settings, auth, "auditor", aid) as web:
        page = (await web.get(f"/assemblies/{aid}/report?lang=en")).text
        row = page[page.index("Gender: Woman"):][:600]
        assert "fewer than 5" in row and ">6 (" in row  # the pool's 6 shown, the panel's 3 not
        assert "Panel 100 %" not in page and "Panel fewer than 5" in page  # nor its share in the chart
    k3 = settings.model_copy(update={"report_min_group": 3})
    async with await browser("reporting", k3, auth, "auditor", aid) as web:
        page = (await web.get(f"/assemblies/{aid}/report?lang=en")).text
        row = page[page.index("Gender: Woman"):][:600]
        assert "fewer than" not in row and ">3 (" in row  # the threshold is configurable


async def test_the_dashboard_links_the_next_step_to_the_page_where_it_is_done(settings, auth):
    aid = await reporting_knows(settings, uuid.uuid4(), "Borgertinget om havet")
    async with await browser("reporting", settings, auth, "organiser", aid) as web:
        page = await web.get(f"/assemblies/{aid}/dashboard")
        assert page.status_code == 200
        # nothing invited yet: the step is recruitment, done on recruitment's page (behind the one origin)
        assert f'<a href="/recruitment/assemblies/{aid}/recruitment">Gå til rekrutteringen</a>' in page.text
        # the registrations per stratum name the groups as people read them, not by their codes
        assert "<th scope=\"row\">Køn: Kvinde</th>" in page.text and "gender: female" not in page.text
        # the menu leads to the draw, voting and the report too
        for path in (f"/sortition/assemblies/{aid}/draw", f"/voting/assemblies/{aid}/voting",
                     f"/reporting/assemblies/{aid}/report"):
            assert f'href="{path}"' in page.text
