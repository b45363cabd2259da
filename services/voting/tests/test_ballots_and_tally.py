"""Ballot types, choice validation, thresholds (incl. exact edges), quorum, hidden results."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest

from services.voting.domain.ballots import Ballot, Base, Question, Quorum, Threshold
from services.voting.domain.errors import (
    BallotClosedError,
    BallotNotOpenError,
    InvalidBallotError,
    InvalidChoiceError,
    ResultsHiddenError,
)
from services.voting.domain.tally import count, tally

T0 = datetime(2025, 1, 1, 10, tzinfo=UTC)


def yes_no_ballot(threshold: Threshold, members: int = 100, quorum: Quorum | None = None) -> Ballot:
    return Ballot("b", "t", (Question.yes_no("q1"),), members=members, threshold=threshold,
                  quorum=quorum or Quorum(), opens_at=T0, closes_at=T0 + timedelta(hours=1))


def votes(yes: int = 0, no: int = 0, abstain: int = 0) -> list[dict]:
    return [{"q1": "yes"}] * yes + [{"q1": "no"}] * no + [{"q1": "abstain"}] * abstain


# ---- validation ------------------------------------------------------------------------------

def test_yes_no_validation_messages():
    b = yes_no_ballot(Threshold.simple_majority())
    assert b.validate_choices({"q1": "yes"}) == {"q1": "yes"}
    with pytest.raises(InvalidChoiceError, match=r"question q1 \(yes/no/abstain\): 'maybe' is not one of yes, no, abstain"):
        b.validate_choices({"q1": "maybe"})
    with pytest.raises(InvalidChoiceError, match="no choice given"):
        b.validate_choices({})
    with pytest.raises(InvalidChoiceError, match="no question 'q9'"):
        b.validate_choices({"q1": "yes", "q9": "no"})
    with pytest.raises(InvalidChoiceError, match="must be an object"):
        b.validate_choices(["yes"])


def test_agree_scale_points_and_support():
    q = Question.agree_scale("s", points=5)
    assert q.support_points == frozenset({4, 5})
    assert Question.agree_scale("s4", points=4).support_points == frozenset({3, 4})
    assert q.validate(3) == 3 and q.validate("abstain") == "abstain"
    for bad in (0, 6, "4", True, 4.0):
        with pytest.raises(InvalidChoiceError, match="not a point of the scale"):
            q.validate(bad)
    with pytest.raises(InvalidBallotError, match="support_points"):
        Question("x", "", q.type, points=(1, 2, 3), support_points=frozenset({7}))


def test_approval_and_ranking_validation():
    a = Question.approval("a", ["x", "y", "z"], max_approvals=2)
    assert a.validate(["z", "x"]) == ["x", "z"]  # normalised to option order
    assert a.validate([]) == []
    with pytest.raises(InvalidChoiceError, match="at most 2"):
        a.validate(["x", "y", "z"])
    with pytest.raises(InvalidChoiceError, match="unknown option 'w'"):
        a.validate(["w"])
    with pytest.raises(InvalidChoiceError, match="listed twice"):
        a.validate(["x", "x"])
    r = Question.ranking("r", ["x", "y", "z"])
    assert r.validate(["y", "x"]) == ["y", "x"]
    with pytest.raises(InvalidChoiceError, match="rank at least one"):
        r.validate([])
    with pytest.raises(InvalidChoiceError, match="expected a list"):
        r.validate("x")


def test_bad_definitions_are_refused():
    with pytest.raises(InvalidBallotError, match="no questions"):
        Ballot("b", "t", (), members=3)
    with pytest.raises(InvalidBallotError, match="unique"):
        Ballot("b", "t", (Question.yes_no("q"), Question.yes_no("q")), members=3)
    with pytest.raises(InvalidBallotError, match="at least 2 distinct options"):
        Question.approval("a", ["x"])
    with pytest.raises(InvalidBallotError, match="between 0 and 1"):
        Threshold.from_dict({"fraction": "3/2"})
    with pytest.raises(InvalidBallotError, match="time zone"):
        Ballot("b", "t", (Question.yes_no("q"),), members=3, opens_at=datetime(2025, 1, 1))


def test_definition_round_trips_through_json():
    b = Ballot("b", "t", (Question.yes_no("q1", threshold=Threshold.two_thirds(Base.MEMBERS)),
                          Question.agree_scale("q2"), Question.approval("q3", ["a", "b"], max_approvals=1),
                          Question.ranking("q4", ["a", "b", "c"])),
               members=40, threshold=Threshold.percent(70), quorum=Quorum(10, Fraction(1, 2)),
               opens_at=T0, closes_at=T0 + timedelta(hours=1))
    assert Ballot.from_dict(b.to_dict()) == b


# ---- open / closed ---------------------------------------------------------------------------

def test_results_are_hidden_until_close():
    b = yes_no_ballot(Threshold.simple_majority())
    with pytest.raises(ResultsHiddenError, match="hidden until it closes"):
        tally(b, votes(3, 1), now=T0 + timedelta(minutes=30))
    assert tally(b, votes(3, 1), now=T0 + timedelta(hours=1)).questions["q1"]["passed"] is True
    early = b.close(T0 + timedelta(minutes=10))
    assert tally(early, votes(1), now=T0 + timedelta(minutes=10)).ballots_cast == 1


def test_open_window():
    b = yes_no_ballot(Threshold.simple_majority())
    with pytest.raises(BallotNotOpenError):
        b.ensure_open(T0 - timedelta(seconds=1))
    b.ensure_open(T0)
    with pytest.raises(BallotClosedError):
        b.ensure_open(T0 + timedelta(hours=1))


def test_states_while_issuing_tokens_then_voting():
    b = yes_no_ballot(Threshold.simple_majority())
    assert b.state(T0 - timedelta(seconds=1), issuing=True) == "issuing"
    assert b.state(T0 + timedelta(minutes=5), issuing=True) == "issuing"  # voting not opened by the organiser
    assert b.state(T0 - timedelta(seconds=1)) == "scheduled" and b.state(T0) == "open"
    assert b.state(T0, issuing=True, closed=True) == "closed"
    assert b.state(T0 + timedelta(hours=1), issuing=True) == "closed"


# ---- thresholds ------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("threshold", "yes", "no", "passed"),
    [
        (Threshold.simple_majority(), 5, 5, False),  # exactly half is not a majority
        (Threshold.simple_majority(), 6, 5, True),
        (Threshold.two_thirds(), 2, 1, True),  # exactly 2/3 passes
        (Threshold.two_thirds(), 20, 10, True),
        (Threshold.two_thirds(), 19, 10, False),  # 65.5 %
        (Threshold.percent(70), 7, 3, True),  # exactly 70 %
        (Threshold.percent(70), 69, 31, False),
        (Threshold.percent(80), 8, 2, True),  # exactly 80 %
        (Threshold.percent(80), 79, 21, False),
        (Threshold.simple_majority(), 0, 0, False),  # nobody voted
    ],
)
def test_thresholds_of_valid_votes(threshold, yes, no, passed):
    r = count(yes_no_ballot(threshold), votes(yes, no, abstain=7))
    q = r.questions["q1"]
    assert q["passed"] is passed
    assert q["base"] == yes + no  # abstentions excluded from valid votes
    assert q["counts"] == {"yes": yes, "no": no, "abstain": 7}


def test_threshold_bases_votes_cast_and_members():
    cast = Ballot("b", "t", (Question.yes_no("q1"),), members=30,
                  threshold=Threshold.simple_majority(Base.VOTES_CAST))
    r = count(cast, votes(6, 4, 2)).questions["q1"]
    assert (r["support"], r["base"], r["passed"]) == (6, 12, False)  # 6/12 is not > 1/2
    members = Ballot("b", "t", (Question.yes_no("q1"),), members=30,
                     threshold=Threshold.two_thirds(Base.MEMBERS))
    assert count(members, votes(19)).questions["q1"]["passed"] is False
    assert count(members, votes(20)).questions["q1"]["passed"] is True  # exactly 20/30


def test_question_threshold_overrides_ballot_threshold():
    b = Ballot("b", "t", (Question.yes_no("q1", threshold=Threshold.percent(80)), Question.yes_no("q2")),
               members=10)
    r = count(b, [{"q1": "yes", "q2": "yes"}] * 7 + [{"q1": "no", "q2": "no"}] * 3)
    assert r.questions["q1"]["passed"] is False and r.questions["q2"]["passed"] is True


def test_quorum():
    q = Quorum(min_ballots=3, min_fraction=Fraction(1, 2))
    assert not q.met(2, 4) and q.met(3, 6) and not q.met(3, 7)
    b = yes_no_ballot(Threshold.simple_majority(), members=10, quorum=Quorum(min_fraction=Fraction(1, 2)))
    low = count(b, votes(4))
    assert low.quorum_met is False and low.questions["q1"]["passed"] is False
    ok = count(b, votes(4, 0, 1))  # abstentions count toward turnout
    assert ok.quorum_met is True and ok.questions["q1"]["passed"] is True


def test_agree_scale_tally():
    b = Ballot("b", "t", (Question.agree_scale("s", points=4),), members=10, threshold=Threshold.two_thirds())
    r = count(b, [{"s": 4}, {"s": 3}, {"s": 1}, {"s": "abstain"}]).questions["s"]
    assert r["counts"] == {"1": 1, "2": 0, "3": 1, "4": 1, "abstain": 1}
    assert (r["support"], r["base"], r["support_share"], r["passed"]) == (2, 3, "2/3", True)


def test_approval_tally():
    b = Ballot("b", "t", (Question.approval("a", ["x", "y", "z"]),), members=10)
    r = count(b, [{"a": ["x", "y"]}, {"a": ["x"]}, {"a": ["y", "x"]}, {"a": []}, {"a": "abstain"}]).questions["a"]
    assert r["counts"] == {"x": 3, "y": 2, "z": 0, "abstain": 1}
    assert r["valid"] == 4 and r["passed"] == ["x"]  # y: 2/4 is not > 1/2


def test_ranking_borda():
    b = Ballot("b", "t", (Question.ranking("r", ["x", "y", "z"]),), members=10)
    r = count(b, [{"r": ["x", "y", "z"]}, {"r": ["y", "x", "z"]}, {"r": ["z"]}, {"r": "abstain"}]).questions["r"]
    # 3 options: 2, 1, 0 points by rank; unranked 0.
    assert r["counts"] == {"x": 3, "y": 3, "z": 2, "abstain": 1}
    assert r["order"] == [["x", "y"], ["z"]]
    assert r["first_preferences"] == {"x": 1, "y": 1, "z": 1}


def test_tally_revalidates_votes():
    with pytest.raises(InvalidChoiceError):
        count(yes_no_ballot(Threshold.simple_majority()), [{"q1": "perhaps"}])
