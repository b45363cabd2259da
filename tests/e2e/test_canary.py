"""The personal-data canary (docs/privacy.md): a citizen with a unique name, address, e-mail,
phone and CPR-like register id goes through the register import, the letters (PDF), registration,
a refused second import and registration, the draw, the selection letter,
the member's login and the right-of-access export; then none of it may appear in any Kafka topic,
any log line of the five services or of PostgreSQL, any /metrics output, or any logged URL."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from borgerting.cluster import SERVICES
from tests.conftest import STATE

pytestmark = pytest.mark.e2e

# Unique enough that any hit is a leak; the parts are checked one by one (a log that quoted half
# an address leaks it too).
NAME, ADDRESS = "Kanarius Fjerdingsen-Quillby", "Kanarievej 917, 9917 Kanarby"
EMAIL, PHONE, CPR = "kanarius.q917@example.org", "+45 91 79 17 91", "2909179917"
CANARIES = (NAME, "Kanarius", "Quillby", ADDRESS, "Kanarievej", "Kanarby", EMAIL, "kanarius.q917", PHONE,
            "91 79 17 91", CPR)


def wait_for(fn, what: str, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := fn():
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


async def every_message(bootstrap: str) -> list[bytes]:
    """Every key, value and header of every message of every topic on the broker, from the start."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        topics = await consumer.topics()
        parts = [TopicPartition(t, p) for t in topics for p in (consumer.partitions_for_topic(t) or ())]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        end = await consumer.end_offsets(parts)
        seen: list[bytes] = []
        left = {tp for tp in parts if end[tp] > 0}
        deadline = time.monotonic() + 30
        while left and time.monotonic() < deadline:
            for tp, batch in (await consumer.getmany(timeout_ms=500)).items():
                for msg in batch:
                    seen += [msg.key or b"", msg.value or b"", *(v or b"" for _k, v in msg.headers or ())]
                    if msg.offset + 1 >= end[tp]:
                        left.discard(tp)
        assert not left, f"could not read {sorted(str(x) for x in left)} to the end"
        return seen
    finally:
        await consumer.stop()


def leaks(text: str) -> list[str]:
    return [c for c in CANARIES if c.lower() in text.lower()]


def test_personal_data_never_leaves_the_vault(cluster, staff):
    u, rec, sor = cluster.urls, cluster.urls["recruitment"], cluster.urls["sortition"]
    http = httpx.Client(timeout=60, auth=staff)
    aid = http.post(f"{rec}/assemblies", json={
        "name": "Canary assembly", "panel_size": 1, "regions": [{"code": "R1", "name": "Region 1", "population": 100}],
        "strata": [{"category": "gender", "quotas": [{"value": "female", "min": 0, "max": 1},
                                                     {"value": "male", "min": 0, "max": 1}]}]}).json()["id"]
    staff.know(aid)
    extract = f'person_id,name,address,region\n{CPR},{NAME},"{ADDRESS}",R1\n1111111118,Ane Andersen,Bygade 2,R1\n'
    r = http.post(f"{rec}/assemblies/{aid}/register-extract", content=extract, headers={"content-type": "text/csv"})
    assert r.status_code == 201, r.text
    # the same people again: refused (the streamed import finds them by their keyed hash in the database)
    again = http.post(f"{rec}/assemblies/{aid}/register-extract", content=extract, headers={"content-type": "text/csv"})
    assert again.status_code == 409, again.text
    pdf = http.post(f"{rec}/assemblies/{aid}/invitation-batches", json={"count": 2, "seed": 7, "letters": "zip"})
    assert pdf.status_code == 201 and pdf.headers["content-type"] == "application/zip"
    letters = http.post(f"{rec}/assemblies/{aid}/reminder-batches", json={}).json()["letters"]
    code = next(x["code"] for x in letters if x["name"] == NAME)
    r = http.post(f"{rec}/registrations", json={"code": code, "consent": True, "answers": {"gender": "female"},
                                                 "email": EMAIL, "phone": PHONE})
    assert r.status_code == 201, r.text
    assert http.post(f"{rec}/registrations", json={"code": code, "consent": True,
                                                    "answers": {"gender": "female"}}).status_code == 409
    wait_for(lambda: (x := http.get(f"{sor}/assemblies/{aid}/pool")).status_code == 200 and x.json()["size"] == 1,
             "sortition to receive the registration")
    assert http.post(f"{sor}/assemblies/{aid}/seed-commitments", json={
        "name": "organiser", "commitment": hashlib.sha256(b"canary").hexdigest()}).status_code == 201
    assert http.post(f"{sor}/assemblies/{aid}/pool/freeze", json={"lottery_size": 10}).status_code in (200, 201)
    assert http.post(f"{sor}/assemblies/{aid}/seed-reveals", json={"name": "organiser", "value": "canary"}).status_code == 200
    job = http.post(f"{sor}/assemblies/{aid}/draws", json={}).json()
    wait_for(lambda: http.get(f"{sor}/draw-jobs/{job['id']}").json()["status"] == "succeeded", "the draw")
    member_letters = wait_for(lambda: http.post(f"{rec}/assemblies/{aid}/member-letters").json()["letters"],
                              "recruitment to receive the panel")
    assert member_letters[0]["name"] == NAME and (member_letters[0]["email"], member_letters[0]["phone"]) == (EMAIL, PHONE)
    login = httpx.post(f"{rec}/member-login", json={"code": member_letters[0]["code"]})
    assert login.status_code == 200, login.text
    me = httpx.get(f"{rec}/assemblies/{aid}/members/me",
                   headers={"authorization": f"Bearer {login.json()['access_token']}"}).json()
    assert me["address"] == ADDRESS
    export = http.post(f"{rec}/assemblies/{aid}/access-requests", json={"person_id": CPR}).json()
    assert export["identity"]["person_ref"] == CPR and export["panel"]["on_the_panel"] is True
    http.get(f"{rec}/assemblies/{aid}/letters")  # the registrar's screen with the name
    wait_for(lambda: http.get(f"{u['sessions']}/assemblies/{aid}/roster").json()["members"], "sessions' roster")
    time.sleep(1.5)  # the relays publish the last audit heads, the logs are flushed

    found = {}
    for name in SERVICES:
        found[f"{name} log"] = leaks((STATE / "e2e" / "logs" / f"{name}.log").read_text(errors="replace"))
        found[f"{name} /metrics"] = leaks(httpx.get(f"{u[name]}/metrics").text)
    postgres = (STATE / "stack" / "postgres.log").read_text(errors="replace")
    found["postgres log"] = leaks(postgres)  # its errors too (the refused import's, the refused registration's)
    messages = asyncio.run(every_message(cluster.env["KAFKA_BOOTSTRAP_SERVERS"]))
    assert len(messages) > 20
    found["kafka"] = leaks(b"\n".join(messages).decode(errors="replace"))
    urls = [json.loads(x).get("route", "") for x in (STATE / "e2e" / "logs" / "recruitment.log").read_text().splitlines()
            if x.startswith("{") and '"request"' in x]
    assert "/assemblies/{assembly_id}/access-requests" in urls  # the access log names routes, never values
    found["logged URLs"] = leaks("\n".join(urls))
    assert {where: hits for where, hits in found.items() if hits} == {}
