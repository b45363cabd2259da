"""Invitation letters people can hold, on the real stack: the assembly's letter details through the
API and the console's page, a batch as the print house's ZIP (one PDF page per letter whose text
names the commissioner, the remit, the dates, the stipend and the code, with a QR code that
decodes to the registration page with that code; a merge CSV), the Digital Post channel's batch
file, letters in English on request, and never a CPR number on paper or in a file name."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest

from services.recruitment.printing import MERGE_HEADER
from tests.integration.test_apis import EXTRACT, REGIONS, STRATA, assert_error, client
from tests.integration.test_pages import csrf
from tests.integration.test_recruitment_pages import browser
from tests.letters import open_pack, qr_codes

CPR = r"(?<!\d)\d{6}-\d{4}(?!\d)"  # a CPR number alone, not a part of a longer letter reference

pytestmark = pytest.mark.integration

DETAILS = {"commissioner": "Klimaministeriet", "remit": "Hvordan når Danmark sine klimamål på en retfærdig måde?",
           "remit_en": "How can Denmark meet its climate goals fairly?",
           "session_dates": ["2027-04-10", "2027-03-06"], "stipend_ore": 150050, "reply_by": "2027-02-01"}
# CPR-shaped person ids (ddmmyy-xxxx): none may reach a letter, a merge file or a file name
CPR_EXTRACT = "person_id,name,address,region\n" + "".join(
    f"0101{70 + i % 30:02d}-{1000 + i},Søren Ærø {i},\"Vestergade {i}, 8000 Aarhus C\",{'N' if i % 4 else 'S'}\n"
    for i in range(12))


async def test_letter_details_through_the_api(rec):
    r = await rec.post("/assemblies", json={"name": "Letters", "panel_size": 4, "regions": REGIONS, "strata": STRATA,
                                            **DETAILS})
    assert r.status_code == 201, r.text
    aid = r.json()["id"]
    got = (await rec.get(f"/assemblies/{aid}")).json()
    assert got["session_dates"] == ["2027-03-06", "2027-04-10"] and got["stipend_ore"] == 150050
    assert got["commissioner"] == "Klimaministeriet" and got["reply_by"] == "2027-02-01"
    r = await rec.put(f"/assemblies/{aid}/letter-details", json={"commissioner": "Folketinget"})
    assert r.status_code == 200 and r.json()["commissioner"] == "Folketinget" and "remit" not in r.json()
    assert_error(await rec.put(f"/assemblies/{aid}/letter-details", json={"stipend_ore": -1}), 422)
    assert_error(await rec.put(f"/assemblies/{uuid.uuid4()}/letter-details", json={}), 404)


async def test_a_batch_as_pdf_letters_with_codes_and_qr_codes(rec):
    r = await rec.post("/assemblies", json={"name": "Borgertinget om klima", "panel_size": 4, "regions": REGIONS,
                                            "strata": STRATA, **DETAILS})
    aid = r.json()["id"]
    r = await rec.post(f"/assemblies/{aid}/register-extract", content=CPR_EXTRACT.encode(),
                       headers={"content-type": "text/csv"})
    assert r.status_code == 201
    r = await rec.post(f"/assemblies/{aid}/invitation-batches", json={"count": 5, "seed": 7, "letters": "zip"},
                       headers={"x-forwarded-host": "borgerting.example", "x-forwarded-proto": "https",
                                "x-forwarded-prefix": "/recruitment"})
    assert r.status_code == 201, r.text
    pack = open_pack(r)
    batch = re.search(r'filename="letters-([0-9a-f-]{36})\.zip"', r.headers["content-disposition"]).group(1)
    assert pack.names == [f"letters-{batch}.pdf", f"merge-{batch}.csv"] and pack.digital_post is None
    assert pack.merge[0] == MERGE_HEADER and len(pack.merge) == 6 and len(pack.pages) == 5
    for row, text in zip(pack.merge[1:], pack.pages):
        letter_id, page, name, _address, _region, code, url, file = row
        assert file == f"letters-{batch}.pdf" and page == str(pack.merge.index(row))
        assert name in text and code in text and letter_id[:13].upper() in text
        assert url == f"https://borgerting.example/recruitment/register#kode={code}"
    first = pack.pages[0]
    for words in ("Du er inviteret til Borgertinget om klima", "Klimaministeriet", "retfærdig måde",
                  "6. marts 2027", "10. april 2027", "1.500,50 kr.", "1. februar 2027", "Dine oplysninger",
                  "dataansvarlig", "https://borgerting.example/recruitment/withdraw", "Vestergade"):
        assert words in first, words
    assert qr_codes(pack.pdf, 0) == [pack.merge[1][6]] and qr_codes(pack.pdf, 4) == [pack.merge[5][6]]
    everything = "\n".join(pack.pages) + str(pack.merge) + " ".join(pack.names) + r.headers["content-disposition"]
    assert not re.search(CPR, everything), "a CPR number on paper or in a file"
    # the codes work: the first letter's code registers
    reg = await rec.post("/registrations", json={"code": pack.merge[1][5], "consent": True,
                                                 "answers": {"gender": "female"}})
    assert reg.status_code == 201, reg.text

    # in English, through Digital Post: the batch file addresses each recipient by CPR number
    r = await rec.post(f"/assemblies/{aid}/invitation-batches",
                       json={"count": 3, "letters": "zip", "language": "en", "channel": "digital-post"})
    pack = open_pack(r)
    assert "You are invited to Borgertinget om klima" in pack.pages[0] and "fairly" in pack.pages[0]
    assert "March 6, 2027" in pack.pages[0] and "DKK 1,500.50" in pack.pages[0]
    dp = pack.digital_post
    assert dp["format"] == "borgerting.digital-post.v2" and dp["language"] == "en" and len(dp["recipients"]) == 3
    assert len(dp["documents"]) == 1 and dp["documents"][0] in pack.names
    person_ids = {line.split(",")[0] for line in CPR_EXTRACT.splitlines()[1:]}
    for i, x in enumerate(dp["recipients"]):
        assert x["recipient"]["type"] == "cpr" and x["recipient"]["id"] in person_ids
        assert x["document"] == dp["documents"][0] and x["pages"] == [i + 1, i + 1] and x["code"] in pack.pages[i] and x["letter_id"] == pack.merge[i + 1][0]
    assert not any(re.search(CPR, n) for n in pack.names)
    assert not re.search(CPR, "\n".join(pack.pages))
    # the JSON letters (as before) carry the letter id, never the person id
    r = await rec.post(f"/assemblies/{aid}/invitation-batches", json={"count": 1})
    assert set(r.json()["letters"][0]) == {"letter_id", "name", "address", "region", "code"}


async def test_the_console_sets_the_letter_details_and_sends_a_pdf_batch(settings, auth):
    async with client("recruitment", settings) as rec:
        r = await rec.post("/assemblies", json={"name": "Konsol", "panel_size": 4, "regions": REGIONS, "strata": STRATA})
        aid = r.json()["id"]
        await rec.post(f"/assemblies/{aid}/register-extract", content=EXTRACT, headers={"content-type": "text/csv"})
    web = await browser("recruitment", settings, auth, "organiser", aid)
    async with web:
        page = await web.get(f"/assemblies/{aid}/letter-details")
        assert page.status_code == 200 and 'name="commissioner"' in page.text
        token = csrf(page)
        r = await web.post(f"/assemblies/{aid}/letter-details?lang=en", data={
            "csrf_token": token, "session_dates": "6.3.2027, 31.2.2027", "stipend": "mange", "reply_by": "1.5.2027"})
        assert r.status_code == 422
        assert "31.2.2027 is not a date" in r.text and "Enter the stipend in kroner" in r.text
        r = await web.post(f"/assemblies/{aid}/letter-details", data={
            "csrf_token": token, "commissioner": "Klimaministeriet", "remit": "Klimaet", "session_dates": "10.4.2027 6.3.2027",
            "stipend": "1.500", "reply_by": "1.2.2027"})
        assert r.status_code == 303, r.text
        page = await web.get(r.headers["location"])
        assert 'value="2027-03-06, 2027-04-10"' in page.text and 'value="1.500"' in page.text
    web = await browser("recruitment", settings, auth, "registrar", aid)
    async with web:
        page = await web.get(f"/assemblies/{aid}/invitations")
        assert "Brevene mangler" not in page.text  # every detail is there
        once = re.search(r'name="once" value="([^"]+)"', page.text).group(1)
        r = await web.post(f"/assemblies/{aid}/invitations", data={"csrf_token": csrf(page), "count": "4",
                                                                  "confirm": "true", "once": once, "language": "en"})
        assert r.status_code == 201
        pack = open_pack(r)
        assert len(pack.pages) == 4 and "You are invited to Konsol" in pack.pages[0] and "DKK 1,500" in pack.pages[0]
    async with client("recruitment", settings, auth=httpx.Auth()) as other:
        r = await other.get(f"/assemblies/{aid}/letter-details", headers=auth.headers("registrar", aid))
        assert r.status_code == 403
