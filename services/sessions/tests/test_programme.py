"""The programme's rules without I/O: links, checksums, venues by mode, hours by phase."""

import hashlib

import pytest

from services.sessions.domain import programme as rules
from shared.problems import Conflict, InvalidInput


def test_only_web_links_are_documents_or_meeting_links():
    assert rules.web_link(" https://example.org/v?id=1 ") == "https://example.org/v?id=1"
    for bad in ("javascript:alert(1)", "ftp://x.org/f", "https://", "example.org", "https://a b.org", "x" * 3000):
        with pytest.raises(InvalidInput):
            rules.web_link(bad)


def test_a_file_is_stored_with_the_sha256_of_its_bytes_and_a_link_with_that_of_its_text():
    assert rules.file_checksum(b"test") == hashlib.sha256(b"test").hexdigest()
    a = rules.link_checksum("https://v.org/1", "Talk", "video")
    assert len(a) == 64 and a == rules.link_checksum("https://v.org/1", "Talk", "video")
    assert a != rules.link_checksum("https://v.org/2", "Talk", "video")
    assert a != rules.link_checksum("https://v.org/1", "Talk 2", "video")


def test_file_names_and_sizes():
    assert rules.safe_filename('../../etc/"passwd".pdf') == "passwd.pdf"
    assert rules.safe_filename("C:\\docs\\brief.PDF") == "brief.PDF"
    assert rules.media_type("brief.PDF") == "application/pdf" and rules.media_type("x.exe") == "application/octet-stream"
    rules.check_document_size(rules.MAX_DOCUMENT_BYTES)
    for size in (0, rules.MAX_DOCUMENT_BYTES + 1):
        with pytest.raises(InvalidInput):
            rules.check_document_size(size)


def test_the_mode_decides_what_a_session_needs():
    venue = [("Hovedstaden", "Bella Center")]
    rules.check_venues("physical", venue, None)
    rules.check_venues("digital", [], "https://meet.example.org/1")
    rules.check_venues("hybrid", venue, "https://meet.example.org/1")
    for mode, venues, url in (("physical", [], None), ("digital", [], None), ("hybrid", venue, None),
                              ("hybrid", [], "https://m.org"), ("physical", venue * 2, None),
                              ("physical", [("R", "V")] * 11, None)):
        with pytest.raises(InvalidInput):
            rules.check_venues(mode, venues, url)


def test_a_witness_request_is_answered_once():
    rules.check_answerable("open")
    with pytest.raises(Conflict):
        rules.check_answerable("accepted")


def test_hours_by_phase_in_the_order_of_the_process():
    hours = rules.hours_by_phase([("hearing", 90), ("learning", 45), ("learning", 45), ("values", 30)])
    assert list(hours) == ["learning", "hearing", "values"] and hours == {"learning": 1.5, "hearing": 1.5, "values": 0.5}
