"""Paper and postal votes entered by officials: one enters, a different one confirms.

A pending entry counts for nothing until a second official confirms it. The confirming official
keys the sheet in again (double entry); if the two readings differ, the confirmation is refused
and both must look at the sheet again. Every step returns an ``AuditRecord`` for the service's
hash-chained audit log: who did what, when, to which entry; choices appear there only as a
digest (the sheet itself is the record of the vote).

Sheets carry a serial (``sheet_id``) printed on every ballot paper, handed out in random order,
so it identifies the sheet, not the member; the board refuses a sheet entered twice.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from .ballots import Ballot
from .board import OFFICIAL_KINDS, canonical_json, sha256_hex
from .errors import OfficialEntryError, SameOfficialError


class EntryStatus(str, enum.Enum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


@dataclass(frozen=True)
class AuditRecord:
    action: str  # official_entry.entered | .confirmed | .rejected | .confirmation_refused
    entry_id: str
    ballot_id: str
    official_id: str
    at: datetime
    details: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, "entry_id": self.entry_id, "ballot_id": self.ballot_id,
                "official_id": self.official_id, "at": self.at.isoformat(), "details": dict(self.details)}


@dataclass(frozen=True)
class PendingEntry:
    id: str
    ballot_id: str
    kind: str  # "paper" | "postal"
    sheet_id: str
    choices: Mapping[str, Any]
    entered_by: str
    entered_at: datetime
    status: EntryStatus = EntryStatus.PENDING
    decided_by: str | None = None
    decided_at: datetime | None = None
    reason: str | None = None

    @property
    def choices_digest(self) -> str:
        return sha256_hex(canonical_json(dict(self.choices)))


@dataclass(frozen=True)
class ConfirmedEntry:
    """A double-confirmed vote, ready for ``BallotBox.enter_official`` / ``Board.append_official``."""

    entry_id: str
    ballot_id: str
    kind: str
    sheet_id: str
    choices: Mapping[str, Any]
    entered_by: str
    confirmed_by: str


def enter(ballot: Ballot, *, entry_id: str, kind: str, sheet_id: str, choices: Any, official_id: str,
          at: datetime) -> tuple[PendingEntry, AuditRecord]:
    """First official keys in a sheet: validated, pending, not counted."""
    if kind not in OFFICIAL_KINDS:
        raise OfficialEntryError(f"kind must be {' or '.join(OFFICIAL_KINDS)}, not {kind!r}")
    if not sheet_id:
        raise OfficialEntryError("the sheet's serial number (sheet_id) is required")
    if not official_id:
        raise OfficialEntryError("the entering official must be named")
    normalised = ballot.validate_choices(choices)
    p = PendingEntry(entry_id, ballot.id, kind, sheet_id, normalised, official_id, at)
    rec = AuditRecord("official_entry.entered", entry_id, ballot.id, official_id, at,
                      {"kind": kind, "sheet_id": sheet_id, "choices_digest": p.choices_digest})
    return p, rec


def _require_pending(p: PendingEntry) -> None:
    if p.status is not EntryStatus.PENDING:
        raise OfficialEntryError(f"entry {p.id} is already {p.status.value}")


def refused_record(p: PendingEntry, official_id: str, at: datetime, reason: str) -> AuditRecord:
    return AuditRecord("official_entry.confirmation_refused", p.id, p.ballot_id, official_id, at,
                       {"reason": reason, "sheet_id": p.sheet_id})


def confirm(ballot: Ballot, p: PendingEntry, *, official_id: str, at: datetime,
            choices: Any | None = None) -> tuple[PendingEntry, ConfirmedEntry, AuditRecord]:
    """A second, different official confirms; with ``choices`` their own reading must match.

    Raises ``SameOfficialError`` (the official who entered cannot confirm) or
    ``OfficialEntryError`` (not pending, or the two readings differ). The caller should log
    ``refused_record(...)`` for a refusal.
    """
    _require_pending(p)
    if not official_id:
        raise OfficialEntryError("the confirming official must be named")
    if official_id == p.entered_by:
        raise SameOfficialError(
            f"entry {p.id} was entered by {official_id}; a different official must confirm it"
        )
    if choices is not None and ballot.validate_choices(choices) != dict(p.choices):
        raise OfficialEntryError(
            f"entry {p.id}: the second reading of sheet {p.sheet_id} differs from the first; check the sheet"
        )
    done = replace(p, status=EntryStatus.CONFIRMED, decided_by=official_id, decided_at=at)
    conf = ConfirmedEntry(p.id, p.ballot_id, p.kind, p.sheet_id, dict(p.choices), p.entered_by, official_id)
    rec = AuditRecord("official_entry.confirmed", p.id, p.ballot_id, official_id, at,
                      {"kind": p.kind, "sheet_id": p.sheet_id, "entered_by": p.entered_by,
                       "choices_digest": p.choices_digest})
    return done, conf, rec


def reject(p: PendingEntry, *, official_id: str, at: datetime, reason: str) -> tuple[PendingEntry, AuditRecord]:
    """Any official (the second, typically) rejects a wrong entry; it is never counted."""
    _require_pending(p)
    if not reason:
        raise OfficialEntryError("a rejection needs a reason")
    done = replace(p, status=EntryStatus.REJECTED, decided_by=official_id, decided_at=at, reason=reason)
    rec = AuditRecord("official_entry.rejected", p.id, p.ballot_id, official_id, at,
                      {"reason": reason, "sheet_id": p.sheet_id})
    return done, rec
