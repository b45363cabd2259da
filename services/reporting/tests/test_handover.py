"""The handover report's pure parts: small groups suppressed, what changed between versions, the
charts (deterministic, suppressed values without a bar), the follow-up's rules and view."""

from datetime import date, datetime, timezone

from services.reporting.domain.charts import shares_chart
from services.reporting.domain.disclosure import public_figures, small
from services.reporting.domain.followup import check_response, followup
from services.reporting.domain.versions import changes, flatten


def summary() -> dict:
    return {"name": "Klima", "invitations_sent": 100,
            "composition": [{"category": "gender", "value": "female", "pool": 6, "pool_share": 0.6, "panel": 3,
                             "panel_share": 0.5, "within_quota": True},
                            {"category": "gender", "value": "male", "pool": 4, "pool_share": 0.4, "panel": 0,
                             "panel_share": 0.0, "within_quota": False}],
            "per_region": [{"region": "N", "registrations": 4, "reply_rate": 0.04, "panel": 7}]}


def test_groups_below_k_are_suppressed_with_their_shares_and_zero_is_shown():
    assert small(1, 5) and small(4, 5) and not small(0, 5) and not small(5, 5) and not small(None, 5)
    s = public_figures(summary(), 5)
    female, male = s["composition"]
    assert (female["pool"], female["panel"], female["panel_share"]) == (6, None, None)
    assert (male["pool"], male["pool_share"], male["panel"]) == (None, None, 0)
    assert s["per_region"][0] == {"region": "N", "registrations": None, "reply_rate": None, "panel": 7}
    assert s["min_group"] == 5 and summary()["composition"][0]["panel"] == 3  # the input is left alone
    assert public_figures(summary(), 3)["composition"][0]["panel"] == 3


def test_what_changed_names_each_figure_by_a_stable_path():
    before, after = summary(), summary()
    after["invitations_sent"] = 120
    after["composition"].reverse()  # order alone changes nothing
    after["composition"][0]["panel"] = 1
    assert flatten(before)["composition[gender=female].pool"] == 6
    assert changes(before, after) == [{"figure": "composition[gender=male].panel", "before": 0, "after": 1},
                                      {"figure": "invitations_sent", "before": 100, "after": 120}]
    assert changes(before, before) == []


def test_the_chart_is_deterministic_and_a_suppressed_value_has_no_bar():
    rows = [{"label": "Woman", "values": [0.5, 0.6, None]}, {"label": "Man", "values": [0.5, 0.4, 0.5]}]
    svg = shares_chart("Gender", ["Target", "Pool", "Panel"], rows, hidden="fewer than 5")
    assert svg == shares_chart("Gender", ["Target", "Pool", "Panel"], rows, hidden="fewer than 5")
    assert svg.startswith("<svg") and 'role="img"' in svg and "<title" in svg and "<desc" in svg
    assert svg.count("<rect") == 3 + 5  # the legend's three, and five bars (not the suppressed one)
    assert "Woman: Target 50 %, Pool 60 %, Panel fewer than 5" in svg


def test_a_response_needs_reasoning_a_body_a_date_and_public_links():
    ok = dict(response="accepted", implementation=None, reasoning="Yes.", responsible_body="Ministry",
              answered_on=date(2027, 6, 1), deadline=date(2028, 1, 1), links=["https://ft.dk/l42"])
    assert check_response(**ok) == []
    bad = check_response(**{**ok, "response": "maybe", "reasoning": " ", "responsible_body": "",
                            "deadline": date(2027, 1, 1), "links": ["javascript:alert(1)"]})
    assert [b["field"] for b in bad] == ["response", "reasoning", "responsible_body", "deadline", "links"]


def test_the_follow_up_keeps_every_entry_and_counts_the_answered_and_the_overdue():
    at = datetime(2027, 1, 1, tzinfo=timezone.utc)

    def entry(q, response, on, deadline=None, implementation=None):
        return {"ballot_id": "b", "question_id": q, "response": response, "answered_on": on, "recorded_at": at,
                "deadline": deadline, "implementation": implementation}
    recs = [{"ballot_id": "b", "question_id": q, "text": q} for q in ("q1", "q2", "q3")]
    f = followup(recs, [entry("q1", "under_consideration", date(2027, 2, 1)),
                        entry("q1", "accepted", date(2027, 5, 1), date(2027, 12, 1), "in_progress"),
                        entry("q2", "under_consideration", date(2027, 3, 1))], today=date(2028, 1, 1))
    q1, q2, q3 = f["recommendations"]
    assert [x["response"] for x in q1["history"]] == ["under_consideration", "accepted"] and q1["latest"]["response"] == "accepted"
    assert q1["overdue"] and not q2["overdue"] and q3["latest"] is None
    assert (f["answered"], f["total"], f["responses"], f["overdue"], f["last_answer"]) == (1, 3, 3, 1, date(2027, 5, 1))
