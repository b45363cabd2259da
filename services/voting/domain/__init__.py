"""Voting domain: pure code (no I/O, no clock) for secret, verifiable ballots.

Modules: ``ballots`` (questions, thresholds, quorum, choice validation), ``tally`` (the count),
``blind_rsa`` (RFC 9474), ``tokens`` (one anonymous token per member and ballot),
``ballot_box`` (accepting votes), ``board`` (hash-chained bulletin board, receipts, checkpoints,
export), ``officials`` (double-confirmed paper/postal entries), ``verifier`` (independent check).
See docs/voting.md.
"""

from .ballot_box import AcceptedVote, BallotBox, validate_vote
from .ballots import ABSTAIN, Ballot, Base, Question, QuestionType, Quorum, Threshold
from .blind_rsa import DEFAULT_VARIANT, PublicKey, SecretKey
from .board import BallotPublication, Board, BoardKey, Receipt, canonical_json, make_entry
from .errors import VotingError
from .officials import ConfirmedEntry, PendingEntry, confirm, enter, reject
from .tally import BallotResult, count, tally
from .tokens import TokenIssuer, TokenRequest, VoteToken, finish_token, request_token, verify_token
from .verifier import Report, verify_export

__all__ = [
    "ABSTAIN", "AcceptedVote", "Ballot", "BallotBox", "BallotPublication", "BallotResult", "Base",
    "Board", "BoardKey", "ConfirmedEntry", "DEFAULT_VARIANT", "PendingEntry", "PublicKey", "Question",
    "QuestionType", "Quorum", "Receipt", "Report", "SecretKey", "Threshold", "TokenIssuer", "TokenRequest",
    "VoteToken", "VotingError", "canonical_json", "confirm", "count", "enter", "finish_token", "make_entry",
    "reject", "request_token", "tally", "validate_vote", "verify_export", "verify_token",
]
