"""Sessions' attendance rules (no I/O)."""

import uuid

from services.sessions.domain.attendance import held_counts, unknown_members


def test_attendance_counts_missing_records_as_absent():
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    assert held_counts({a, b, c}, {a: True, b: False}) == (1, 2)
    assert unknown_members([a, uuid.UUID(int=1)], {a}) == [uuid.UUID(int=1)]
