"""The service's request models turn what an organiser sends into a domain ballot (no I/O)."""

from __future__ import annotations

from fractions import Fraction

import pytest
from pydantic import ValidationError

from services.voting.api import BallotIn
from services.voting.domain.ballots import Ballot, Base
from services.voting.domain.errors import InvalidBallotError
from shared.errors import ApiError


def ballot(**body) -> Ballot:
    d = BallotIn(**{"title": "t", **body}).definition()
    return Ballot.from_dict({**d, "id": "b", "members": 10})


def test_recommendations_are_yes_no_questions_after_the_explicit_ones():
    b = ballot(questions=[{"text": "Rank", "type": "ranking", "options": ["a", "b"]}], recommendations=["r1", "r2"])
    assert [(q.id, q.type.value) for q in b.questions] == [("q1", "ranking"), ("q2", "yes_no_abstain"),
                                                           ("q3", "yes_no_abstain")]


@pytest.mark.parametrize("given, fraction, strict", [
    (None, Fraction(1, 2), True),  # simple majority: more than half
    (0.7, Fraction(7, 10), False),  # 70 %: at least
    ("2/3", Fraction(2, 3), False),
    ({"fraction": "80/100", "base": "members"}, Fraction(4, 5), False),
    ({"fraction": "1/2", "strict": False}, Fraction(1, 2), False),
])
def test_thresholds(given, fraction, strict):
    b = ballot(recommendations=["r"], **({} if given is None else {"threshold": given}))
    assert (b.threshold.fraction, b.threshold.strict) == (fraction, strict)
    if isinstance(given, dict) and given.get("base"):
        assert b.threshold.base is Base.MEMBERS


def test_agree_scale_support_defaults_to_the_upper_points():
    b = ballot(questions=[{"text": "s", "type": "agree_scale"}, {"text": "s4", "type": "agree_scale", "points": 4},
                          {"text": "s7", "type": "agree_scale", "points": 7, "support_from": 6}])
    assert [sorted(q.support_points) for q in b.questions] == [[4, 5], [3, 4], [6, 7]]


def test_bad_input_is_refused_before_any_database_work():
    with pytest.raises(ValidationError):
        BallotIn(title="t", recommendations=["r"], threshold=2)
    with pytest.raises(ValidationError):
        BallotIn(title="t", recommendations=["r"], threshold="two thirds")
    with pytest.raises(ValidationError):
        BallotIn(title="t", questions=[{"text": "x", "type": "maybe"}])
    with pytest.raises(ApiError):
        BallotIn(title="t").definition()  # no question at all
    with pytest.raises(InvalidBallotError):
        ballot(questions=[{"text": "x", "type": "approval", "options": ["only one"]}])
