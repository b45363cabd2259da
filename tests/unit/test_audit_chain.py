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
