"""The count: from the accepted votes of a closed ballot to its result.

``tally`` refuses to count an open ballot (``ResultsHiddenError``): results stay hidden from
everyone, organisers included, until the ballot closes. The verifier recounts with the same code
(``count``) from the public board and compares with the published result.

Result of one question (``BallotResult.questions[qid]``), all integers or strings so it is exact
JSON:

- every type: ``counts`` (str -> int, always with "abstain"), ``cast`` (votes on the question),
  ``valid`` (cast minus abstentions);
- yes_no_abstain / agree_scale: ``support``, ``base`` (the count the threshold is taken of),
  ``threshold`` (text), ``passed`` (bool; False when the quorum is not met);
- approval: ``counts`` per option are approvals; ``passed`` lists the options that reach the
  threshold, most approved first;
- ranking: ``counts`` per option are Borda points (on a list of n options the first-ranked gets
  n-1 points, the next n-2, ..., unranked options 0), ``first_preferences``, and ``order``: groups
  of options from most to fewest points (options in one group are tied).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Any

from .ballots import ABSTAIN, Ballot, Base, Question, QuestionType
from .errors import ResultsHiddenError


@dataclass(frozen=True)
class BallotResult:
    ballot_id: str
    ballots_cast: int
    members: int
    quorum_met: bool
    questions: dict[str, dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "ballot_id": self.ballot_id,
            "ballots_cast": self.ballots_cast,
            "members": self.members,
            "quorum_met": self.quorum_met,
            "questions": self.questions,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> BallotResult:
        return cls(d["ballot_id"], d["ballots_cast"], d["members"], d["quorum_met"], dict(d["questions"]))

    def support(self, qid: str) -> tuple[int, int]:
        """(support, base) of a yes/no or scale question: what reporting shows per recommendation."""
        q = self.questions[qid]
        return q["support"], q["base"]


def _base_count(base: Base, valid: int, cast: int, members: int) -> int:
    return {Base.VALID_VOTES: valid, Base.VOTES_CAST: cast, Base.MEMBERS: members}[base]


def _share(a: int, b: int) -> str:
    if b <= 0:
        return "0/1"
    f = Fraction(a, b)
    return f"{f.numerator}/{f.denominator}"


def _count_question(ballot: Ballot, q: Question, choices: list[Any], quorum_met: bool) -> dict[str, Any]:
    abstain = sum(1 for c in choices if c == ABSTAIN)
    cast = len(choices)
    valid = cast - abstain
    th = ballot.threshold_for(q)
    out: dict[str, Any] = {"type": q.type.value, "cast": cast, "valid": valid}

    if q.type in (QuestionType.YES_NO_ABSTAIN, QuestionType.AGREE_SCALE):
        if q.type is QuestionType.YES_NO_ABSTAIN:
            keys: list[str] = ["yes", "no"]
            counts = {k: sum(1 for c in choices if c == k) for k in keys}
            support = counts["yes"]
        else:
            counts = {str(p): sum(1 for c in choices if c == p) for p in q.points}
            support = sum(counts[str(p)] for p in q.support_points)
        counts["abstain"] = abstain
        base = _base_count(th.base, valid, cast, ballot.members)
        out.update(
            counts=counts,
            support=support,
            base=base,
            support_share=_share(support, base),
            threshold=th.describe(),
            passed=bool(quorum_met and th.passes(support, base)),
        )
        return out

    if q.type is QuestionType.APPROVAL:
        counts = {o: sum(1 for c in choices if c != ABSTAIN and o in c) for o in q.options}
        counts["abstain"] = abstain
        base = _base_count(th.base, valid, cast, ballot.members)
        passing = [o for o in q.options if quorum_met and th.passes(counts[o], base)]
        passing.sort(key=lambda o: -counts[o])  # stable: ties keep the question's option order
        out.update(counts=counts, base=base, threshold=th.describe(), passed=passing)
        return out

    # Ranking, Borda count.
    n = len(q.options)
    points = {o: 0 for o in q.options}
    first = {o: 0 for o in q.options}
    for c in choices:
        if c == ABSTAIN:
            continue
        for i, o in enumerate(c):
            points[o] += n - 1 - i
        first[c[0]] += 1
    groups: dict[int, list[str]] = {}
    for o in q.options:
        groups.setdefault(points[o], []).append(o)
    order = [groups[p] for p in sorted(groups, reverse=True)]
    counts = dict(points)
    counts["abstain"] = abstain
    out.update(counts=counts, first_preferences=first, order=order)
    return out


def count(ballot: Ballot, votes: Iterable[Mapping[str, Any]]) -> BallotResult:
    """Count votes (each a mapping question id -> choice), whatever the ballot's state.

    Every vote is validated again; an invalid one raises ``InvalidChoiceError``. Use ``tally``
    in the service: it refuses to count an open ballot.
    """
    normalised = [ballot.validate_choices(v) for v in votes]
    cast = len(normalised)
    quorum_met = ballot.quorum.met(cast, ballot.members)
    questions = {
        q.id: _count_question(ballot, q, [v[q.id] for v in normalised], quorum_met) for q in ballot.questions
    }
    return BallotResult(ballot.id, cast, ballot.members, quorum_met, questions)


def tally(ballot: Ballot, votes: Iterable[Mapping[str, Any]], *, now: datetime) -> BallotResult:
    """The result of a closed ballot. Raises ``ResultsHiddenError`` while it is open."""
    if not ballot.is_closed(now):
        when = ballot.effective_close()
        tail = f" (it closes at {when.isoformat()})" if when else " (it has not been closed)"
        raise ResultsHiddenError(f"results of ballot {ballot.id} are hidden until it closes{tail}")
    return count(ballot, votes)


def question_results(ballot: Ballot, result: BallotResult) -> list[dict[str, Any]]:
    """Per question, the fields of the results-tallied event (`QuestionResultV2`): a
    recommendation (yes/no, agree scale) passes or not; an approval question names the options
    that passed; a ranking gives its order."""
    out = []
    for q in ballot.questions:
        r = result.questions[q.id]
        rec = q.is_recommendation
        out.append({"question_id": q.id, "text": q.text, "type": q.type.value, "recommendation": rec,
                    "counts": r["counts"], "cast": r["cast"], "valid": r["valid"], "support": r.get("support"),
                    "base": r.get("base"), "support_share": r.get("support_share"),
                    "threshold": r.get("threshold"), "passed": r["passed"] if rec else None,
                    "passed_options": r["passed"] if q.type is QuestionType.APPROVAL else None,
                    "order": r.get("order")})
    return out
