"""The sessions pages' forms without I/O: a local Copenhagen time becomes UTC, a Danish decimal
comma reads, every problem is named; the attendance sheet records only explicit marks of roster
members."""

import uuid
from datetime import datetime, timezone

from services.sessions.domain.session_form import read_attendance_form, read_schedule_form

GOOD = {"title": " Weekend 1 ", "date": "2027-07-03", "time": "9.30", "duration_hours": "6,5", "mode": "hybrid",
        "phase": "values"}


def test_the_schedule_form_reads_local_time_and_a_decimal_comma():
    values, problems = read_schedule_form(GOOD)
    assert problems == []
    # summer time: 09:30 in Copenhagen is 07:30 UTC
    assert values == {"title": "Weekend 1", "starts_at": datetime(2027, 7, 3, 7, 30, tzinfo=timezone.utc),
                      "mode": "hybrid", "phase": "values", "duration_hours": 6.5}
    assert read_schedule_form({**GOOD, "date": "2027-01-09"})[0]["starts_at"].hour == 8  # winter time


def test_the_schedule_form_names_every_problem():
    _values, problems = read_schedule_form({"title": "", "date": "9/1/2027", "time": "25:00", "duration_hours": "nan",
                                            "mode": "moon", "phase": ""})
    assert problems == [("title", "title_missing"), ("date", "date"), ("time", "time"), ("duration_hours", "duration"),
                        ("mode", "mode"), ("phase", "phase")]
    for hours in ("0", "73", "-1", "", "inf"):
        assert ("duration_hours", "duration") in read_schedule_form({**GOOD, "duration_hours": hours})[1], hours


def test_the_attendance_sheet_records_only_explicit_marks_of_roster_members():
    a, b, c, stranger = (uuid.uuid4() for _ in range(4))
    form = {f"m_{a}": "present", f"m_{b}": "absent", f"m_{c}": "", f"m_{stranger}": "present", "csrf_token": "x"}
    assert read_attendance_form(form, [a, b, c]) == [(a, True), (b, False)]
    assert read_attendance_form({f"m_{a}": "maybe"}, [a]) == []
