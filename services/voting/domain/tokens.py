"""Anonymous voting tokens: one blind-signed token per eligible member per ballot.

A token is an RFC 9474 signature, under the ballot's own RSA key, on a message the member made
and the issuer never saw::

    message = [32-byte random prefix, RSABSSA randomized preparation]
              || "borgerting/vote-token/v1" 0x00 ballot_id 0x00 nonce(32 random bytes)

The ballot id inside the message binds the token to its ballot (on top of the per-ballot key);
the nonce makes it unique. ``token_hash`` = hex SHA-256 of the whole message: the name under
which the ballot box records the token as used and the voter finds their vote on the board.

Client side (member's phone/browser, or a Python API client)::

    req = request_token(ballot_public_key, ballot_id)          # keep req secret, locally
    # POST req.blinded_msg (hex) to the issuer, get blind_sig
    token = finish_token(ballot_public_key, req, blind_sig)    # VoteToken, verified
    # later, anonymously: POST {choices, token: token.to_dict()} to the ballot box

Server side: ``TokenIssuer.issue`` (after ``check_eligibility``) and ``verify_token``.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from . import blind_rsa
from .blind_rsa import DEFAULT_VARIANT, PublicKey, SecretKey, Variant
from .errors import (
    InvalidTokenError,
    NotCheckedInError,
    NotEligibleError,
    TokenAlreadyIssuedError,
)

TOKEN_DOMAIN = b"borgerting/vote-token/v1\x00"
NONCE_LEN = 32


def _token_body(ballot_id: str, nonce: bytes) -> bytes:
    return TOKEN_DOMAIN + ballot_id.encode("utf-8") + b"\x00" + nonce


@dataclass(frozen=True)
class VoteToken:
    """A finished token: the prepared message and its RSA-PSS signature."""

    message: bytes
    signature: bytes

    @property
    def token_hash(self) -> str:
        return hashlib.sha256(self.message).hexdigest()

    def to_dict(self) -> dict[str, str]:
        return {"message": self.message.hex(), "signature": self.signature.hex()}

    @classmethod
    def from_dict(cls, d: Any) -> VoteToken:
        try:
            return cls(bytes.fromhex(d["message"]), bytes.fromhex(d["signature"]))
        except (TypeError, KeyError, ValueError, AttributeError):
            raise InvalidTokenError("token must be {message: hex, signature: hex}") from None


@dataclass(frozen=True)
class TokenRequest:
    """The client's private state between blinding and finalizing. Never send ``inv`` anywhere."""

    ballot_id: str
    prepared_msg: bytes
    blinded_msg: bytes
    inv: bytes
    variant: Variant = DEFAULT_VARIANT


def request_token(
    pk: PublicKey, ballot_id: str, *, variant: Variant = DEFAULT_VARIANT, rng=secrets.token_bytes
) -> TokenRequest:
    """Client: make a fresh token message for ``ballot_id`` and blind it for the issuer."""
    prepared = blind_rsa.prepare(_token_body(ballot_id, rng(NONCE_LEN)), variant, rng=rng)
    blinded, inv = blind_rsa.blind(pk, prepared, variant, rng=rng)
    return TokenRequest(ballot_id, prepared, blinded, inv, variant)


def finish_token(pk: PublicKey, req: TokenRequest, blind_sig: bytes) -> VoteToken:
    """Client: unblind the issuer's answer; raises ``InvalidTokenError`` if it does not verify."""
    try:
        sig = blind_rsa.finalize(pk, req.prepared_msg, blind_sig, req.inv, req.variant)
    except blind_rsa.BlindRSAError as exc:
        raise InvalidTokenError(f"the issuer's blind signature does not verify: {exc}") from None
    return VoteToken(req.prepared_msg, sig)


def token_ballot_id(token: VoteToken, variant: Variant = DEFAULT_VARIANT) -> str | None:
    """The ballot id a token message was made for, or None if the message is not a token."""
    body = token.message[blind_rsa.PREFIX_LEN:] if variant.randomized else token.message
    if not body.startswith(TOKEN_DOMAIN) or len(body) < len(TOKEN_DOMAIN) + 1 + NONCE_LEN:
        return None
    rest = body[len(TOKEN_DOMAIN):-NONCE_LEN]
    if not rest.endswith(b"\x00"):
        return None
    try:
        return rest[:-1].decode("utf-8")
    except UnicodeDecodeError:
        return None


def verify_token(pk: PublicKey, token: VoteToken, ballot_id: str, variant: Variant = DEFAULT_VARIANT) -> str:
    """Ballot box / verifier: check a token for ``ballot_id``; return its ``token_hash``.

    Raises ``InvalidTokenError`` when the token was made for another ballot or its signature
    does not verify under the ballot's key (a forged token).
    """
    made_for = token_ballot_id(token, variant)
    if made_for != ballot_id:
        what = "is not a vote token" if made_for is None else f"was made for ballot {made_for!r}"
        raise InvalidTokenError(f"token {what}, not for ballot {ballot_id!r}")
    try:
        blind_rsa.verify(pk, token.message, token.signature, variant)
    except blind_rsa.BlindRSAError:
        raise InvalidTokenError("token signature invalid (forged token)") from None
    return token.token_hash


def check_eligibility(member_id: str, ballot_id: str, *, on_roster: bool, checked_in: bool,
                      already_issued: bool) -> None:
    """Issuer rule: on the roster, checked in, and no token for this ballot yet."""
    if not on_roster:
        raise NotEligibleError(f"member {member_id} is not on the roster for ballot {ballot_id}")
    if not checked_in:
        raise NotCheckedInError(f"member {member_id} must be checked in before getting a token")
    if already_issued:
        raise TokenAlreadyIssuedError(f"member {member_id} already received a token for ballot {ballot_id}")


class TokenIssuer:
    """Server: blind-signs one token request per eligible member. Sees only blinded messages.

    The service records (member_id, ballot_id) atomically with issuing (a unique constraint) and
    passes ``already_issued`` from that record; the record never holds the blinded message.
    """

    def __init__(self, ballot_id: str, secret_key: SecretKey, variant: Variant = DEFAULT_VARIANT):
        self.ballot_id = ballot_id
        self.secret_key = secret_key
        self.variant = variant

    @property
    def public_key(self) -> PublicKey:
        return self.secret_key.public_key

    def issue(self, blinded_msg: bytes, *, member_id: str, on_roster: bool, checked_in: bool,
              already_issued: bool) -> bytes:
        check_eligibility(member_id, self.ballot_id, on_roster=on_roster, checked_in=checked_in,
                          already_issued=already_issued)
        try:
            return blind_rsa.blind_sign(self.secret_key, blinded_msg)
        except blind_rsa.BlindRSAError as exc:
            raise InvalidTokenError(f"blinded message refused: {exc}") from None
