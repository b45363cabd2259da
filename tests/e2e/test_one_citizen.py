"""End to end: one citizen's registration travels recruitment -> sortition -> sessions -> voting
-> reporting through the broker, with the five services running as separate processes."""

from __future__ import annotations

import hashlib
import json
import time

import httpx
import pytest

from borgerting.cluster import SERVICES
from services.voting.domain.blind_rsa import PublicKey
from services.voting.domain.tokens import finish_token, request_token
from tests.conftest import STATE

pytestmark = pytest.mark.e2e


def wait_for(fn, what: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = fn()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_one_registration_reaches_every_service(cluster, staff):
    u = cluster.urls
    http = httpx.Client(timeout=30, auth=staff)
    a = http.post(f"{u['recruitment']}/assemblies", json={
        "name": "One-citizen assembly", "panel_size": 1,
        "regions": [{"code": "R1", "name": "Region 1", "population": 1000}],
        "strata": [{"category": "gender", "quotas": [{"value": "female", "min": 0, "max": 1},
                                                     {"value": "male", "min": 0, "max": 1}]}]}).json()
    aid = a["id"]
    staff.know(aid)
    r = http.post(f"{u['recruitment']}/assemblies/{aid}/register-extract",
                  content="person_id,name,address,region\n0101011234,Karen Hansen,Algade 1,R1\n0202025678,Ole Berg,Algade 2,R1\n",
                  headers={"content-type": "text/csv"})
    assert r.status_code == 201
    letters = http.post(f"{u['recruitment']}/assemblies/{aid}/invitation-batches", json={"count": 2, "seed": 1}).json()["letters"]
    code = letters[0]["code"]
    r = http.post(f"{u['recruitment']}/registrations", json={"code": code, "consent": True, "answers": {"gender": "female"}},
                  headers={"x-correlation-id": "e2e-one-citizen"})
    assert r.status_code == 201, r.text

    # A second citizen registers and then withdraws: sortition drops them from the pool.
    other = letters[1]["code"]
    assert http.post(f"{u['recruitment']}/registrations",
                     json={"code": other, "consent": True, "answers": {"gender": "male"}}).status_code == 201

    def pool_size(n):
        x = http.get(f"{u['sortition']}/assemblies/{aid}/pool")
        return x.status_code == 200 and x.json()["size"] == n and x.json()
    wait_for(lambda: pool_size(2), "sortition to receive both registrations")
    assert http.post(f"{u['recruitment']}/withdrawals", json={"code": other}).status_code == 200
    pool = wait_for(lambda: pool_size(1), "sortition to receive the withdrawal")
    assert pool["per_category"]["gender"] == {"female": 1, "male": 0}
    sor = u["sortition"]
    assert http.post(f"{sor}/assemblies/{aid}/seed-commitments",
                     json={"name": "organiser", "commitment": hashlib.sha256(b"e2e").hexdigest()}).status_code == 201
    assert http.post(f"{sor}/assemblies/{aid}/pool/freeze", json={"lottery_size": 10}).json()["pool_size"] == 1
    assert http.post(f"{sor}/assemblies/{aid}/seed-reveals", json={"name": "organiser", "value": "e2e"}).status_code == 200
    job = http.post(f"{sor}/assemblies/{aid}/draws", json={}).json()
    done = wait_for(lambda: (j := http.get(f"{sor}/draw-jobs/{job['id']}").json())["status"] in ("succeeded", "failed")
                    and j, "the draw job")
    assert done["status"] == "succeeded", done["error"]
    panel = http.get(f"{sor}/assemblies/{aid}/panel").json()
    assert len(panel["members"]) == 1 and panel["transcript_hash"]
    member = panel["members"][0]

    wait_for(lambda: http.get(f"{u['sessions']}/assemblies/{aid}/roster").json()["members"] == [member],
             "sessions to receive the panel")
    s = http.post(f"{u['sessions']}/assemblies/{aid}/sessions",
                  json={"title": "Weekend 1", "starts_at": "2027-03-06T09:00:00Z", "duration_hours": 7}).json()
    assert http.post(f"{u['sessions']}/sessions/{s['id']}/attendance",
                     json={"records": [{"member_id": member, "present": True}]}).status_code == 200
    assert http.post(f"{u['sessions']}/sessions/{s['id']}/held").json()["present"] == 1

    # The member drafts the recommendation, the secretariat freezes the final list, and voting
    # opens the final ballot from it (only that ballot is the assembly's result).
    draft = httpx.post(f"{u['sessions']}/assemblies/{aid}/drafts", headers=cluster.issuer.headers(
        "member", aid, member_id=member), json={"group": "Table 1", "title": "Plant more trees",
                                                "text": "Plant a tree for every child born.", "rationale": "Shade."})
    assert draft.status_code == 201, draft.text
    assert http.post(f"{u['sessions']}/assemblies/{aid}/recommendations/finalise",
                     json={"drafts": [draft.json()["id"]]}).status_code == 201
    ballot = wait_for(lambda: (x := http.post(f"{u['voting']}/assemblies/{aid}/final-ballot", json={
        "title": "Final vote", "threshold": 0.7, "session_id": s["id"]})).status_code == 201 and x.json(),
        "voting to receive the panel and the final list")
    # The member's anonymous token: blinded here (the member's side), signed by voting, unblinded.
    vot = u["voting"]
    key = PublicKey.from_pem(ballot["token_key"]["pem"])
    me = cluster.issuer.headers("member", aid, member_id=member)
    req = request_token(key, ballot["id"])
    signed = wait_for(lambda: (x := httpx.post(f"{vot}/ballots/{ballot['id']}/tokens", headers=me,
                                               json={"blinded_msg": req.blinded_msg.hex()})).status_code == 200 and x,
                      "voting to learn the check-in")
    token = finish_token(key, req, bytes.fromhex(signed.json()["blind_sig"]))
    assert httpx.post(f"{vot}/ballots/{ballot['id']}/tokens", headers=me,
                      json={"blinded_msg": req.blinded_msg.hex()}).status_code == 409  # one token per member
    early = {"choices": {"r1": "yes"}, "token": token.to_dict()}
    assert httpx.post(f"{vot}/ballots/{ballot['id']}/votes", json=early).status_code == 409  # tokens still issued
    assert http.post(f"{vot}/ballots/{ballot['id']}/open").json()["state"] == "open"  # ends the issuing
    vote = {"choices": {"r1": "yes"}, "token": token.to_dict()}
    receipt = httpx.post(f"{vot}/ballots/{ballot['id']}/votes", json=vote)  # no login: anonymous
    assert receipt.status_code == 201, receipt.text
    assert httpx.post(f"{vot}/ballots/{ballot['id']}/votes", json=vote).status_code == 409  # token used
    assert http.get(f"{vot}/ballots/{ballot['id']}/results").status_code == 403  # hidden until close
    assert http.post(f"{vot}/ballots/{ballot['id']}/close").json()["questions"]["r1"]["passed"] is True

    expected = (2, 1, 1, 1, 1, 1)

    def figures():
        x = http.get(f"{u['reporting']}/assemblies/{aid}/summary")
        if x.status_code != 200:
            return None
        s = x.json()
        return (s["invitations_sent"], s["registrations"], s["panel_size"], s["sessions_held"], s["votes_cast"],
                s["recommendations_passed"])
    # Events of different services travel on different topics, so reporting sees them in no fixed
    # order; wait until every figure has arrived, then compare.
    try:
        wait_for(lambda: figures() == expected, "reporting to count every event")
    finally:
        assert figures() == expected
    html = http.get(f"{u['reporting']}/assemblies/{aid}/report?lang=en").text
    assert "Plant more trees" in html and "adopted" in html and "Plant a tree for every child born." in html

    # Logs are JSON lines with correlation ids, and carry no personal data.
    time.sleep(0.5)
    for name in SERVICES:
        lines = (STATE / "e2e" / "logs" / f"{name}.log").read_text().splitlines()
        records = [json.loads(line) for line in lines if line.startswith("{")]
        assert records, f"{name} wrote no JSON log lines"
        text = "\n".join(lines)
        assert "Karen Hansen" not in text and "0101011234" not in text and code not in text
    rec_lines = [json.loads(x) for x in (STATE / "e2e" / "logs" / "recruitment.log").read_text().splitlines() if x.startswith("{")]
    assert any(r.get("correlation_id") == "e2e-one-citizen" and r.get("route") == "/registrations" for r in rec_lines)
    # the correlation id travels with the event into sortition's consumer log: the line of the
    # batch that applied it (or of the event, when a poll brought it alone)
    assert any(r.get("correlation_id") == "e2e-one-citizen" and r["event"] == "event processed"
               or r["event"] == "events processed" and "e2e-one-citizen" in r["correlation_ids"] for r in
               (json.loads(x) for x in (STATE / "e2e" / "logs" / "sortition.log").read_text().splitlines() if x.startswith("{")))


def test_every_process_serves_metrics_health_and_readiness(cluster):
    for name, url in cluster.urls.items():
        assert httpx.get(f"{url}/healthz").status_code == 200
        assert httpx.get(f"{url}/readyz").json()["status"] == "ready"
        assert "borgerting_" in httpx.get(f"{url}/metrics").text
