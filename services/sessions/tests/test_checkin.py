"""Check-in rules (no I/O): personal codes, reading what a facilitator types or scans, the online
check-in window, a correction's reason."""

import uuid
from datetime import datetime, timedelta, timezone

from services.sessions.domain.checkin import (checkin_code, correction_problems, member_with_code, online_refusal,
                                              read_code)

KEY = b"k" * 32
AID = uuid.UUID(int=7)


def test_codes_are_stable_distinct_per_member_and_assembly_and_depend_on_the_key():
    members = [uuid.UUID(int=i) for i in range(1, 301)]
    codes = {checkin_code(KEY, AID, m) for m in members}
    assert len(codes) == 300
    one = checkin_code(KEY, AID, members[0])
    assert one == checkin_code(KEY, AID, members[0]) and len(one) == 11 and one[5] == "-"
    assert one != checkin_code(KEY, uuid.UUID(int=8), members[0]) and one != checkin_code(b"x" * 32, AID, members[0])
    assert set(one.replace("-", "")) <= set("0123456789ABCDEFGHJKMNPQRSTVWXYZ")


def test_a_code_is_read_however_it_is_typed_or_scanned():
    member = uuid.UUID(int=42)
    code = checkin_code(KEY, AID, member)
    for typed in (code, code.lower(), code.replace("-", ""), f" {code[:5]} {code[6:]} ",
                  f"https://console.example/sessions/assemblies/{AID}/door#{code}"):
        assert read_code(typed) == code, typed
    assert read_code("O1L00-IIIII") == "01100-11111"  # look-alike letters are the digits
    for bad in ("", None, "ABCDE", "ABCDE-FGHJKL", "ABCDE-FGHU1", "https://x/door"):
        assert read_code(bad) is None, bad
    roster = [uuid.UUID(int=i) for i in range(1, 100)]
    assert member_with_code(KEY, AID, roster, code) == member
    assert member_with_code(KEY, AID, roster[:10], code) is None


def test_members_check_in_online_only_to_online_sessions_while_check_in_is_open():
    start = datetime(2027, 3, 6, 17, tzinfo=timezone.utc)

    def why(now, mode="digital", opened=False, held=False):
        return online_refusal(mode=mode, starts_at=start, duration_hours=3, now=now, opened=opened, held=held)

    assert why(start - timedelta(minutes=31)) == "not_open_yet"
    assert why(start - timedelta(minutes=30)) is None and why(start + timedelta(hours=3)) is None
    assert why(start + timedelta(hours=3, seconds=1)) == "over"
    assert why(start - timedelta(days=3), opened=True) is None  # staff opened it early
    assert why(start, mode="physical") == "not_online" and why(start, mode="hybrid") is None
    assert why(start, opened=True, held=True) == "session_held"


def test_a_correction_needs_a_known_reason_and_a_note_for_other():
    assert correction_problems("mistake", "") == []
    assert correction_problems("nonsense", "") == [("reason", "reason")]
    assert correction_problems("other", "  ") == [("note", "note_missing")]
    assert correction_problems("left", "x" * 201) == [("note", "note_too_long")]
