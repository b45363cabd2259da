"""The service's request models turn what an organiser sends into a domain ballot (no I/O)."""

from __future__ import annotations

from fractions import Fraction

import pytest
from pydantic import ValidationError

from services.voting.api import BallotIn
from services.voting.domain.ballots import Ballot, Base
from services.voting.domain.errors import InvalidBallotError
from shared.problems import InvalidInput


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
    with pytest.raises(InvalidInput):
        BallotIn(title="t").definition()  # no question at all
    with pytest.raises(InvalidBallotError):
        ballot(questions=[{"text": "x", "type": "approval", "options": ["only one"]}])


@pytest.mark.parametrize("kind", ["online", "paper"])
def test_the_hand_built_vote_cast_event_is_the_contracts(kind):
    """The ballot box builds its vote-cast events without pydantic (hot path): the JSON must be
    what `new_event(VoteCastV2(...))` makes, and valid under the envelope and the contract."""
    import json
    import os
    import uuid
    from datetime import datetime, timezone

    from services.voting.domain.board import make_entry
    from services.voting.domain.tokens import VoteToken
    from services.voting.ingest import event_time, vote_cast_row
    from shared.events import contracts as ev
    from shared.events.envelope import Envelope, new_event

    aid, bid, at = uuid.uuid4(), uuid.uuid4(), datetime.now(timezone.utc)
    token = VoteToken(os.urandom(126), os.urandom(256)) if kind == "online" else None
    entry = make_entry(position=7, prev_hash="0" * 64, ballot_id=str(bid), kind=kind, token=token,
                       choices={"q1": "yes", "q2": 4, "q3": ["tram"], "q4": "abstain"},
                       sheet_id=None if token else "S-1", officials=None if token else {"entered_by": "a",
                                                                                          "confirmed_by": "b"})
    row = vote_cast_row(str(aid), json.loads(json.dumps(entry)), at=event_time(at), correlation_id="c-1")
    env = Envelope.model_validate(json.loads(json.dumps(row["envelope"])))
    payload = ev.VoteCastV2.model_validate(env.payload)
    expected = new_event(ev.VoteCastV2(assembly_id=aid, ballot_id=bid, position=7, entry_hash=entry["hash"], kind=kind,
                                       token_hash=entry["token_hash"], choices=entry["choices"]),
                         subject=aid, correlation_id="c-1")
    assert row["envelope"] == {**expected.model_dump(mode="json"), "id": row["event_id"], "time": row["envelope"]["time"]}
    assert (row["topic"], row["key"]) == (expected.topic, str(aid))
    assert env.time == at and env.id == uuid.UUID(row["event_id"]) and payload.position == 7
