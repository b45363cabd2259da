"""The audit export verifies, and every kind of alteration is found and named."""

from __future__ import annotations

import copy
import json
import uuid

from typer.testing import CliRunner

from shared.audit import FORMAT, GENESIS, entry_hash, verify
from shared.audit_cli import app

AID = str(uuid.UUID(int=7))


def chain(n: int = 4) -> dict:
    entries, prev = [], GENESIS
    for i in range(1, n + 1):
        e = {"assembly_id": AID, "seq": i, "at": f"2027-03-0{i}T10:00:00.000000+00:00", "actor": "idp|alice",
             "action": f"session.scheduled.{i}", "object_id": str(uuid.UUID(int=i)), "details": {"n": i},
             "correlation_id": f"c{i}", "prev_hash": prev}
        e["hash"] = entry_hash(e)
        prev = e["hash"]
        entries.append(e)
    return {"format": FORMAT, "service": "sessions", "assembly_id": AID, "entries": entries, "head": prev}


def test_an_honest_chain_verifies():
    assert verify(chain()) == []
    assert verify({**chain(0)}) == []


def test_a_changed_entry_is_named():
    doc = chain()
    doc["entries"][1]["details"] = {"n": 99}
    assert verify(doc) == ["entry 2 (seq 2, 'session.scheduled.2') was altered: its content does not match its hash"]
    doc = chain()
    doc["entries"][2]["actor"] = "idp|mallory"
    doc["entries"][2]["hash"] = entry_hash(doc["entries"][2])  # recomputed: the next link breaks
    assert verify(doc)[0].startswith("entry 4 (seq 4")


def test_removed_reordered_and_cut_entries_are_found():
    doc = chain()
    del doc["entries"][1]
    assert "expected seq 2" in verify(doc)[0]
    doc = chain()
    doc["entries"][1], doc["entries"][2] = doc["entries"][2], doc["entries"][1]
    assert "expected seq 2" in verify(doc)[0]
    doc = chain()
    doc["entries"].pop()
    assert "entries were cut off" in verify(doc)[0]
    other = copy.deepcopy(chain())
    other["entries"][0]["assembly_id"] = str(uuid.UUID(int=8))
    assert "another assembly" in verify(other)[0]


def test_the_cli_exits_non_zero_and_names_the_problem(tmp_path):
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(chain()))
    doc = chain()
    doc["entries"][0]["action"] = "nothing.happened"
    bad.write_text(json.dumps(doc))
    runner = CliRunner()
    ok = runner.invoke(app, ["verify", str(good)])
    assert ok.exit_code == 0 and "OK: sessions audit trail" in ok.output and "4 entries" in ok.output
    fail = runner.invoke(app, ["verify", str(bad)])
    assert fail.exit_code == 1 and "entry 1 (seq 1, 'nothing.happened') was altered" in fail.output
    (tmp_path / "junk.json").write_text("{")
    assert runner.invoke(app, ["verify", str(tmp_path / "junk.json")]).exit_code == 2


# ---- heads anchored outside the service (issue 11, item 13) ----------------------------------

def rewritten(doc: dict, at: int) -> dict:
    """What someone with write access to the service's database (trigger dropped) could do: change
    an entry and recompute every hash after it, a consistent chain with another head."""
    doc = copy.deepcopy(doc)
    doc["entries"][at - 1]["details"] = {"n": "rewritten"}
    prev = doc["entries"][at - 2]["hash"] if at > 1 else GENESIS
    for e in doc["entries"][at - 1:]:
        e["prev_hash"] = prev
        e["hash"] = prev = entry_hash(e)
    doc["head"] = prev
    return doc


def test_a_rewritten_chain_verifies_alone_but_not_against_a_published_head():
    honest = chain(6)
    published = (4, honest["entries"][3]["hash"])  # the head when the report was published
    forged = rewritten(honest, 2)
    assert verify(forged) == []  # consistent in itself: that is why heads are published elsewhere
    assert verify(honest, [published]) == []
    assert verify(forged, [published]) == [
        f"entry 4 is not the published head {published[1][:16]}… — the trail was rewritten after its head was published"]
    assert verify(rewritten(honest, 5), [published]) == []  # entries after the published head are not anchored by it
    cut = copy.deepcopy(honest)
    cut["entries"] = cut["entries"][:3]
    cut["head"] = cut["entries"][-1]["hash"]
    assert "the trail ends at entry 3" in verify(cut, [published])[0]
    assert verify(honest, [(None, honest["head"])]) == []
    assert "is not the expected head" in verify(honest, [(None, published[1])])[0]


def test_the_cli_checks_expected_heads_and_anchors_from_the_report_or_the_board(tmp_path):
    honest = chain(6)
    forged = rewritten(honest, 2)
    h4 = honest["entries"][3]["hash"]
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(honest))
    bad.write_text(json.dumps(forged))
    summary = tmp_path / "summary.json"
    summary.write_text(json.dumps({"assembly_id": AID, "anchors": {"audit_heads": {"sessions": {"seq": 4, "hash": h4}}}}))
    board = tmp_path / "board.json"
    board.write_text(json.dumps({"board_id": f"assembly-{AID}", "checkpoints": [
        {"position": 3, "audit_heads": {"sessions": {"seq": 2, "hash": honest["entries"][1]["hash"]}}},
        {"position": 9, "audit_heads": {"voting": {"seq": 1, "hash": "ab" * 32}}}]}))
    runner = CliRunner()
    for opts in (["--expected-head", f"4:{h4}"], ["--anchors", str(summary)], ["--anchors", str(board)]):
        ok = runner.invoke(app, ["verify", str(good), *opts])
        assert ok.exit_code == 0 and "anchored: entry" in ok.output, (opts, ok.output)
        fail = runner.invoke(app, ["verify", str(bad), *opts])
        assert fail.exit_code == 1 and "the trail was rewritten after its head was published" in fail.output, opts
    plain = runner.invoke(app, ["verify", str(bad)])
    assert plain.exit_code == 0 and "not anchored" in plain.output
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"assembly_id": str(uuid.UUID(int=9)), "anchors": {"audit_heads": {}}}))
    res = runner.invoke(app, ["verify", str(good), "--anchors", str(other)])
    assert res.exit_code == 1 and "publishes no head of the sessions trail" in res.output
    assert runner.invoke(app, ["verify", str(good), "--expected-head", "4:xyz"]).exit_code == 2
