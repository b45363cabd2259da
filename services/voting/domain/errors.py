"""Domain errors of the voting service.

Each carries a stable ``code`` and the HTTP status the API should answer with, so the service
can map any of them to a clear 4xx without a table of its own. Messages are for people.
"""

from __future__ import annotations


class VotingError(Exception):
    code = "voting_error"
    http_status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidBallotError(VotingError):
    """A ballot definition is not well formed (organiser input)."""

    code = "invalid_ballot"
    http_status = 422


class InvalidChoiceError(VotingError):
    """A vote's choices do not fit the ballot's questions."""

    code = "invalid_choice"
    http_status = 422


class BallotNotOpenError(VotingError):
    code = "ballot_not_open"
    http_status = 409


class BallotClosedError(VotingError):
    code = "ballot_closed"
    http_status = 409


class ResultsHiddenError(VotingError):
    """Results are asked for while the ballot is still open: nobody, organisers included, sees them."""

    code = "results_hidden"
    http_status = 403


class InvalidTokenError(VotingError):
    """The token is malformed, signed with another key, for another ballot, or forged."""

    code = "invalid_token"
    http_status = 403


class TokenAlreadyUsedError(VotingError):
    code = "token_already_used"
    http_status = 409


class NotEligibleError(VotingError):
    """The member is not on the roster for this ballot."""

    code = "not_eligible"
    http_status = 403


class NotCheckedInError(VotingError):
    code = "not_checked_in"
    http_status = 403


class TokenAlreadyIssuedError(VotingError):
    code = "token_already_issued"
    http_status = 409


class OfficialEntryError(VotingError):
    """An officials' paper/postal entry broke a rule (same official confirming, not pending, ...)."""

    code = "official_entry_refused"
    http_status = 409


class SameOfficialError(OfficialEntryError):
    code = "same_official"
    http_status = 403


class DuplicateSheetError(OfficialEntryError):
    code = "duplicate_sheet"
    http_status = 409


class BoardError(VotingError):
    """The bulletin board refused an operation (unknown receipt, broken chain on load, ...)."""

    code = "board_error"
    http_status = 404
