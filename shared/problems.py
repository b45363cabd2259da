"""Errors with a stable code and no HTTP status, for domain code, handlers, views, event handlers
and jobs alike (pure: no web, database or broker library, so domain/ may import it).

    raise not_found("ballot")                                 # "ballot not found", code not_found
    raise Conflict("the pool is already frozen")              # code conflict
    raise Conflict("...", code="sheets_exhausted")            # a more precise code, same kind
    raise InvalidInput("...", details=[{"field": "strata", "problem": "..."}])

Every error belongs to one *kind* (not_found, conflict, invalid_input, forbidden, bad_request); a
service refines the `code` (e.g. voting's `token_already_used`, a conflict). shared/errors.py maps
the kind to an HTTP status, once, for the API processes; a consumer or a job that meets one logs
it (its code says what happened) and never sees a status.
"""

from __future__ import annotations

from typing import Any

KINDS = ("bad_request", "invalid_input", "forbidden", "not_found", "conflict")


class DomainError(Exception):
    """A refusal that says what to fix. `message` is for people, `code` for programs (stable)."""

    kind = "bad_request"
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details or []


class InvalidInput(DomainError):
    """The input is well formed but does not fit the rules (e.g. a mandate that cannot be met)."""

    kind = code = "invalid_input"


class Forbidden(DomainError):
    """Known caller, refused by a rule of the domain (not checked in, results still hidden, ...)."""

    kind = code = "forbidden"


class NotFound(DomainError):
    """The object does not exist (or not for this caller); `not_found("ballot")` says so briefly."""

    kind = code = "not_found"


class Conflict(DomainError):
    """The request clashes with the current state (already closed, already frozen, a duplicate)."""

    kind = code = "conflict"


def not_found(what: str, *, code: str | None = None) -> NotFound:
    return NotFound(f"{what} not found", code=code)


def conflict(message: str, code: str | None = None) -> Conflict:
    return Conflict(message, code=code)


def invalid(message: str, details: list[dict[str, Any]] | None = None) -> InvalidInput:
    return InvalidInput(message, details=details)
