"""Reporting's figures and summary from plain facts (no I/O)."""

import uuid
from datetime import datetime, timezone
from types import SimpleNamespace as Row

from services.reporting.domain.figures import attendance_rate, composition, reply_rate
from services.reporting.domain.summary import question_result, summarise


def test_reporting_figures():
    strata = [{"category": "g", "quotas": [{"value": "f", "min": 1, "max": 1}, {"value": "m", "min": 1, "max": 1}]}]
    rows = composition(strata, [{"g": "f"}, {"g": "f"}, {"g": "m"}], [{"g": "f"}, {"g": "m"}], 2)
    assert rows[0] == {"category": "g", "value": "f", "quota_min": 1, "quota_max": 1, "target_share": 0.5, "pool": 2,
                       "pool_share": 2 / 3, "panel": 1, "panel_share": 0.5, "within_quota": True}
    assert reply_rate(5, 200) == 0.025 and reply_rate(1, 0) == 0.0
    assert attendance_rate([{"present": 9, "absent": 1}, {"present": 8, "absent": 2}]) == 0.85


def question(**kw) -> Row:
    base = dict(ballot="Final", question_id="q1", text="Plant trees", type="yes_no_abstain", recommendation=True,
                threshold=">= 7/10 of valid_votes", counts=None, support=None, base=None, passed=None, outcome=None)
    return Row(**{**base, **kw})


def test_a_recommendation_shows_yes_no_and_support_once_tallied():
    assert question_result(question())["yes"] is None and question_result(question())["support"] is None
    r = question_result(question(counts={"yes": 7, "no": 2, "abstain": 1}, support=7, base=9, passed=True))
    assert (r["yes"], r["no"], r["abstain"], r["support"], r["passed"]) == (7, 2, 1, round(7 / 9, 5), True)
    ranking = question_result(question(type="ranking", recommendation=False, counts={"a": 3, "b": 1, "abstain": 0},
                                       outcome=[["a"], ["b"]]))
    assert (ranking["no"], ranking["outcome"], ranking["is_recommendation"]) == (None, [["a"], ["b"]], False)


def test_the_summary_counts_per_region_the_panel_and_held_sessions():
    aid, ann, bo, cy = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    assembly = Row(id=aid, name="Klima", panel_size=2,
                   regions=[{"code": "N", "name": "North", "population": 10}, {"code": "S", "name": "South",
                                                                               "population": 20}],
                   strata=[{"category": "region", "quotas": [{"value": "N", "min": 1, "max": 1},
                                                             {"value": "S", "min": 1, "max": 1}]}])
    batches = [Row(count=60, per_region={"N": 20, "S": 40}), Row(count=40, per_region={"S": 40})]
    respondents = [Row(respondent_id=ann, region="N", features={"region": "N"}),
                   Row(respondent_id=bo, region="S", features={"region": "S"}),
                   Row(respondent_id=cy, region="S", features={"region": "S"})]
    start = datetime(2026, 3, 1, 9, tzinfo=timezone.utc)
    sessions = [{"title": "One", "phase": "learning", "mode": "physical", "starts_at": start, "held": True,
                 "present": 3, "absent": 1, "duration_hours": 6.0},
                {"title": "Two", "phase": "voting", "mode": "digital", "starts_at": None, "held": False,
                 "present": None, "absent": None, "duration_hours": 4.0}]
    s = summarise(assembly, batches=batches, respondents=respondents, members={ann, cy}, panel=None,
                  sessions=sessions, questions=[question(passed=True), question(question_id="q2")], votes_cast=9)
    assert (s["invitations_sent"], s["registrations"], s["reply_rate"], s["panel_size"]) == (100, 3, 0.03, 2)
    assert [(r["region"], r["invitations"], r["registrations"], r["panel"]) for r in s["per_region"]] == [
        ("N", 20, 1, 1), ("S", 80, 2, 1)]
    assert (s["sessions_held"], s["deliberation_hours"], s["attendance_rate"]) == (1, 6.0, 0.75)
    assert s["sessions"][0]["starts_at"] == start.isoformat() and s["sessions"][1]["starts_at"] is None
    assert (s["recommendations"], s["recommendations_tallied"], s["recommendations_passed"]) == (2, 1, 1)
    assert s["selection"] is None and s["votes_cast"] == 9 and s["assembly_id"] == str(aid)
