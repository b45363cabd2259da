"""End to end: the demo's assembly (a smaller one) on the five running services, its vote through
the anonymous-token flow, then the independent verifier on the board exported after the votes:
`borgerting voting verify` passes on the honest export and fails, naming the problem, on each kind
of tampering. Reporting's figures equal the driver's."""

from __future__ import annotations

import asyncio
import copy
import json
import subprocess
import sys

import httpx
import pytest

from borgerting.scenario import Params, run
from services.voting.domain.board import entry_hash
from services.voting.tests.test_verifier import rechain  # what a forger would do
from tests.conftest import STATE

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def demo(cluster):
    params = Params(seed=11, register_size=6000, invitations=3000, panel_size=20, reserves=5, sessions=2,
                    recommendations=6, concurrency=8)
    aid, tally = asyncio.run(run(cluster.urls, params, lambda *a: None, cluster.issuer))
    return aid, tally


def verify(tmp_path, doc, *receipts) -> subprocess.CompletedProcess:
    path = tmp_path / "board.json"
    path.write_text(json.dumps(doc))
    args = [sys.executable, "-m", "borgerting.cli", "voting", "verify", str(path)]
    for r in receipts:
        args += ["--receipt", r]
    return subprocess.run(args, capture_output=True, text=True, timeout=120)


def test_the_demo_votes_are_secret_verifiable_and_counted(demo, cluster, tmp_path):
    aid, t = demo
    doc = t.board
    assert t.votes_cast > 10 and len(doc["entries"]) == t.votes_cast
    assert t.voting_refusals == 3  # absent member, second token, reused token
    (ballot,) = doc["ballots"]
    assert ballot["issued"]["online"] == t.votes_cast and ballot["result"]["ballots_cast"] == t.votes_cast

    first = doc["entries"][0]
    ok = verify(tmp_path, doc, f"{first['position']}:{first['hash']}")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "OK" in ok.stdout and "recount equals the published result" in ok.stdout

    # No member id anywhere on the public board; voting's logs carry no choices next to members.
    members = httpx.get(f"{cluster.urls['sessions']}/assemblies/{aid}/roster",
                        headers=cluster.issuer.headers("organiser", aid)).json()["members"]
    text = json.dumps(doc)
    assert not [m for m in members if m in text]

    # Reporting counted the same from events: votes, and support per recommendation.
    summary = httpx.get(f"{cluster.urls['reporting']}/assemblies/{aid}/summary",
                        headers=cluster.issuer.headers("organiser", aid)).json()
    assert summary["votes_cast"] == t.votes_cast
    assert summary["recommendations_passed"] == t.recommendations_passed
    published = ballot["result"]["questions"]
    for r in summary["results"]:
        q = published[r["question_id"]]
        assert (r["yes"], r["abstain"], r["passed"]) == (q["counts"]["yes"], q["counts"]["abstain"], q["passed"])

    # Each kind of tampering is caught and named.
    def fails(mutate, fragment):
        bad = copy.deepcopy(doc)
        mutate(bad)
        out = verify(tmp_path, bad)
        assert out.returncode == 1, (fragment, out.stdout)
        assert fragment in out.stdout, (fragment, out.stdout)

    def change_vote(d):
        e = d["entries"][2]
        e["choices"]["q1"] = "no" if e["choices"]["q1"] != "no" else "yes"
    fails(change_vote, "entry 3: hash mismatch (entry altered)")

    def change_and_rechain(d):
        change_vote(d)
        rechain(d)
    fails(change_and_rechain, "checkpoint at position")

    fails(lambda d: d["entries"].pop(4), "entry 5 missing")

    def forge(d):
        e = d["entries"][1]
        sig = bytearray(bytes.fromhex(e["token"]["signature"]))
        sig[-1] ^= 1
        e["token"]["signature"] = sig.hex()
        e["hash"] = entry_hash(e)
    fails(forge, "entry 2: token signature invalid (forged token)")

    def wrong_total(d):
        d["ballots"][0]["result"]["questions"]["q1"]["counts"]["yes"] += 1
    fails(wrong_total, "published result for question q1 says yes=")

    def fewer_issued(d):
        d["ballots"][0]["issued"]["online"] -= 1
    fails(fewer_issued, "online votes on the board but only")


def test_the_board_export_is_on_disk_for_anyone(demo, cluster):
    aid, _ = demo
    r = httpx.get(f"{cluster.urls['voting']}/assemblies/{aid}/board/export")
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    (STATE / "e2e" / "board.json").write_text(r.text)
