"""Voting's pages on the real stack, as browsers with server-side sessions: the secretariat creates
a ballot, members take their tokens, officials hand out a paper sheet, the organiser opens voting
(confirmation), the turnout rises while no result is shown, two officials key in and confirm the
paper vote, the organiser closes and the results appear; the public board shows them, finds a
receipt and offers the signed export with its verify command. Bad input and refusals stay on the
page in the chosen language; every form needs its CSRF token; each page is for its roles only."""

from __future__ import annotations

import asyncio
import re
import uuid

import httpx
import pytest

from services.voting.app import SPEC
from services.voting.client import VotingClient
from shared.runtime import build_app
from tests.integration.staff_browser import browser, csrf, error_code
from tests.integration.test_voting_service import assembly_with_panel

pytestmark = pytest.mark.integration


@pytest.fixture
async def app(settings):
    a = build_app(SPEC, "api", settings.model_copy(update={"voting_flush_seconds": 0.01}))
    async with a.router.lifespan_context(a):  # the ballot box's batches are flushed
        yield a


async def test_a_ballot_run_from_the_browser(app, sessionmaker, settings, auth):
    aid, members, _session = await assembly_with_panel(sessionmaker, n=4, present=4)
    api = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
    org = await browser("voting", settings, auth, "organiser", aid, app=app)
    reg1 = await browser("voting", settings, auth, "registrar", aid, app=app, subject="anna")
    reg2 = await browser("voting", settings, auth, "registrar", aid, app=app, subject="bo")
    async with api, org, reg1, reg2:
        page = await org.get(f"/assemblies/{aid}/voting")
        assert page.status_code == 200, page.text
        assert '<html lang="da">' in page.text and "Afstemninger" in page.text and "Ingen afstemninger endnu" in page.text
        token = csrf(page)
        good = {"title": "Final vote", "recommendations": "Plant more trees\nBuild cycle lanes\n", "fraction": "2/3",
                "base": "valid_votes", "min_fraction": ""}
        r = await org.post(f"/assemblies/{aid}/voting", data=good)
        assert r.status_code == 403 and error_code(r) == "csrf_failed"
        r = await org.post(f"/assemblies/{aid}/voting?lang=en", data={"csrf_token": token, "title": "", "fraction": "9/10",
                                                                     "base": "valid_votes", "min_fraction": "lots"})
        assert r.status_code == 422 and "Enter a title of 1-200 characters" in r.text
        assert "Enter at least one recommendation" in r.text and "Choose the share needed" in r.text
        assert "Enter the quorum as a share" in r.text and "No ballots yet." in r.text
        r = await org.post(f"/assemblies/{aid}/voting?lang=da", data={"csrf_token": token, **good})
        assert r.status_code == 303, r.text
        ballot_url = r.headers["location"]
        bid = ballot_url.rsplit("/", 1)[1]
        page = await org.get(ballot_url)
        assert page.status_code == 200 and "Deler stemmesedler ud" in page.text and "Plant more trees" in page.text
        assert 'name="confirm"' in page.text and "refresh" not in page.headers  # never under a form being filled
        watch = await org.get(f"{ballot_url}?watch=1")
        assert watch.headers["refresh"] == "15" and "Stop med at opdatere" in watch.text

        # members take their tokens (the portal's ballot page does this in the browser)
        client = VotingClient(api)
        ballot = await client.ballot(bid)
        tokens = [await client.get_token(ballot, headers=auth.headers("member", aid, member_id=members[i])) for i in range(2)]
        # a registrar hands member 3 a paper sheet
        page = await reg1.get(ballot_url)
        r = await reg1.post(f"{ballot_url}/sheets", data={"csrf_token": csrf(page), "member_id": "nobody",
                                                          "sheet_kind": "paper"})
        assert r.status_code == 422 and "Skriv medlemmets nummer" in r.text
        r = await reg1.post(f"{ballot_url}/sheets", data={"csrf_token": csrf(page), "member_id": str(members[3]),
                                                          "sheet_kind": "paper"})
        assert r.status_code == 303, r.text
        r = await reg1.post(f"{ballot_url}/sheets", data={"csrf_token": csrf(page), "member_id": str(members[3]),
                                                          "sheet_kind": "paper"})
        assert r.status_code == 409 and "already received" in r.text  # one member, one vote
        # registrars cannot open voting
        r = await reg1.post(f"{ballot_url}/open", data={"csrf_token": csrf(page), "confirm": "true"})
        assert r.status_code == 403 and error_code(r) == "forbidden"

        r = await org.post(f"{ballot_url}/open", data={"csrf_token": token})
        assert r.status_code == 422 and "Sæt kryds for at bekræfte" in r.text
        r = await org.post(f"{ballot_url}/open", data={"csrf_token": token, "confirm": "true"})
        assert r.status_code == 303
        receipts = [await client.vote(ballot, {"q1": "yes", "q2": "yes"}, tokens[0]),
                    await client.vote(ballot, {"q1": "yes", "q2": "no"}, tokens[1])]

        async def turnout() -> str:
            for _ in range(100):
                page = await org.get(f"{ballot_url}?watch=1")
                found = re.search(r'<span class="bt-figure">(\d+)</span>stemmer på tavlen', page.text)
                if found and found.group(1) == "2":
                    return page.text
                await asyncio.sleep(0.1)
            raise AssertionError("the turnout never showed the two votes")

        text = await turnout()
        assert "Afstemningen er åben" in text and "vedtaget" not in text  # the turnout, never a result

        # paper: one official keys the sheet in, a second confirms it
        page = await reg1.get(ballot_url)
        r = await reg1.post(f"{ballot_url}/entries", data={"csrf_token": csrf(page), "entry_kind": "paper",
                                                           "sheet_id": "S-1", "choice_q1": "no"})
        assert r.status_code == 422 and "Vælg et svar til hvert spørgsmål" in r.text
        r = await reg1.post(f"{ballot_url}/entries", data={"csrf_token": csrf(page), "entry_kind": "paper",
                                                           "sheet_id": "S-1", "choice_q1": "no", "choice_q2": "no"})
        assert r.status_code == 303, r.text
        page = await reg2.get(ballot_url)
        [entry] = re.findall(r'/voting/entries/([0-9a-f-]{36})/confirm', page.text)
        assert "Venter på en anden valgembedsperson" in page.text
        r = await reg1.post(f"/assemblies/{aid}/voting/entries/{entry}/confirm", data={"csrf_token": csrf(page)})
        assert r.status_code == 403  # the token of another session is worthless here
        mine = await reg1.get(ballot_url)
        r = await reg1.post(f"/assemblies/{aid}/voting/entries/{entry}/confirm", data={"csrf_token": csrf(mine)})
        assert r.status_code == 403 and "Du har ikke adgang" in r.text and "Venter på en anden" in r.text  # not the one who keyed it in
        r = await reg2.post(f"/assemblies/{aid}/voting/entries/{entry}/confirm", data={"csrf_token": csrf(page)})
        assert r.status_code == 303, r.text
        assert "Bekræftet: på tavlen" in (await reg2.get(ballot_url)).text

        r = await org.post(f"{ballot_url}/close", data={"csrf_token": token, "confirm": "true"})
        assert r.status_code == 303
        page = await org.get(f"{ballot_url}?lang=en&watch=1")
        assert "refresh" not in page.headers and "Closed" in page.text  # nothing left to watch and "Results" in page.text
        assert "3 of 4 members voted." in page.text and page.text.count(">adopted<") == 1  # trees: 2 of 3 yes; lanes: 1 of 3

    # the public board
    async with await browser("voting", settings, app=app) as anyone:
        board = await anyone.get(f"/assemblies/{aid}/voting/board?lang=en")
        assert board.status_code == 200 and "The bulletin board" in board.text and ">adopted<" in board.text
        assert "borgerting voting verify board.json --fingerprint" in board.text
        position, digest = receipts[0]["receipt"].split(":")
        found = await anyone.get(f"/assemblies/{aid}/voting/board", params={"position": position, "hash": digest})
        assert found.status_code == 200 and f"Your vote is on the board at position {position}" in found.text
        bad = await anyone.get(f"/assemblies/{aid}/voting/board", params={"position": "abc"})
        assert bad.status_code == 422 and "Enter the position from your receipt" in bad.text
        wrong = await anyone.get(f"/assemblies/{aid}/voting/board", params={"position": position, "hash": "0" * 64})
        assert wrong.status_code == 422 and "another hash than your receipt" in wrong.text
        export = await anyone.get(f"/assemblies/{aid}/voting/board/export.json")
        assert export.status_code == 200 and export.json()["board_id"] == f"assembly-{aid}"
        r = await anyone.get(f"/assemblies/{aid}/voting")
        assert r.status_code == 303 and "/signin?next=" in r.headers["location"]


async def test_each_voting_page_is_for_its_roles(app, sessionmaker, settings, auth):
    aid, _members, _session = await assembly_with_panel(sessionmaker, n=2, present=2)
    async with await browser("voting", settings, auth, "organiser", aid, app=app) as org:
        page = await org.get(f"/assemblies/{aid}/voting")
        r = await org.post(f"/assemblies/{aid}/voting", data={"csrf_token": csrf(page), "title": "T",
                                                              "recommendations": "A", "fraction": "1/2", "base": "members"})
        ballot_url = r.headers["location"]
    async with await browser("voting", settings, auth, "auditor", aid, app=app) as web:
        page = await web.get(f"{ballot_url}?lang=en")
        assert page.status_code == 200 and 'name="confirm"' not in page.text and 'name="member_id"' not in page.text
        r = await web.post(f"{ballot_url}/open", data={"csrf_token": csrf(page), "confirm": "true"})
        assert r.status_code == 403 and error_code(r) == "forbidden"
    async with await browser("voting", settings, auth, "facilitator", aid, app=app) as web:
        assert error_code(await web.get(f"/assemblies/{aid}/voting")) == "forbidden"
    async with await browser("voting", settings, auth, "organiser", uuid.uuid4(), app=app) as web:
        r = await web.get(ballot_url)
        assert r.status_code == 404 and error_code(r) == "not_found"
    # a ballot of another assembly is not found under this one
    other, _m, _s = await assembly_with_panel(sessionmaker, n=1, present=1)
    async with await browser("voting", settings, auth, "organiser", other, app=app) as web:
        r = await web.get(f"/assemblies/{other}/voting/ballots/{ballot_url.rsplit('/', 1)[1]}")
        assert r.status_code == 404 and error_code(r) == "not_found"
        r = await web.get(f"/assemblies/{other}/voting/board")
        assert r.status_code == 404


async def test_a_ballot_with_a_check_in_session_and_another_share(app, sessionmaker, settings, auth):
    from datetime import datetime, timezone

    from shared.events import contracts as ev
    from tests.integration.test_voting_service import apply

    aid, _members, _session = await assembly_with_panel(sessionmaker, n=3, present=3)
    final = uuid.uuid4()
    await apply(sessionmaker, "sessions.session-scheduled.v1", ev.SessionScheduledV1(
        assembly_id=aid, session_id=final, title="Weekend 3", starts_at=datetime(2027, 5, 1, 8, tzinfo=timezone.utc),
        mode="physical", phase="voting", duration_hours=6))
    async with await browser("voting", settings, auth, "organiser", aid, app=app) as org:
        page = await org.get(f"/assemblies/{aid}/voting?lang=en")
        assert f'value="{final}"' in page.text and "Weekend 3, May 1, 2027" in page.text
        form = {"csrf_token": csrf(page), "title": "Final", "recommendations": "A\nB", "fraction": "other",
                "base": "valid_votes", "session_id": str(final)}
        r = await org.post(f"/assemblies/{aid}/voting", data={**form, "fraction_other": "seventy"})
        assert r.status_code == 422 and "Enter the share as a fraction such as 7/10 or 0.7" in r.text
        r = await org.post(f"/assemblies/{aid}/voting", data={**form, "session_id": str(uuid.uuid4()), "fraction_other": "0.7"})
        assert r.status_code == 422 and "is not a session of this assembly" in r.text  # said on the page
        r = await org.post(f"/assemblies/{aid}/voting", data={**form, "fraction_other": "0.7"})
        assert r.status_code == 303, r.text
        page = await org.get(r.headers["location"])
        assert "at least 7/10 of the valid votes" in page.text and "checked in: Weekend 3" in page.text
