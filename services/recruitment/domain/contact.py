"""Contact details for the selected (pure): an e-mail address and a phone number, each optional and
checked when given, sealed in the identity vault as two fields. Before they were structured, a
registration's contact was one free text ("ase@example.org · 12 34 56 78", or whatever the API was
sent): `from_text` reads such a text back into the two fields, and keeps what is neither as a note,
so that no record sealed the old way (in the table, or in a backup) becomes unreadable."""

from __future__ import annotations

import re

MAX_EMAIL = 200
MAX_PHONE = 30
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
PHONE = re.compile(r"^\+?[0-9 ()-]{6,20}$")
# how the old free text separated an e-mail from a phone: " · " (the registration form), a comma,
# a semicolon, a slash or a bar (the API)
_PARTS = re.compile(r"\s*(?:·|,|;|/|\|)\s*")

PROBLEMS = {
    "email": f"an e-mail address like navn@eksempel.dk (at most {MAX_EMAIL} characters), or leave it out",
    "phone": "a phone number of digits, spaces, dashes and brackets, 6 to 20 of them, optionally starting with +, "
             "for example +45 12 34 56 78, or leave it out",
}


def contact_problems(email: str | None, phone: str | None) -> list[tuple[str, str]]:
    """[(field, "malformed")] for an e-mail or phone given but not well-formed."""
    problems = []
    if email and (len(email) > MAX_EMAIL or not EMAIL.match(email)):
        problems.append(("email", "malformed"))
    if phone and (len(phone) > MAX_PHONE or not PHONE.match(phone)):
        problems.append(("phone", "malformed"))
    return problems


def contact_details(problems: list[tuple[str, str]]) -> list[dict[str, str]]:
    """contact_problems' problems as the API's error details, in English."""
    return [{"field": field, "problem": PROBLEMS[field]} for field, _kind in problems]


def clean(text: str | None) -> str | None:
    return (text or "").strip() or None


def from_text(text: str | None) -> tuple[str | None, str | None, str | None]:
    """(email, phone, note) read from a free-text contact: the first part that is an e-mail
    address, the first that is a phone number, and the rest as given (None where nothing)."""
    email = phone = None
    rest = []
    for part in _PARTS.split((text or "").strip()):
        if not part:
            continue
        if email is None and EMAIL.match(part) and len(part) <= MAX_EMAIL:
            email = part
        elif phone is None and PHONE.match(part):
            phone = part
        else:
            rest.append(part)
    return email, phone, " · ".join(rest) or None


def as_text(*parts: str | None) -> str | None:
    """The contact as one line on a screen or in a mail merge: e-mail · phone (· note)."""
    return " · ".join(p for p in parts if p) or None
