"""The workspace's rules: normalised texts and their hashes, field limits, the versions' diff and
the final list's checks."""

import hashlib

import pytest

from services.sessions.domain import drafts as d
from shared.problems import InvalidInput


def test_a_text_is_normalised_before_it_is_hashed():
    a = d.normalise("  Fri transport  \r\nfor unge\r\n\n")
    assert a == "Fri transport\nfor unge"
    assert d.text_hash(a) == hashlib.sha256(b"Fri transport\nfor unge").hexdigest()
    assert d.text_hash(d.normalise("Cafe\u0301")) == d.text_hash(d.normalise("Caf\u00e9"))  # NFC


def test_fields_out_of_bounds_are_named():
    with pytest.raises(InvalidInput) as e:
        d.draft_text("", "x" * (d.TEXT_MAX + 1), None)
    fields = {x["field"] for x in e.value.details}
    assert fields == {"title", "text"}
    assert d.draft_text(" T ", "Body", None) == d.DraftText("T", "Body", "")


def test_the_diff_shows_removed_and_added_lines():
    out = d.diff("a\nb\nc", "a\nB\nc\nd")
    assert [(x.kind, x.text) for x in out] == [("same", "a"), ("removed", "b"), ("added", "B"), ("same", "c"),
                                               ("added", "d")]
    assert [x.kind for x in d.diff("", "x")] == ["added"]


def test_the_final_list_takes_each_open_draft_once():
    assert d.final_order(["b", "a"], {"a", "b", "c"}) == ["b", "a"]
    for chosen in ([], ["a", "a"], ["a", "z"]):
        with pytest.raises(InvalidInput):
            d.final_order(chosen, {"a", "b"})


def test_the_list_hash_depends_on_order():
    assert d.list_hash(["x", "y"]) != d.list_hash(["y", "x"])
    assert d.list_hash(["x", "y"]) == hashlib.sha256(b"x\ny").hexdigest()
