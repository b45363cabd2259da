"""Waves after the first letters, on the real stack: a reminder with a second code (both codes
work; those who replied and returned letters are left out), returned letters booked by the id
or the printed reference, and a targeted second wave sized per region from the gap between the
pool and the quotas, explained on the page and moving the pool towards the quotas."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.integration.test_apis import assert_error, client
from tests.integration.test_pages import csrf
from tests.integration.test_recruitment_pages import browser
from tests.letters import open_pack

pytestmark = pytest.mark.integration

REGIONS = [{"code": "N", "name": "North", "population": 300}, {"code": "S", "name": "South", "population": 100}]
STRATA = [{"category": "gender", "quotas": [{"value": "female", "min": 1, "max": 3}, {"value": "male", "min": 1, "max": 3}]},
          {"category": "region", "quotas": [{"value": "N", "min": 1, "max": 3}, {"value": "S", "min": 1, "max": 3}]}]
EXTRACT = "person_id,name,address,region\n" + "".join(f"{i},P{i},Road {i},{'N' if i % 4 else 'S'}\n" for i in range(400))


async def _assembly(rec) -> str:
    r = await rec.post("/assemblies", json={"name": "Waves", "panel_size": 4, "regions": REGIONS, "strata": STRATA})
    aid = r.json()["id"]
    r = await rec.post(f"/assemblies/{aid}/register-extract", content=EXTRACT, headers={"content-type": "text/csv"})
    assert r.status_code == 201
    return aid


async def test_reminders_returned_letters_and_a_targeted_second_wave(rec):
    aid = await _assembly(rec)
    first = (await rec.post(f"/assemblies/{aid}/invitation-batches", json={"count": 40, "seed": 3})).json()["letters"]
    north = [x for x in first if x["region"] == "N"]
    for x in north[:6]:  # six in the north reply, nobody in the south
        r = await rec.post("/registrations", json={"code": x["code"], "consent": True, "answers": {"gender": "female"}})
        assert r.status_code == 201
    # two letters come back: one by its full id, one by the reference printed on it
    returned = [x for x in first if x not in north[:6]][:2]
    body = f"letter_id,reason\n{returned[0]['letter_id']},moved\n{returned[1]['letter_id'][:13].upper()},unknown address\n"
    body += "0b1c7d8e-1111-2222-3333-444455556666,\n"
    r = await rec.post(f"/assemblies/{aid}/returned-letters", content=body, headers={"content-type": "text/csv"})
    assert r.status_code == 200 and r.json() == {"marked": 2, "already": 0, "unknown": 1}
    r = await rec.post(f"/assemblies/{aid}/returned-letters", content=body, headers={"content-type": "text/csv"})
    assert r.json() == {"marked": 0, "already": 2, "unknown": 1}
    assert_error(await rec.post(f"/assemblies/{aid}/returned-letters", content="letter_id\n0101701234\n",
                                headers={"content-type": "text/csv"}), 422, "line 2")

    # the plan: seats N 3 (population share), S 1; pool factor 10 -> targets 30 and 10
    plan = (await rec.get(f"/assemblies/{aid}/second-wave", params={"pool_factor": 10, "expected_rate": 0.05})).json()
    rows = {r["region"]: r for r in plan["rows"]}
    n_sent = len(north) - sum(1 for x in returned if x["region"] == "N")
    assert rows["N"]["seats"] == 3 and rows["N"]["target"] == 30 and rows["N"]["gap"] == 24
    assert rows["N"]["observed"] and rows["N"]["reply_rate"] == pytest.approx(6 / n_sent)
    assert rows["S"]["seats"] == 1 and rows["S"]["gap"] == 10 and not rows["S"]["observed"]
    assert rows["S"]["letters"] == min(200, rows["S"]["available"])  # 10 / 5 %
    assert rows["N"]["letters"] == min(-(-24 * n_sent // 6), rows["N"]["available"])

    # the reminder: everyone who neither replied nor had the letter returned; a second code that works
    r = await rec.post(f"/assemblies/{aid}/reminder-batches", json={})
    assert r.status_code == 201
    reminders = r.json()["letters"]
    assert len(reminders) == 40 - 6 - 2
    ids = {x["letter_id"] for x in reminders}
    assert not ids & {x["letter_id"] for x in north[:6] + returned}
    old = next(x for x in first if x["letter_id"] == reminders[0]["letter_id"])
    assert reminders[0]["code"] != old["code"]
    r = await rec.post("/registrations", json={"code": reminders[0]["code"], "consent": True,
                                               "answers": {"gender": "male"}})
    assert r.status_code == 201
    assert_error(await rec.post("/registrations", json={"code": old["code"], "consent": True,
                                                        "answers": {"gender": "male"}}), 409)
    assert_error(await rec.post(f"/assemblies/{aid}/reminder-batches", json={}), 409, "nobody to remind")
    stats = (await rec.get(f"/assemblies/{aid}/stats")).json()
    assert stats["invitations"] == 40  # a reminder is no new invitation

    # the targeted wave sends what the plan says, and the south's gap shrinks only by replies
    r = await rec.post(f"/assemblies/{aid}/second-wave-batches", json={"pool_factor": 10, "expected_rate": 0.05,
                                                                        "seed": 5})
    assert r.status_code == 201, r.text
    wave = r.json()
    assert wave["per_region"]["S"] == wave["plan"]["rows"][1]["letters"] > 0
    assert wave["count"] == sum(wave["per_region"].values()) == len(wave["letters"])
    stats = (await rec.get(f"/assemblies/{aid}/stats")).json()
    assert stats["invitations"] == 40 + wave["count"]


async def test_the_waves_page_explains_the_wave_and_sends_it(settings, auth):
    async with client("recruitment", settings) as rec:
        aid = await _assembly(rec)
        letters = (await rec.post(f"/assemblies/{aid}/invitation-batches", json={"count": 20, "seed": 1})).json()["letters"]
        r = await rec.post("/registrations", json={"code": letters[0]["code"], "consent": True,
                                                   "answers": {"gender": "female"}})
        assert r.status_code == 201
    web = await browser("recruitment", settings, auth, "registrar", aid)
    async with web:
        page = await web.get(f"/assemblies/{aid}/waves?factor=10&rate=5")
        assert page.status_code == 200
        for words in ("Kan kvoterne nås?", "Ikke endnu: 2 kvotegrupper", "Påmindelse", "Målrettet anden bølge", "Puljefaktor"):
            assert words in page.text, words
        page = await web.get(f"/assemblies/{aid}/waves?lang=en&factor=0")
        assert page.status_code == 200 and "Enter the pool factor as a number from 1 to 100" in page.text
        page = await web.get(f"/assemblies/{aid}/waves?lang=en")
        assert "Seats: the panel seats the region should get" in page.text and "(expected)" in page.text
        token = csrf(page)
        onces = re.findall(r'name="once" value="([^"]+)"', page.text)
        r = await web.post(f"/assemblies/{aid}/waves?lang=en", data={"csrf_token": token, "action": "reminder",
                                                                    "once": onces[0]})
        assert r.status_code == 422 and "Tick the box" in r.text
        r = await web.post(f"/assemblies/{aid}/waves", data={"csrf_token": token, "action": "reminder", "once": onces[0],
                                                            "confirm": "true"})
        assert r.status_code == 201
        pack = open_pack(r)
        assert len(pack.pages) == 19 and "Påmindelse: du er inviteret til Waves" in pack.pages[0]
        r = await web.post(f"/assemblies/{aid}/waves", data={"csrf_token": token, "action": "reminder", "once": onces[0],
                                                            "confirm": "true"})
        assert r.status_code == 409
        r = await web.post(f"/assemblies/{aid}/waves", data={"csrf_token": token, "action": "wave", "once": onces[1],
                                                            "confirm": "true", "factor": "2", "rate": "50"})
        assert r.status_code == 201
        assert len(open_pack(r).pages) > 0
        returns = f"letter_id,reason\n{letters[1]['letter_id']},flyttet\n"
        r = await web.post(f"/assemblies/{aid}/waves", data={"csrf_token": token, "action": "returned"},
                           files={"returns": ("r.csv", returns.encode(), "text/csv")})
        assert r.status_code == 200 and "1 letter booked as returned" in r.text and "flyttet: 1" in r.text
    async with client("recruitment", settings, auth=httpx.Auth()) as other:
        r = await other.get(f"/assemblies/{aid}/waves", headers=auth.headers("auditor", aid))
        assert r.status_code == 200 and 'name="confirm"' not in r.text
        r = await other.post(f"/assemblies/{aid}/waves", headers=auth.headers("organiser", aid), data={})
        assert r.status_code == 403


