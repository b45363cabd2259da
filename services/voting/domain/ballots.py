"""Ballots, questions, thresholds and quorum, and validation of a vote's choices.

Pure code: no clock (callers pass ``now``), no I/O. Definitions round-trip through plain JSON
(``to_dict``/``from_dict``) because they are published on the bulletin board and read back by
the independent verifier; fractions are written as strings ("2/3") so no float ever decides a
threshold.

Choices, one per question, JSON values:

=================  ======================================================  ==================
question type      a choice                                                 counts as support
=================  ======================================================  ==================
yes_no_abstain     "yes" | "no" | "abstain"                                 "yes"
agree_scale        one of the scale's points (int) | "abstain"              points in
                                                                            ``support_points``
approval           list of option ids approved (may be empty) | "abstain"   per option
ranking            list of distinct option ids, best first | "abstain"      (Borda points)
=================  ======================================================  ==================
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from fractions import Fraction
from typing import Any

from .errors import BallotClosedError, BallotNotOpenError, InvalidBallotError, InvalidChoiceError

ABSTAIN = "abstain"


class QuestionType(str, enum.Enum):
    YES_NO_ABSTAIN = "yes_no_abstain"
    AGREE_SCALE = "agree_scale"
    APPROVAL = "approval"
    RANKING = "ranking"


class Base(str, enum.Enum):
    """What a threshold is a fraction of."""

    VALID_VOTES = "valid_votes"  # votes on the question, abstentions excluded
    VOTES_CAST = "votes_cast"  # votes on the question, abstentions included
    MEMBERS = "members"  # every eligible member of the assembly


def _fraction(value: Any, what: str) -> Fraction:
    try:
        f = Fraction(value) if not isinstance(value, float) else Fraction(str(value))
    except (TypeError, ValueError, ZeroDivisionError):
        raise InvalidBallotError(f"{what}: {value!r} is not a fraction like '2/3' or '0.7'") from None
    if not 0 <= f <= 1:
        raise InvalidBallotError(f"{what}: {value!r} must be between 0 and 1")
    return f


def _fraction_str(f: Fraction) -> str:
    return f"{f.numerator}/{f.denominator}"


@dataclass(frozen=True)
class Threshold:
    """Support needed to pass: more than (strict) or at least ``fraction`` of ``base``."""

    fraction: Fraction = Fraction(1, 2)
    base: Base = Base.VALID_VOTES
    strict: bool = True

    @classmethod
    def simple_majority(cls, base: Base = Base.VALID_VOTES) -> Threshold:
        return cls(Fraction(1, 2), base, strict=True)  # more than half

    @classmethod
    def two_thirds(cls, base: Base = Base.VALID_VOTES) -> Threshold:
        return cls(Fraction(2, 3), base, strict=False)  # at least two thirds

    @classmethod
    def percent(cls, pct: int, base: Base = Base.VALID_VOTES) -> Threshold:
        return cls(Fraction(pct, 100), base, strict=False)  # at least pct %

    def passes(self, support: int, base_count: int) -> bool:
        if base_count <= 0:
            return False
        share = Fraction(support, base_count)
        return share > self.fraction if self.strict else share >= self.fraction

    def describe(self) -> str:
        op = ">" if self.strict else ">="
        return f"{op} {_fraction_str(self.fraction)} of {self.base.value}"

    def to_dict(self) -> dict[str, Any]:
        return {"fraction": _fraction_str(self.fraction), "base": self.base.value, "strict": self.strict}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Threshold:
        try:
            base = Base(d.get("base", Base.VALID_VOTES.value))
        except ValueError:
            raise InvalidBallotError(
                f"threshold base {d.get('base')!r} is not one of {', '.join(b.value for b in Base)}"
            ) from None
        return cls(_fraction(d.get("fraction", "1/2"), "threshold fraction"), base, bool(d.get("strict", False)))


@dataclass(frozen=True)
class Quorum:
    """Minimum participation: ballots cast >= ``min_ballots`` and >= ``min_fraction`` of members."""

    min_ballots: int = 0
    min_fraction: Fraction = Fraction(0)

    def met(self, ballots_cast: int, members: int) -> bool:
        if ballots_cast < self.min_ballots:
            return False
        if self.min_fraction and (members <= 0 or Fraction(ballots_cast, members) < self.min_fraction):
            return False
        return True

    def to_dict(self) -> dict[str, Any]:
        return {"min_ballots": self.min_ballots, "min_fraction": _fraction_str(self.min_fraction)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Quorum:
        mb = d.get("min_ballots", 0)
        if not isinstance(mb, int) or isinstance(mb, bool) or mb < 0:
            raise InvalidBallotError(f"quorum min_ballots {mb!r} must be a whole number >= 0")
        return cls(mb, _fraction(d.get("min_fraction", "0"), "quorum min_fraction"))


@dataclass(frozen=True)
class Question:
    """One question: per recommendation (yes/no, scale) or over alternatives (approval, ranking)."""

    id: str
    text: str
    type: QuestionType
    options: tuple[str, ...] = ()  # approval/ranking: option ids
    points: tuple[int, ...] = ()  # agree_scale: the scale, e.g. (1, 2, 3, 4, 5)
    support_points: frozenset[int] = frozenset()  # agree_scale: which points count as support
    max_approvals: int | None = None  # approval: at most this many options approved
    threshold: Threshold | None = None  # overrides the ballot's threshold for this question

    def __post_init__(self) -> None:
        where = f"question {self.id!r}"
        if not self.id or not isinstance(self.id, str):
            raise InvalidBallotError("every question needs a non-empty string id")
        if self.type is QuestionType.AGREE_SCALE:
            if len(self.points) < 2 or len(set(self.points)) != len(self.points):
                raise InvalidBallotError(f"{where}: an agree scale needs at least 2 distinct points")
            if not self.support_points or not self.support_points <= set(self.points):
                raise InvalidBallotError(f"{where}: support_points must be a non-empty subset of the points")
        if self.type in (QuestionType.APPROVAL, QuestionType.RANKING):
            if len(self.options) < 2 or len(set(self.options)) != len(self.options):
                raise InvalidBallotError(f"{where}: needs at least 2 distinct options")
            if ABSTAIN in self.options:
                raise InvalidBallotError(f"{where}: 'abstain' cannot be an option id")
        if self.max_approvals is not None and not 1 <= self.max_approvals <= len(self.options):
            raise InvalidBallotError(f"{where}: max_approvals must be between 1 and the number of options")

    @classmethod
    def yes_no(cls, id: str, text: str = "", threshold: Threshold | None = None) -> Question:
        return cls(id, text, QuestionType.YES_NO_ABSTAIN, threshold=threshold)

    @classmethod
    def agree_scale(
        cls, id: str, text: str = "", points: int = 5, support_from: int | None = None,
        threshold: Threshold | None = None,
    ) -> Question:
        """Scale 1..points; by default the upper points above the middle count as support."""
        pts = tuple(range(1, points + 1))
        start = support_from if support_from is not None else points // 2 + 2 if points % 2 else points // 2 + 1
        return cls(id, text, QuestionType.AGREE_SCALE, points=pts,
                   support_points=frozenset(p for p in pts if p >= start), threshold=threshold)

    @classmethod
    def approval(cls, id: str, options: list[str] | tuple[str, ...], text: str = "",
                 max_approvals: int | None = None, threshold: Threshold | None = None) -> Question:
        return cls(id, text, QuestionType.APPROVAL, options=tuple(options), max_approvals=max_approvals,
                   threshold=threshold)

    @classmethod
    def ranking(cls, id: str, options: list[str] | tuple[str, ...], text: str = "") -> Question:
        return cls(id, text, QuestionType.RANKING, options=tuple(options))

    @property
    def is_recommendation(self) -> bool:
        """A recommendation passes or fails (yes/no, agree scale); approval and ranking do not."""
        return self.type in (QuestionType.YES_NO_ABSTAIN, QuestionType.AGREE_SCALE)

    def describe_type(self) -> str:
        return {
            QuestionType.YES_NO_ABSTAIN: "yes/no/abstain",
            QuestionType.AGREE_SCALE: "agree scale",
            QuestionType.APPROVAL: "approval",
            QuestionType.RANKING: "ranking",
        }[self.type]

    def _where(self) -> str:
        return f"question {self.id} ({self.describe_type()})"

    def validate(self, choice: Any) -> Any:
        """Check one choice against this question; return it normalised (lists as lists)."""
        if choice == ABSTAIN:
            return ABSTAIN
        t = self.type
        if t is QuestionType.YES_NO_ABSTAIN:
            if choice in ("yes", "no"):
                return choice
            raise InvalidChoiceError(f"{self._where()}: {choice!r} is not one of yes, no, abstain")
        if t is QuestionType.AGREE_SCALE:
            if isinstance(choice, int) and not isinstance(choice, bool) and choice in self.points:
                return choice
            pts = ", ".join(str(p) for p in self.points)
            raise InvalidChoiceError(f"{self._where()}: {choice!r} is not a point of the scale ({pts}) or abstain")
        if not isinstance(choice, (list, tuple)) or not all(isinstance(c, str) for c in choice):
            raise InvalidChoiceError(f"{self._where()}: expected a list of option ids or 'abstain', got {choice!r}")
        unknown = [c for c in choice if c not in self.options]
        if unknown:
            raise InvalidChoiceError(
                f"{self._where()}: unknown option {unknown[0]!r}; options are {', '.join(self.options)}"
            )
        if len(set(choice)) != len(choice):
            raise InvalidChoiceError(f"{self._where()}: an option is listed twice")
        if t is QuestionType.APPROVAL:
            if self.max_approvals is not None and len(choice) > self.max_approvals:
                raise InvalidChoiceError(
                    f"{self._where()}: at most {self.max_approvals} options may be approved, got {len(choice)}"
                )
            # Order carries no meaning in approval: store it in the question's option order.
            return [o for o in self.options if o in choice]
        if not choice:  # ranking
            raise InvalidChoiceError(f"{self._where()}: rank at least one option, or abstain")
        return list(choice)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "text": self.text, "type": self.type.value}
        if self.options:
            d["options"] = list(self.options)
        if self.type is QuestionType.AGREE_SCALE:
            d["points"] = list(self.points)
            d["support_points"] = sorted(self.support_points)
        if self.max_approvals is not None:
            d["max_approvals"] = self.max_approvals
        if self.threshold is not None:
            d["threshold"] = self.threshold.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Question:
        try:
            qtype = QuestionType(d.get("type"))
        except ValueError:
            raise InvalidBallotError(
                f"question {d.get('id')!r}: type {d.get('type')!r} is not one of "
                + ", ".join(t.value for t in QuestionType)
            ) from None
        return cls(
            id=d.get("id", ""),
            text=d.get("text", ""),
            type=qtype,
            options=tuple(d.get("options", ())),
            points=tuple(d.get("points", ())),
            support_points=frozenset(d.get("support_points", ())),
            max_approvals=d.get("max_approvals"),
            threshold=Threshold.from_dict(d["threshold"]) if d.get("threshold") else None,
        )


def _dt(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        dt = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise InvalidBallotError(f"{value!r} is not an ISO 8601 date-time") from None
    if dt.tzinfo is None:
        raise InvalidBallotError(f"{value!r} has no time zone")
    return dt


@dataclass(frozen=True)
class Ballot:
    """A ballot: questions, threshold, quorum, open/close times, and the size of the electorate."""

    id: str
    title: str
    questions: tuple[Question, ...]
    members: int  # eligible members; base for "of members" thresholds and the quorum fraction
    threshold: Threshold = field(default_factory=Threshold.simple_majority)
    quorum: Quorum = field(default_factory=Quorum)
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    closed_at: datetime | None = None  # set when closed by hand (or at closes_at by the service)

    def __post_init__(self) -> None:
        if not self.id or not isinstance(self.id, str):
            raise InvalidBallotError("a ballot needs a non-empty string id")
        if not self.questions:
            raise InvalidBallotError(f"ballot {self.id!r} has no questions")
        ids = [q.id for q in self.questions]
        if len(set(ids)) != len(ids):
            raise InvalidBallotError(f"ballot {self.id!r}: question ids must be unique")
        if not isinstance(self.members, int) or self.members < 1:
            raise InvalidBallotError(f"ballot {self.id!r}: members must be a whole number >= 1")
        for t in (self.opens_at, self.closes_at, self.closed_at):
            if t is not None and t.tzinfo is None:
                raise InvalidBallotError(f"ballot {self.id!r}: times need a time zone")
        if self.opens_at and self.closes_at and self.closes_at <= self.opens_at:
            raise InvalidBallotError(f"ballot {self.id!r}: closes_at must be after opens_at")

    def question(self, qid: str) -> Question:
        for q in self.questions:
            if q.id == qid:
                return q
        raise KeyError(qid)

    def threshold_for(self, q: Question) -> Threshold:
        return q.threshold or self.threshold

    # ---- state -----------------------------------------------------------------------------

    def is_closed(self, now: datetime) -> bool:
        if self.closed_at is not None and now >= self.closed_at:
            return True
        return self.closes_at is not None and now >= self.closes_at

    def is_open(self, now: datetime) -> bool:
        if self.opens_at is not None and now < self.opens_at:
            return False
        return not self.is_closed(now)

    def state(self, now: datetime, *, closed: bool = False, issuing: bool = False) -> str:
        """issuing, scheduled, open or closed (`closed`: the organiser closed it already;
        `issuing`: tokens are being issued and voting has not been opened yet)."""
        if closed or self.is_closed(now):
            return "closed"
        if issuing:
            return "issuing"
        return "open" if self.is_open(now) else "scheduled"

    def ensure_open(self, now: datetime) -> None:
        if self.is_closed(now):
            raise BallotClosedError(f"ballot {self.id} is closed; no more votes are accepted")
        if not self.is_open(now):
            raise BallotNotOpenError(f"ballot {self.id} opens at {self.opens_at.isoformat()}")  # type: ignore[union-attr]

    def close(self, at: datetime) -> Ballot:
        """The same ballot, closed at ``at`` (earlier of ``at`` and a scheduled close)."""
        return replace(self, closed_at=at)

    def effective_close(self) -> datetime | None:
        times = [t for t in (self.closed_at, self.closes_at) if t is not None]
        return min(times) if times else None

    # ---- votes -----------------------------------------------------------------------------

    def validate_choices(self, choices: Any) -> dict[str, Any]:
        """Check a vote (question id -> choice) against every question; return it normalised.

        Every question must be answered; send "abstain" to abstain.
        """
        if not isinstance(choices, Mapping):
            raise InvalidChoiceError("choices must be an object mapping question ids to choices")
        ids = {q.id for q in self.questions}
        unknown = [k for k in choices if k not in ids]
        if unknown:
            raise InvalidChoiceError(f"ballot {self.id} has no question {unknown[0]!r}")
        out: dict[str, Any] = {}
        for q in self.questions:
            if q.id not in choices:
                raise InvalidChoiceError(f"question {q.id}: no choice given (send 'abstain' to abstain)")
            out[q.id] = q.validate(choices[q.id])
        return out

    # ---- JSON ------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "members": self.members,
            "threshold": self.threshold.to_dict(),
            "quorum": self.quorum.to_dict(),
            "opens_at": self.opens_at.isoformat() if self.opens_at else None,
            "closes_at": self.closes_at.isoformat() if self.closes_at else None,
            "closed_at": self.closed_at.isoformat() if self.closed_at else None,
            "questions": [q.to_dict() for q in self.questions],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Ballot:
        if not isinstance(d, Mapping):
            raise InvalidBallotError("a ballot definition must be an object")
        return cls(
            id=d.get("id", ""),
            title=d.get("title", ""),
            questions=tuple(Question.from_dict(q) for q in d.get("questions", ())),
            members=d.get("members", 0),
            threshold=Threshold.from_dict(d.get("threshold") or {"fraction": "1/2", "strict": True}),
            quorum=Quorum.from_dict(d.get("quorum") or {}),
            opens_at=_dt(d.get("opens_at")),
            closes_at=_dt(d.get("closes_at")),
            closed_at=_dt(d.get("closed_at")),
        )
