"""End to end: the demo's assembly (a smaller one) on the five running services, its vote through
the anonymous-token flow, then the independent verifier on the board exported after the votes:
`borgerting voting verify` passes on the honest export and fails, naming the problem, on each kind
of tampering. Reporting's figures equal the driver's."""

from __future__ import annotations

import asyncio
import copy
import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from borgerting.scenario import Params, run
from services.voting.domain.board import entry_hash, key_fingerprint
from services.voting.tests.test_verifier import rechain  # what a forger would do
from shared.audit import entry_hash as audit_entry_hash
from shared.audit_cli import app as audit_app
from tests.conftest import STATE
from tests.letters import pdf_pages

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def demo(cluster):
    params = Params(seed=11, register_size=6000, invitations=3000, panel_size=20, reserves=5, sessions=2,
                    recommendations=6, concurrency=8)
    aid, tally = asyncio.run(run(cluster.urls, params, lambda *a: None, cluster.issuer, cluster.origin))
    return aid, tally


@pytest.fixture(scope="module")
def summary(demo, cluster):
    aid, _ = demo
    return httpx.get(f"{cluster.urls['reporting']}/assemblies/{aid}/summary",
                     headers=cluster.issuer.headers("organiser", aid)).json()


def audit_cli(*args):
    return CliRunner().invoke(audit_app, [str(a) for a in args])


def verify(tmp_path, doc, *receipts, fingerprint=None) -> subprocess.CompletedProcess:
    """`borgerting voting verify` with the board key pinned to the fingerprint the board's own
    key has (the forgeries below keep the key; the re-signing attack is in test_verifier)."""
    path = tmp_path / "board.json"
    path.write_text(json.dumps(doc))
    fingerprint = fingerprint or key_fingerprint(doc["board_key"]["public_key"])
    args = [sys.executable, "-m", "borgerting.cli", "voting", "verify", str(path), "--fingerprint", fingerprint]
    for r in receipts:
        args += ["--receipt", r]
    return subprocess.run(args, capture_output=True, text=True, timeout=120)


def test_the_demo_votes_are_secret_verifiable_and_counted(demo, cluster, summary, tmp_path):
    aid, t = demo
    doc = t.board
    assert t.votes_cast > 10 and len(doc["entries"]) == t.votes_cast + t.trial_votes_cast  # the straw poll too
    absent = t.present_per_session[-1] < t.panel_size  # the seed may seat every member at the last session
    assert t.voting_refusals == 2 + absent  # an absent member (if any), a second token, a reused token
    assert len(doc["ballots"]) == 2
    ballot = next(b for b in doc["ballots"] if b["definition"]["id"] == t.final_ballot_id)
    assert ballot["issued"]["online"] == t.votes_cast and ballot["result"]["ballots_cast"] == t.votes_cast

    first = doc["entries"][0]
    published = summary["anchors"]["board"]["board_key_fingerprint"]  # the report pins the board key
    ok = verify(tmp_path, doc, f"{first['position']}:{first['hash']}", fingerprint=published)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "OK" in ok.stdout and "recount equals the published result" in ok.stdout
    assert f"trusted board key fingerprint {published}" in ok.stdout

    # No member id anywhere on the public board; voting's logs carry no choices next to members.
    members = httpx.get(f"{cluster.urls['sessions']}/assemblies/{aid}/roster",
                        headers=cluster.issuer.headers("organiser", aid)).json()["members"]
    text = json.dumps(doc)
    assert not [m for m in members if m in text]

    # Reporting counted the same from events: votes, and support per recommendation.
    assert summary["votes_cast"] == t.votes_cast
    assert summary["recommendations_passed"] == t.recommendations_passed
    # The straw poll (a trial ballot) is counted apart and is never part of the result.
    assert (summary["trial_ballots"], summary["trial_votes_cast"]) == (1, t.trial_votes_cast)
    assert len(summary["results"]) == t.recommendations == len(summary["final_list"]["recommendations"])
    assert all(r["recommendation_id"] for r in summary["final_list"]["recommendations"])
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


def test_every_audit_trail_reaches_the_heads_published_in_the_report_and_on_the_board(demo, cluster, summary,
                                                                                        tmp_path):
    aid, t = demo
    heads = summary["anchors"]["audit_heads"]
    assert set(heads) == {"recruitment", "sortition", "sessions", "voting", "reporting"}
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    (tmp_path / "board.json").write_text(json.dumps(t.board))
    on_board = t.board["checkpoints"][-1]["audit_heads"]  # the close's checkpoint, signed with the board key
    assert {"recruitment", "sortition", "sessions", "voting"} <= set(on_board)
    for service, url in cluster.urls.items():
        trail = httpx.get(f"{url}/assemblies/{aid}/audit", headers=cluster.issuer.headers("auditor", aid)).json()
        path = tmp_path / f"{service}.json"
        path.write_text(json.dumps(trail))
        anchors = ["--anchors", tmp_path / "summary.json"] + (["--anchors", tmp_path / "board.json"]
                                                               if service in on_board else [])
        ok = audit_cli("verify", path, *anchors)  # in-process: ten CLI start-ups would cost minutes
        assert ok.exit_code == 0 and f"anchored: entry {heads[service]['seq']} is the published head" in ok.output, \
            (service, ok.output)
        # Rewritten after the head was published (every hash recomputed): refused.
        seq = heads[service]["seq"]
        forged = copy.deepcopy(trail)
        forged["entries"][0]["details"] = {"rewritten": True}
        prev = "0" * 64
        for e in forged["entries"]:
            e["prev_hash"] = prev
            e["hash"] = prev = audit_entry_hash(e)
        forged["head"] = prev
        path.write_text(json.dumps(forged))
        bad = audit_cli("verify", path, "--anchors", tmp_path / "summary.json")
        assert bad.exit_code == 1 and f"entry {seq} is not the published head" in bad.output, (service, bad.output)


def printed_commands(page: str) -> list[str]:
    """The shell commands the published report prints (its `bt-command` blocks), line by line."""
    blocks = re.findall(r'<pre class="bt-command"[^>]*><code>(.*?)</code></pre>', page, flags=re.S)
    return [line.strip() for block in blocks for line in html.unescape(block).splitlines() if line.strip()]


def test_anyone_without_a_token_verifies_the_draw_and_the_board_with_the_printed_commands(demo, cluster, tmp_path):
    """Done when: a person without a token opens the published report in Danish and English,
    downloads the PDF and follows the printed commands to verify the draw and the board. The
    commands are read from the published documents (not written here) and run as printed, in a
    shell without any token, in an empty folder."""
    aid, t = demo
    base = f"{cluster.origin}/reporting/assemblies/{aid}/report"  # the one origin, as a reader reaches it
    commands = {}
    for lang in ("da", "en"):
        page = httpx.get(f"{base}/published?lang={lang}", timeout=60)  # no token
        pdf = httpx.get(f"{base}/published.pdf?lang={lang}", timeout=60)
        assert page.status_code == 200 and pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        assert f'lang="{lang}"' in page.text
        commands[lang] = printed_commands(page.text)
        # the pages' text without their footers ("n / N"): a command copied from the PDF is one run of text
        squeezed = "".join("".join(re.sub(r"\s*\d+ / \d+\s*$", "", p) for p in pdf_pages(pdf.content)).split())
        for command in commands[lang]:  # the PDF prints the same commands (a long line may wrap)
            assert "".join(command.split()) in squeezed, (lang, command)
    assert commands["da"] == commands["en"]
    # The audit trails' commands need the auditor's token (AUDITOR_TOKEN): followed below, with one.
    auditor = [c for c in commands["en"] if "AUDITOR_TOKEN" in c or "-trail.json" in c]
    runnable = [c for c in commands["en"] if c not in auditor]
    assert any(c.startswith("borgerting sortition verify ") for c in runnable), runnable
    assert any(c.startswith("borgerting voting verify ") for c in runnable), runnable
    assert all(c.startswith(("curl ", "borgerting ")) for c in runnable), runnable
    env = {"PATH": f"{Path(sys.executable).parent}{os.pathsep}/usr/bin{os.pathsep}/bin", "HOME": str(tmp_path)}
    for command in runnable:  # as printed, in order: each verify reads what the curls before it fetched
        out = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True,
                             timeout=900)
        assert out.returncode == 0, (command, out.stdout[-2000:], out.stderr[-2000:])
        if command.startswith("borgerting voting verify "):
            assert "OK" in out.stdout and "recount equals the published result" in out.stdout, out.stdout
    # An auditor signed in for the assembly follows the audit trails' pairs as printed: each saves a
    # service's trail and checks it against the exact head the report publishes for it.
    assert "TRAIL.json" not in " ".join(commands["en"]) and len(auditor) == 2 * len(set(
        c.split()[3] for c in auditor if c.startswith("borgerting audit verify "))) >= 8, auditor
    token = cluster.issuer.headers("auditor", aid)["authorization"].removeprefix("Bearer ")
    for command in auditor:
        out = subprocess.run(["bash", "-c", command], cwd=tmp_path, env={**env, "AUDITOR_TOKEN": token},
                             capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, (command, out.stdout[-2000:], out.stderr[-2000:])
        if command.startswith("borgerting audit verify "):
            seq = command.rsplit("--expected-head ", 1)[1].split(":")[0]
            assert f"anchored: entry {seq} is the published head" in out.stdout, out.stdout

