"""The verifier passes an honest board and names the first problem for each kind of tampering."""

from __future__ import annotations

import copy
import json
import random

import pytest
from typer.testing import CliRunner

from services.voting.cli import app
from services.voting.domain.board import (BallotPublication, Board, BoardKey, checkpoint_payload, entry_hash,
                                          genesis_hash, key_fingerprint)
from services.voting.domain.example import run_example
from services.voting.domain.tally import count
from services.voting.domain.tokens import VoteToken, request_token
from services.voting.domain.verifier import verify_export


@pytest.fixture(scope="module")
def election(rsa_key):
    return run_example(online=12, paper=2, postal=1, seed=3, rsa_key=rsa_key)


@pytest.fixture
def doc(election):
    return copy.deepcopy(election.export)


def problem(doc, **kw) -> str:
    report = verify_export(doc, **kw)
    assert not report.ok
    return report.problem


def rechain(doc) -> None:
    """What a forger who can recompute hashes (but has no board key) would do."""
    prev = genesis_hash(doc["board_id"])
    for i, e in enumerate(doc["entries"], 1):
        e["position"], e["prev_hash"] = i, prev
        e["hash"] = prev = entry_hash(e)
    doc["head"] = {"position": len(doc["entries"]), "hash": prev}


def operator_export(election, rsa_key, mutate, issued=None) -> dict:
    """What a dishonest operator holding the board key could publish: a re-signed board."""
    b = Board(election.board.board_id, election.board.key, entries=election.board.entries,
              checkpoints=election.board.checkpoints)
    mutate(b)
    result = count(election.ballot, b.votes("b1"))
    counts = {"online": 12, "paper": 2, "postal": 1} | (issued or {})
    return b.export([BallotPublication(election.ballot, rsa_key.public_key, counts, result)])


# ---- honest ----------------------------------------------------------------------------------

def test_honest_board_verifies(election, doc):
    report = verify_export(doc, receipts=[(r.position, r.hash) for r in election.receipts])
    assert report.ok, report.problem
    s = report.summary
    assert s["entries"] == 15 and s["head"]["position"] == 15 and s["checkpoints"] == 3
    assert s["receipts_checked"] == 15
    b1 = s["ballots"]["b1"]
    assert b1["votes"] == {"online": 12, "paper": 2, "postal": 1} == b1["issued"]
    assert b1["result"] == doc["ballots"][0]["result"]


def test_export_is_plain_json(doc):
    assert verify_export(json.loads(json.dumps(doc))).ok


# ---- each kind of tampering ------------------------------------------------------------------

def test_changed_vote(doc):
    e = doc["entries"][6]  # entry 7
    e["choices"]["q1"] = "no" if e["choices"]["q1"] != "no" else "yes"
    assert problem(doc) == "entry 7: hash mismatch (entry altered)"


def test_changed_vote_with_its_hash_recomputed(doc):
    e = doc["entries"][6]
    e["choices"]["q1"] = "no" if e["choices"]["q1"] != "no" else "yes"
    e["hash"] = entry_hash(e)
    assert problem(doc) == "entry 8: prev_hash does not match entry 7 (chain broken)"


def test_changed_vote_with_whole_chain_rewritten(doc):
    e = doc["entries"][2]
    e["choices"]["q1"] = "no" if e["choices"]["q1"] != "no" else "yes"
    rechain(doc)
    assert problem(doc) == ("checkpoint at position 5: the board's hash there differs from the signed one "
                            "(board rewritten after the checkpoint)")


def test_removed_vote(doc):
    del doc["entries"][11]  # entry 12
    assert problem(doc) == "entry 12 missing: chain broken between 11 and 13"


def test_removed_first_votes(doc):
    del doc["entries"][0:2]
    assert problem(doc) == "entries 1-2 missing: chain broken between the start and 3"


def test_removed_last_vote(doc):
    doc["entries"].pop()
    assert problem(doc).startswith("entry 15 missing: the head says position 15 but the board ends at 14")


def test_removed_vote_renumbered_and_rechained(doc):
    del doc["entries"][3]
    rechain(doc)
    assert "board rewritten after the checkpoint" in problem(doc)


def test_duplicated_entry(doc):
    doc["entries"].insert(5, copy.deepcopy(doc["entries"][4]))
    assert problem(doc) == "entry 5: appears again after entry 5 (duplicated or reordered)"


def test_forged_token(election, rsa_key, other_rsa_key):
    rng = random.Random(9).randbytes

    def stuff(board):
        req = request_token(rsa_key.public_key, "b1", rng=rng)  # a well-formed message...
        board.append_vote("b1", {"q1": "yes", "q2": 5, "q3": [], "q4": ["health"]},
                          VoteToken(req.prepared_msg, rng(256)))  # ...with a made-up signature

    doc = operator_export(election, rsa_key, stuff, issued={"online": 13})
    assert problem(doc) == "entry 16: token signature invalid (forged token)"


def test_token_from_another_key(election, rsa_key, other_rsa_key):
    from services.voting.domain.example import run_example as again

    foreign = again(online=1, paper=0, postal=0, seed=5, rsa_key=other_rsa_key).board.entry(1)
    doc = operator_export(election, rsa_key,
                          lambda b: b.append_vote("b1", foreign["choices"], VoteToken.from_dict(foreign["token"])),
                          issued={"online": 13})
    assert problem(doc) == "entry 16: token signature invalid (forged token)"


def test_reused_token(election, rsa_key):
    first = election.board.entry(1)
    doc = operator_export(election, rsa_key,
                          lambda b: b.append_vote("b1", first["choices"], VoteToken.from_dict(first["token"])),
                          issued={"online": 13})
    assert problem(doc) == "entry 16: token already used in entry 1 (reused token)"


def test_more_votes_than_tokens_issued(doc):
    doc["ballots"][0]["issued"]["online"] = 11
    assert problem(doc) == "ballot b1: 12 online votes on the board but only 11 tokens issued"


def test_wrong_total(doc):
    counts = doc["ballots"][0]["result"]["questions"]["q1"]["counts"]
    real = counts["yes"]
    counts["yes"] = real + 1
    assert problem(doc) == (f"published result for question q1 says yes={real + 1} "
                            f"but recount gives yes={real} (ballot b1)")


def test_wrong_outcome(doc):
    q = doc["ballots"][0]["result"]["questions"]["q2"]
    q["passed"] = not q["passed"]
    assert problem(doc).startswith("published result for question q2 says passed=")


def test_wrong_ballots_cast(doc):
    doc["ballots"][0]["result"]["ballots_cast"] = 99
    assert problem(doc) == "published result for ballot b1 says ballots_cast=99 but recount gives ballots_cast=15"


def test_paper_vote_confirmed_by_same_official(election, rsa_key):
    doc = operator_export(election, rsa_key, lambda b: b.append_official(
        "b1", {"q1": "yes", "q2": 5, "q3": [], "q4": ["health"]}, kind="postal", sheet_id="S-77",
        entered_by="anna", confirmed_by="anna"), issued={"postal": 2})
    assert problem(doc) == "entry 16: postal vote entered and confirmed by the same official anna"


def test_paper_sheet_counted_twice(election, rsa_key):
    sheet = election.board.entry(13)
    doc = operator_export(election, rsa_key, lambda b: b.append_official(
        "b1", sheet["choices"], kind="paper", sheet_id=sheet["sheet_id"], entered_by="x", confirmed_by="y"),
        issued={"paper": 3})
    assert problem(doc) == f"entry 16: sheet {sheet['sheet_id']} already entered in entry 13 (sheet counted twice)"


def test_altered_definition_breaks_export_signature(doc):
    doc["ballots"][0]["definition"]["title"] = "something else"
    assert problem(doc) == "export signature invalid (document altered after it was signed)"


def test_forged_checkpoint(doc):
    doc["checkpoints"][0]["signature"] = "00" * 64
    assert problem(doc) == "checkpoint at position 5: signature invalid"


def test_result_published_for_open_ballot(doc):
    d = doc["ballots"][0]["definition"]
    d["closed_at"] = d["closes_at"] = None
    assert problem(doc) == "ballot b1: a result is published but the ballot is not closed"


def test_invalid_vote_on_board(doc):
    doc["entries"][0]["choices"]["q1"] = "perhaps"
    doc["entries"][0]["hash"] = entry_hash(doc["entries"][0])
    rechain(doc)
    assert problem(doc).startswith("entry 1: invalid vote: question q1")


def test_receipts(election, doc):
    r = election.receipts[4]
    assert verify_export(doc, receipts=[(r.position, r.hash)]).ok
    assert problem(doc, receipts=[(r.position, "ab" * 32)]).startswith(f"receipt {r.position}:")
    assert "no entry 99" in problem(doc, receipts=[(99, r.hash)])


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda d: d.clear(), "export format is None"),
    (lambda d: d.__setitem__("entries", {}), "export has no list of entries"),
    (lambda d: d["ballots"][0]["token_key"].__setitem__("pem", "nope"), "ballot b1: unreadable token key"),
    (lambda d: d["entries"][0].pop("token"), "entry 1: malformed"),
])
def test_malformed_exports(doc, mutate, message):
    mutate(doc)
    assert problem(doc).startswith(message)


# ---- CLI -------------------------------------------------------------------------------------

def test_cli_verify(doc, tmp_path):
    runner = CliRunner()
    good = tmp_path / "board.json"
    good.write_text(json.dumps(doc))
    fp = election_fingerprint(doc)
    res = runner.invoke(app, ["verify", str(good), "--fingerprint", fp, "--receipt",
                              f"1:{doc['entries'][0]['hash']}"])
    assert res.exit_code == 0, res.output
    assert "OK" in res.output and "recount equals the published result" in res.output
    assert f"trusted board key fingerprint {fp} (from --fingerprint)" in res.output

    del doc["entries"][11]
    bad = tmp_path / "tampered.json"
    bad.write_text(json.dumps(doc))
    res = runner.invoke(app, ["verify", str(bad), "--unpinned"])
    assert res.exit_code == 1
    assert "entry 12 missing: chain broken between 11 and 13" in res.output

    res = runner.invoke(app, ["verify", str(tmp_path / "absent.json")])
    assert res.exit_code == 2


# ---- the board key is pinned (issue 11, item 8) -----------------------------------------------

def election_fingerprint(doc) -> str:
    return key_fingerprint(doc["board_key"]["public_key"])


def resign_swapped(election, rsa_key) -> dict:
    """The re-signing attack: swap the choices of two votes, recompute the chain, and sign the
    checkpoints and the export with a fresh key of the attacker's (the real board key unknown)."""
    entries = copy.deepcopy(election.board.entries)
    a, b = next((i, j) for i in range(len(entries)) for j in range(i + 1, len(entries))
                if entries[i]["kind"] == entries[j]["kind"] == "online" and entries[i]["choices"] != entries[j]["choices"])
    entries[a]["choices"], entries[b]["choices"] = entries[b]["choices"], entries[a]["choices"]
    prev = genesis_hash(election.board.board_id)
    for e in entries:
        e["prev_hash"] = prev
        e["hash"] = prev = entry_hash(e)
    forged = Board(election.board.board_id, BoardKey.from_seed(bytes(range(32))), entries=entries)
    for cp in election.board.checkpoints:  # the same positions, re-signed over the new hashes
        body = {**cp, "head_hash": forged.entry(cp["position"])["hash"]}
        body["signature"] = forged.key.sign(checkpoint_payload(body))
        forged.checkpoints.append(body)
    result = count(election.ballot, forged.votes("b1"))
    return forged.export([BallotPublication(election.ballot, rsa_key.public_key,
                                            {"online": 12, "paper": 2, "postal": 1}, result)])


def test_a_board_re_signed_with_a_fresh_key_is_refused_when_the_key_is_pinned(election, doc, rsa_key):
    forged = resign_swapped(election, rsa_key)
    # Without a pin the forgery is consistent: that is the attack.
    assert verify_export(forged).ok
    published = election_fingerprint(doc)  # what the report and the ballot-opened record publish
    report = verify_export(forged, fingerprint=published)
    assert not report.ok
    assert report.problem.startswith(f"the board key's fingerprint {election_fingerprint(forged)} is not the "
                                     f"published one {published}")
    honest = verify_export(doc, fingerprint=published)
    assert honest.ok and honest.summary["key_pinned"] and honest.summary["board_key_fingerprint"] == published


def test_cli_pins_the_key_by_fingerprint_key_or_report(election, doc, rsa_key, tmp_path):
    runner = CliRunner()
    good, bad = tmp_path / "board.json", tmp_path / "forged.json"
    good.write_text(json.dumps(doc))
    bad.write_text(json.dumps(resign_swapped(election, rsa_key)))
    fp = election_fingerprint(doc)
    report = tmp_path / "summary.json"
    report.write_text(json.dumps({"anchors": {"board": {"board_id": doc["board_id"], "board_key_fingerprint": fp}}}))
    for pin in (["--fingerprint", fp], ["--fingerprint", "SHA256:" + fp.upper()], ["--key", doc["board_key"]["public_key"]],
                ["--report", str(report)]):
        ok = runner.invoke(app, ["verify", str(good), *pin])
        assert ok.exit_code == 0 and f"trusted board key fingerprint {fp}" in ok.output, (pin, ok.output)
        res = runner.invoke(app, ["verify", str(bad), *pin])
        assert res.exit_code == 1 and "this board was signed with another key" in res.output, (pin, res.output)
    # No pin: refused (exit 2) and says what to give; --unpinned says what it trusted.
    res = runner.invoke(app, ["verify", str(bad)])
    assert res.exit_code == 2 and "no board key pinned" in res.output
    res = runner.invoke(app, ["verify", str(bad), "--unpinned"])
    assert res.exit_code == 0 and "UNPINNED" in res.output and election_fingerprint(json.loads(bad.read_text())) in res.output
    # Bad pins are input errors.
    assert runner.invoke(app, ["verify", str(good), "--fingerprint", "abc"]).exit_code == 2
    assert runner.invoke(app, ["verify", str(good), "--key", "zz"]).exit_code == 2
    assert runner.invoke(app, ["verify", str(good), "--fingerprint", fp, "--key", "11" * 32]).exit_code == 2


def test_signed_checkpoints_carry_the_audit_heads(election, doc):
    heads = {"sessions": {"seq": 3, "hash": "ab" * 32}}
    cp = {**doc["checkpoints"][-1], "audit_heads": heads}
    cp["signature"] = election.board.key.sign(checkpoint_payload(cp))
    doc["checkpoints"][-1] = cp
    assert verify_export(doc, fingerprint=election_fingerprint(doc)).problem == "export signature invalid (document altered after it was signed)"
    cp["audit_heads"] = {"sessions": {"seq": 3, "hash": "cd" * 32}}  # a head changed after signing
    assert problem(doc).startswith(f"checkpoint at position {cp['position']}: signature invalid")


def _mutations(value, rnd):
    return rnd.choice([None, 0, -1, 10**6, "", "x", [], {}, True, [value], {"k": value}, "ab" * 32])


def test_random_corruption_never_crashes_and_never_passes(doc):
    """Seeded fuzzing: replace one random node of the export; the verifier reports, never raises."""
    rnd = random.Random(2025)
    failures = 0
    for _ in range(150):
        d = copy.deepcopy(doc)
        # walk to a random container and overwrite one of its children
        node, parent, key = d, None, None
        for _depth in range(rnd.randint(1, 6)):
            if isinstance(node, dict) and node:
                parent, key = node, rnd.choice(sorted(node))
            elif isinstance(node, list) and node:
                parent, key = node, rnd.randrange(len(node))
            else:
                break
            node = parent[key]
        if parent is None:
            continue
        new = _mutations(node, rnd)
        if new == node:
            continue
        parent[key] = new
        report = verify_export(d)
        assert isinstance(report.ok, bool)
        if report.ok:
            # Only fields nobody signs or counts may change unnoticed: none should exist.
            pytest.fail(f"corruption of {key!r} to {new!r} went unnoticed")
        failures += 1
    assert failures > 100
