"""The evaluation's pure parts: answers checked and kept, survey figures with small groups
suppressed, the due date and the share answered by it, and the pack's notes and rows."""

from datetime import date

from services.reporting.domain.evaluation import (QUESTIONS, STAGES, answered_in_time, clean_answers, pack,
                                                  pack_rows, response_due, survey_figures)


def test_every_stage_asks_likert_and_open_questions_with_unique_ids():
    for stage in STAGES:
        ids = [q.id for q in QUESTIONS[stage]]
        assert len(ids) == len(set(ids))
        assert {q.kind for q in QUESTIONS[stage]} == {"likert", "open"}
    assert {"fair", "speak"} <= {q.id for q in QUESTIONS["end"]}


def test_answers_keep_the_scale_and_text_and_skip_empty_and_unknown():
    kept, bad = clean_answers("end", {"fair": "4", "speak": "", "best": "  The tables ", "member_id": "x"})
    assert kept == {"fair": 4, "best": "The tables"} and bad == []
    kept, bad = clean_answers("end", {"fair": "6", "speak": "yes", "best": "x" * 2001})
    assert kept == {} and [b["field"] for b in bad] == ["fair", "speak", "best"]


def test_figures_count_agree_and_mean_and_suppress_small_groups():
    answers = [{"fair": 5, "best": "b"}, {"fair": 4, "best": "a"}, {"fair": 1}, {"fair": 2}, {"fair": 4, "speak": 5}]
    f = survey_figures("end", answers, k=5)
    q = {x["id"]: x for x in f["questions"]}
    assert f["respondents"] == 5 and not f["suppressed"]
    assert q["fair"]["counts"] == {1: 1, 2: 1, 3: 0, 4: 2, 5: 1} and q["fair"]["agree"] == 0.6 and q["fair"]["mean"] == 3.2
    assert q["speak"]["answered"] == 1 and q["speak"]["suppressed"] and q["speak"]["counts"] is None
    assert q["best"]["answers"] == [] and q["best"]["suppressed"]
    assert survey_figures("end", answers[:4], k=5)["suppressed"]
    opened = survey_figures("end", [{"best": t} for t in "edcba"], k=5)
    assert next(x for x in opened["questions"] if x["id"] == "best")["answers"] == list("abcde")  # order says nothing


def test_answers_are_due_after_the_later_of_the_last_session_and_the_report():
    assert response_due(date(2027, 4, 3), date(2026, 12, 3), 90) == date(2027, 7, 2)
    assert response_due(None, date(2027, 5, 1), 30) == date(2027, 5, 31)
    assert response_due(None, None, 90) is None
    recs = [{"history": [{"response": "under_consideration", "answered_on": date(2027, 5, 1)},
                         {"response": "accepted", "answered_on": date(2027, 6, 1)}]},
            {"history": [{"response": "rejected", "answered_on": date(2027, 8, 1)}]},
            {"history": []}]
    r = answered_in_time(recs, date(2027, 7, 2))
    assert (r["adopted"], r["answered"], r["answered_by_due"], r["share_by_due"]) == (3, 2, 1, round(1 / 3, 5))


def summary():
    return {"assembly_id": "a", "name": "A", "invitations_sent": 100, "registrations": 12, "reply_rate": 0.12,
            "panel_target": 10, "replacements": 1, "replacement_list": [{"dropped": 1}], "attendance_rate": 0.9,
            "hours_by_phase": {"learning": 7.5, "hearing": 7.5, "values": 6, "voting": 2},
            "sessions": [{"held": True, "present": 10}, {"held": True, "present": 8}],
            "composition": [{"category": "gender", "value": "f", "quota_min": 4, "quota_max": 6, "target_share": 0.5,
                             "population_share": None, "pool": 3, "pool_share": 0.25, "panel": 6, "panel_share": 0.6,
                             "within_quota": True}],
            "per_region": [{"region": "N", "invitations": 100, "registrations": 12, "reply_rate": 0.12, "panel": 10}]}


def test_the_pack_suppresses_small_groups_and_says_what_it_cannot_know():
    closed = {"end": survey_figures("end", [{"fair": 5}] * 4 + [{"fair": 3}], k=5)}
    p = pack(summary(), closed, {"recommendations": []}, date(2027, 7, 2), k=5)
    assert p["representativeness"][0]["pool"] is None and p["representativeness"][0]["panel"] == 6
    assert p["hours"]["learning"] == 15 and p["hours"]["deliberation"] == 6 and p["hours"]["decision"] == 2
    assert p["retention"]["present_last_session"] == 8 and p["retention"]["retention"] == 0.8
    assert p["retention"]["dropped_out"] == 1
    assert p["perceived_fairness"]["agree"] == 0.8 and p["freedom_to_speak"] is None
    notes = {n["figure"] for n in p["not_known"]}
    assert {"experts", "population", "freedom_to_speak", "independent_evaluation", "costs"} <= notes
    assert "perceived_fairness" not in notes
    rows = pack_rows(p)
    assert ("representativeness", "gender=f:pool_share", "") in rows and ("perceived_fairness", "agree", "0.8") in rows
    with_experts = pack({**summary(), "experts": [{"kind": "expert", "affiliation": "DTU"},
                                                  {"kind": "stakeholder", "affiliation": "dtu "}]}, {}, {}, None, k=5)
    assert with_experts["experts"] == {"heard": 2, "by_kind": {"expert": 1, "stakeholder": 1}, "affiliations": 1}
    assert p["hours"]["by_agenda"] is None
    programme = {"agenda_items": 3, "agenda_hours_by_phase": {"learning": 2.0, "values": 3.0},
                 "heard": [{"name": "A", "kind": "expert", "affiliation": "KU"}]}
    with_programme = pack({**summary(), "programme": programme}, {}, {}, None, k=5)
    assert with_programme["experts"] == {"heard": 1, "by_kind": {"expert": 1}, "affiliations": 1}
    assert with_programme["hours"]["by_agenda"]["learning"] == 2 and with_programme["hours"]["by_agenda"]["deliberation"] == 3
    assert ("hours", "by_agenda:learning", "2.0") in pack_rows(with_programme)
    assert "experts" not in {n["figure"] for n in with_programme["not_known"]}
