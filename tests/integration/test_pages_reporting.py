"""Reporting's report page in the shared layout: the live report for organisers, facilitators and
auditors, in Danish and English; publishing it from the page (confirmation, CSRF), and the
published document for anyone."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from services.reporting import models as rm
from tests.integration.staff_browser import browser, csrf, error_code
from tests.integration.test_apis import client
from tests.integration.test_pages import reporting_knows

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
        assert page.status_code == 200 and 'name="confirm"' in page.text
        token = csrf(page)
        r = await web.post(f"/assemblies/{aid}/report", data={"confirm": "true"})
        assert r.status_code == 403 and error_code(r) == "csrf_failed"
        r = await web.post(f"/assemblies/{aid}/report", data={"csrf_token": token})
        assert r.status_code == 422 and "Tick the box to confirm" in r.text and 'href="#confirm"' in r.text
        app = web._transport.app
        async with app.state.rt.transaction() as tx:
            count = sa.select(sa.func.count()).where(rm.reports.c.assembly_id == aid)
            assert (await tx.session.execute(count)).scalar_one() == 0
        r = await web.post(f"/assemblies/{aid}/report", data={"csrf_token": token, "confirm": "true"})
        assert r.status_code == 303 and r.headers["location"] == f"/assemblies/{aid}/report?published=1"
        done = await web.get(r.headers["location"])
        assert "The report is published." in done.text and "Publish a new version" in done.text
        async with app.state.rt.transaction() as tx:
            row = (await tx.session.execute(sa.select(rm.reports).where(rm.reports.c.assembly_id == aid))).one()
        assert row.sha256 in done.text
    async with await browser("reporting", settings) as anyone:
        doc = await anyone.get(f"/assemblies/{aid}/report/published")
        assert doc.status_code == 200 and doc.text == row.html
        assert '<html lang="en">' in doc.text and "Borgertinget om luft" in doc.text and "<script" not in doc.text
        assert "ui-static" not in doc.text and "csrf" not in doc.text  # self-contained, nothing of the session


async def test_the_api_publishes_the_document_in_the_language_asked_for(settings):
    aid = await reporting_knows(settings, uuid.uuid4(), "Borgertinget om jord")
    async with client("reporting", settings) as api:
        r = await api.post(f"/assemblies/{aid}/report/publish")
        assert r.status_code == 201, r.text
        doc = await api.get(f"/assemblies/{aid}/report/published")
        assert '<html lang="da">' in doc.text and "Overdragelsesrapport" in doc.text
        assert (await api.post(f"/assemblies/{aid}/report/publish?lang=fr")).status_code == 422


async def test_the_dashboard_links_the_next_step_to_the_page_where_it_is_done(settings, auth):
    aid = await reporting_knows(settings, uuid.uuid4(), "Borgertinget om havet")
    async with await browser("reporting", settings, auth, "organiser", aid) as web:
        page = await web.get(f"/assemblies/{aid}/dashboard")
        assert page.status_code == 200
        # nothing invited yet: the step is recruitment, done on recruitment's page (behind the one origin)
        assert f'<a href="/recruitment/assemblies/{aid}/recruitment">Gå til rekrutteringen</a>' in page.text
        # the menu leads to the draw, voting and the report too
        for path in (f"/sortition/assemblies/{aid}/draw", f"/voting/assemblies/{aid}/voting",
                     f"/reporting/assemblies/{aid}/report"):
            assert f'href="{path}"' in page.text
