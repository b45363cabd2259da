"""Drop-out rules and the composition chart (no I/O)."""

import uuid
from datetime import datetime, timedelta, timezone

from services.sessions.domain.composition import composition, composition_chart
from services.sessions.domain.dropout import HeldSession, at_risk, dropouts, histories, rule_problem

T0 = datetime(2027, 3, 6, 17, tzinfo=timezone.utc)


def test_missed_in_a_row_counts_back_from_the_latest_held_session():
    a, b, c, late = (uuid.UUID(int=i) for i in range(1, 5))
    held = [HeldSession(uuid.UUID(int=100 + i), T0 + timedelta(days=14 * i)) for i in range(4)]
    s = [h.id for h in held]
    present = {(s[0], a): True, (s[1], a): False, (s[0], b): True, (s[1], b): True, (s[2], b): True,
               (s[3], b): False, (s[3], c): True, (s[3], late): False}
    # a: present once, then no mark (absent) at 2 and 3; c: absent until the last; late joined after session 2
    h = {x.member_id: x for x in histories([a, b, c, late], held, present, {late: held[2].held_at})}
    assert h[a].marks == (True, False, False, False) and h[a].missed_in_a_row == 3 and h[a].attended == 1
    assert h[b].missed_in_a_row == 1 and h[b].missed == 1
    assert h[c].missed_in_a_row == 0 and h[c].missed == 3
    assert h[late].marks == (None, None, None, False) and h[late].missed_in_a_row == 1
    assert [x.member_id for x in dropouts(h.values(), 2)] == [a]
    assert [x.member_id for x in at_risk(h.values(), 2)] == [b, late]
    assert [x.member_id for x in dropouts(h.values(), 1)] == [a, b, late] and at_risk(h.values(), 1) == []
    assert histories([a], [], {}) [0].missed_in_a_row == 0


def test_the_rule_takes_a_whole_number_from_1_to_20():
    assert rule_problem("2") is None and rule_problem(" 20 ") is None
    for bad in ("0", "21", "two", "", None, "1.5"):
        assert rule_problem(bad) == "number", bad


def test_composition_shares_against_the_quota_band_and_a_chart_that_says_its_figures():
    strata = [{"category": "gender", "quotas": [{"value": "f", "min": 4, "max": 6}, {"value": "m", "min": 4, "max": 6}]}]
    people = {uuid.UUID(int=i): {"gender": "f" if i < 5 else "m"} for i in range(10)}
    first = list(people)  # all 10
    second = [p for p in people if p.int < 3] + [p for p in people if p.int >= 5]  # 3 f, 5 m
    [c] = composition(strata, 10, people, [first, second, []])
    f, m = c["rows"]
    assert (f["min"], f["max"]) == (0.4, 0.6) and f["shares"] == [0.5, 3 / 8, None] and f["counts"] == [5, 3, 0]
    assert f["outside"] == [False, True, False] and m["outside"] == [False, True, False]  # 62.5 % men
    svg = composition_chart("Gender", c["rows"], ["Session 1", "Session 2", "Session 3"], label=str.upper,
                            band_text="Quota", chart_id="c0")
    assert svg.startswith("<svg") and svg.endswith("</svg>") and 'role="img"' in svg
    assert "F: Quota 40 %–60 %, Session 1 50 %, Session 2 38 %, Session 3 –" in svg
    assert svg == composition_chart("Gender", c["rows"], ["Session 1", "Session 2", "Session 3"], label=str.upper,
                                    band_text="Quota", chart_id="c0")
