import uuid

from services.reporting.domain.figures import attendance_rate, composition, reply_rate
from services.sessions.domain.attendance import held_counts, unknown_members


def test_attendance_counts_missing_records_as_absent():
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    assert held_counts({a, b, c}, {a: True, b: False}) == (1, 2)
    assert unknown_members([a, uuid.UUID(int=1)], {a}) == [uuid.UUID(int=1)]


def test_reporting_figures():
    strata = [{"category": "g", "quotas": [{"value": "f", "min": 1, "max": 1}, {"value": "m", "min": 1, "max": 1}]}]
    rows = composition(strata, [{"g": "f"}, {"g": "f"}, {"g": "m"}], [{"g": "f"}, {"g": "m"}], 2)
    assert rows[0] == {"category": "g", "value": "f", "quota_min": 1, "quota_max": 1, "target_share": 0.5, "pool": 2,
                       "pool_share": 2 / 3, "panel": 1, "panel_share": 0.5, "within_quota": True}
    assert reply_rate(5, 200) == 0.025 and reply_rate(1, 0) == 0.0
    assert attendance_rate([{"present": 9, "absent": 1}, {"present": 8, "absent": 2}]) == 0.85
