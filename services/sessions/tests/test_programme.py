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


def test_the_setting_form_asks_for_what_the_sessions_mode_needs():
    from services.sessions.domain.programme_form import read_setting_form

    row = {"region_0": "DK01", "venue_0": "Rådhuset"}
    assert read_setting_form({}, "physical")[1] == [("region_0", "venue_needed")]
    assert read_setting_form(row, "hybrid")[1] == [("online_url", "link_needed")]
    assert read_setting_form({**row, "region_3": "dk01", "venue_3": "Et andet sted"}, "physical")[1] == [
        ("region_3", "region_twice")]
    assert read_setting_form({"region_1": "DK01", "online_url": "javascript:x", "capacity": "0"}, "digital")[1] == [
        ("venue_1", "venue_missing"), ("online_url", "link"), ("capacity", "number")]
    values, problems = read_setting_form({**row, "online_url": " https://m.example.org/1 ", "capacity": "80"}, "hybrid")
    assert problems == [] and values == {"venues": [("DK01", "Rådhuset")], "online_url": "https://m.example.org/1",
                                         "capacity": 80}


def test_items_speakers_uploads_and_requests_are_read_with_their_problems():
    import uuid

    from services.sessions.domain import programme_form as f

    a, b = uuid.uuid4(), uuid.uuid4()
    assert f.read_speakers([str(b), "x", str(uuid.uuid4()), str(b), str(a)], {a, b}) == [b, a]
    assert f.read_item_form({"phase": "brunch", "minutes": "721"})[1] == [
        ("phase", "choose"), ("title", "missing"), ("minutes", "number")]
    assert f.read_item_form({"phase": "hearing", "title": "Høring", "minutes": "60", "position": "2"},
                            with_position=True) == ({"phase": "hearing", "title": "Høring", "minutes": 60,
                                                    "description": "", "position": 2}, [])
    assert f.read_upload_form({"file_kind": "slides", "file_title": "S"}, "s.pdf", 5 * 2**20 + 1)[1] == [
        ("file", "file_too_large")]
    assert f.read_upload_form({}, None, 0)[1] == [("file_kind", "choose"), ("file_title", "missing"),
                                                 ("file", "file_missing")]
    sid = uuid.uuid4()
    assert f.read_witness_form({"wanted": "x", "reason": "y", "session_id": str(sid)}, [sid])[0]["session_id"] == sid
    assert f.read_witness_form({"wanted": "x", "reason": "y", "session_id": "z"}, [sid])[1] == [("session_id", "choose")]


def test_a_member_goes_to_their_own_regions_venue_or_sees_them_all():
    venues = [{"region": "DK01", "venue": "A"}, {"region": "DK05", "venue": "B"}]
    assert rules.venues_for(venues, "dk05") == ([{"region": "DK05", "venue": "B"}], True)
    assert rules.venues_for(venues, "DK03") == (venues, False) and rules.venues_for(venues, None) == (venues, False)
