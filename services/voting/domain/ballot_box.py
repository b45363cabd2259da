"""The ballot box: accepts a vote with a valid, unused token, never knowing who cast it.

``validate_vote`` is the pure rule the service calls before its transaction (which must also
hold a unique constraint on ``token_hash``); ``BallotBox`` is the same rule on an in-memory
``Board``, used by tests, the demo and the example export.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .ballots import Ballot
from .blind_rsa import DEFAULT_VARIANT, PublicKey, Variant
from .board import Board, Receipt
from .errors import DuplicateSheetError, TokenAlreadyUsedError, VotingError
from .officials import ConfirmedEntry
from .tokens import VoteToken, verify_token


@dataclass(frozen=True)
class AcceptedVote:
    ballot_id: str
    choices: dict[str, Any]
    token: VoteToken
    token_hash: str


def validate_vote(ballot: Ballot, token_key: PublicKey, choices: Any, token: VoteToken | Mapping[str, Any],
                  *, now: datetime, token_used: bool = False,
                  variant: Variant = DEFAULT_VARIANT) -> AcceptedVote:
    """All checks on one online vote, in the order a voter would want them explained.

    Raises BallotNotOpenError/BallotClosedError (409), InvalidTokenError (403),
    TokenAlreadyUsedError (409) or InvalidChoiceError (422).
    """
    ballot.ensure_open(now)
    if not isinstance(token, VoteToken):
        token = VoteToken.from_dict(token)
    token_hash = verify_token(token_key, token, ballot.id, variant)
    if token_used:
        raise TokenAlreadyUsedError("this token has already been used to vote")
    normalised = ballot.validate_choices(choices)
    return AcceptedVote(ballot.id, normalised, token, token_hash)


class BallotBox:
    """Ballots, their token keys, and one board (in memory)."""

    def __init__(self, board: Board):
        self.board = board
        self._ballots: dict[str, tuple[Ballot, PublicKey, Variant]] = {}

    def add_ballot(self, ballot: Ballot, token_key: PublicKey, variant: Variant = DEFAULT_VARIANT) -> None:
        self._ballots[ballot.id] = (ballot, token_key, variant)

    def replace_ballot(self, ballot: Ballot) -> None:
        """E.g. after ``ballot.close(at)``."""
        _, key, variant = self._ballots[ballot.id]
        self._ballots[ballot.id] = (ballot, key, variant)

    def ballot(self, ballot_id: str) -> Ballot:
        try:
            return self._ballots[ballot_id][0]
        except KeyError:
            raise VotingError(f"unknown ballot {ballot_id!r}") from None

    def cast(self, ballot_id: str, choices: Any, token: VoteToken | Mapping[str, Any], *, now: datetime) -> Receipt:
        ballot = self.ballot(ballot_id)
        _, key, variant = self._ballots[ballot_id]
        tok = token if isinstance(token, VoteToken) else VoteToken.from_dict(token)
        accepted = validate_vote(ballot, key, choices, tok, now=now,
                                 token_used=self.board.token_used(tok.token_hash), variant=variant)
        return self.board.append_vote(ballot_id, accepted.choices, accepted.token)

    def enter_official(self, confirmed: ConfirmedEntry, *, now: datetime) -> Receipt:
        """Put a double-confirmed paper/postal vote on the board."""
        ballot = self.ballot(confirmed.ballot_id)
        ballot.ensure_open(now)
        if self.board.sheet_used(confirmed.ballot_id, confirmed.sheet_id):
            raise DuplicateSheetError(f"sheet {confirmed.sheet_id} is already on the board")
        choices = ballot.validate_choices(confirmed.choices)
        return self.board.append_official(confirmed.ballot_id, choices, kind=confirmed.kind,
                                          sheet_id=confirmed.sheet_id, entered_by=confirmed.entered_by,
                                          confirmed_by=confirmed.confirmed_by)
