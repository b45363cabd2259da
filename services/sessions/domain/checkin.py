"""Check-in rules: a member's personal check-in code, reading a code typed or scanned at the door,
when a member may check themselves in online, and the reasons staff give for correcting a mark.

The code is derived (HMAC of the assembly and the member's pseudonymous id under the service's
secret), never stored: the portal shows it, the door finds its member among the roster by
computing the roster's codes again (at most a few hundred HMACs). It says nothing about the person;
guessing one is hopeless (50 bits) and only ever marks someone present at a session staff watch.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

# Crockford's base32: no I, L, O or U, so a code read aloud or typed from a phone is unambiguous.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 10  # 50 bits, shown as two groups of five
_LOOK_ALIKE = str.maketrans({"O": "0", "I": "1", "L": "1"})

ONLINE_MODES = ("digital", "hybrid")
# A member may check in online from this long before the start until the session's planned end
# (or, earlier, once staff open the online check-in), and never after staff close the session.
OPENS_BEFORE = timedelta(minutes=30)

HOW = ("code", "online", "sheet", "correction")
REASONS = ("mistake", "was_there", "left", "other")
NOTE_MAX = 200


def checkin_code(key: bytes, assembly_id: uuid.UUID, member_id: uuid.UUID) -> str:
    """The member's personal check-in code for the assembly, as shown: `XXXXX-XXXXX`."""
    digest = hmac.new(key, f"borgerting-checkin|{assembly_id}|{member_id}".encode(), hashlib.sha256).digest()
    n = int.from_bytes(digest[:8], "big") >> (64 - 5 * LENGTH)
    chars = "".join(ALPHABET[(n >> (5 * i)) & 31] for i in reversed(range(LENGTH)))
    return f"{chars[:5]}-{chars[5:]}"


def read_code(raw: str | None) -> str | None:
    """A code as typed or scanned (with or without the hyphen, spaces, lower case, look-alike
    letters, or the whole address from the QR code with the code in its fragment), normalised to
    the shown form; None when it cannot be a code."""
    text = (raw or "").strip()
    if "#" in text:
        text = text.rsplit("#", 1)[1]
    text = "".join(c for c in text.upper() if c not in " -\t").translate(_LOOK_ALIKE)
    if len(text) != LENGTH or any(c not in ALPHABET for c in text):
        return None
    return f"{text[:5]}-{text[5:]}"


def member_with_code(key: bytes, assembly_id: uuid.UUID, members: Iterable[uuid.UUID], code: str) -> uuid.UUID | None:
    """The member among `members` whose code `code` (already read with read_code) is."""
    found = None
    for member_id in members:
        if hmac.compare_digest(checkin_code(key, assembly_id, member_id), code):
            found = member_id
    return found


def online_refusal(*, mode: str, starts_at: datetime, duration_hours: float, now: datetime, opened: bool,
                   held: bool) -> str | None:
    """Why a member may not check themselves in online now (a stable code), or None if they may."""
    if held:
        return "session_held"
    if mode not in ONLINE_MODES:
        return "not_online"
    if opened:
        return None
    if now < starts_at - OPENS_BEFORE:
        return "not_open_yet"
    if now > starts_at + timedelta(hours=duration_hours):
        return "over"
    return None


def correction_problems(reason: str | None, note: str | None) -> list[tuple[str, str]]:
    """What is wrong with a correction's reason and note: (field, kind) pairs."""
    problems = []
    if reason not in REASONS:
        problems.append(("reason", "reason"))
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        problems.append(("note", "note_too_long"))
    elif reason == "other" and not note:
        problems.append(("note", "note_missing"))
    return problems
