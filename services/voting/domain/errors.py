"""Domain errors of the voting service.

Each carries a stable ``code`` and a kind (shared/problems.py); shared/errors.py turns the kind
into an HTTP status. Messages are for people.
"""

from __future__ import annotations

from shared.problems import DomainError


class VotingError(DomainError):
    code = "voting_error"

    def __init__(self, message: str):
        super().__init__(message)


class InvalidBallotError(VotingError):
    """A ballot definition is not well formed (organiser input)."""

    code = "invalid_ballot"
    kind = "invalid_input"


class InvalidChoiceError(VotingError):
    """A vote's choices do not fit the ballot's questions."""

    code = "invalid_choice"
    kind = "invalid_input"


class BallotNotOpenError(VotingError):
    code = "ballot_not_open"
    kind = "conflict"


class IssuanceClosedError(VotingError):
    """Tokens and ballot sheets are issued only until voting opens (then votes are taken)."""

    code = "issuance_closed"
    kind = "conflict"


class BallotClosedError(VotingError):
    code = "ballot_closed"
    kind = "conflict"


class ResultsHiddenError(VotingError):
    """Results are asked for while the ballot is still open: nobody, organisers included, sees them."""

    code = "results_hidden"
    kind = "forbidden"


class InvalidTokenError(VotingError):
    """The token is malformed, signed with another key, for another ballot, or forged."""

    code = "invalid_token"
    kind = "forbidden"


class TokenAlreadyUsedError(VotingError):
    code = "token_already_used"
    kind = "conflict"


class NotEligibleError(VotingError):
    """The member is not on the roster for this ballot."""

    code = "not_eligible"
    kind = "forbidden"


class NotCheckedInError(VotingError):
    code = "not_checked_in"
    kind = "forbidden"


class TokenAlreadyIssuedError(VotingError):
    code = "token_already_issued"
    kind = "conflict"


class OfficialEntryError(VotingError):
    """An officials' paper/postal entry broke a rule (same official confirming, not pending, ...)."""

    code = "official_entry_refused"
    kind = "conflict"


class SameOfficialError(OfficialEntryError):
    code = "same_official"
    kind = "forbidden"


class DuplicateSheetError(OfficialEntryError):
    code = "duplicate_sheet"
    kind = "conflict"


class BoardError(VotingError):
    """The bulletin board refused an operation (unknown receipt, broken chain on load, ...)."""

    code = "board_error"
    kind = "not_found"
