"""Stipends and expenses without I/O: a member's ledger from their attendance at held sessions and
their approved claims, the four-eyes rule for claims, and the checks on rates and claims. Every
amount is an integer number of øre; nothing here ever holds money in a float."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from shared.problems import Conflict, InvalidInput

KINDS = ("travel", "childcare")  # what a member may claim, with a receipt
MAX_ORE = 10_000_000  # 100,000 kr.: above any rate or claim here; a bound against typing errors
RECEIPT_TYPES = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}
MAX_RECEIPT_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class Rates:
    """What an assembly pays: per session attended, and at most per session for each kind of claim
    (0: that kind cannot be claimed)."""
    session_ore: int = 0
    travel_cap_ore: int = 0
    childcare_cap_ore: int = 0

    def cap(self, kind: str) -> int:
        return {"travel": self.travel_cap_ore, "childcare": self.childcare_cap_ore}[kind]


def check_rates(rates: Rates) -> list[dict]:
    return [{"field": name, "problem": f"{name} must be a whole number of øre from 0 to {MAX_ORE}"}
            for name in ("session_ore", "travel_cap_ore", "childcare_cap_ore")
            if not isinstance(getattr(rates, name), int) or not 0 <= getattr(rates, name) <= MAX_ORE]


def check_claim(rates: Rates, *, kind: str, amount_ore: int, present: bool | None, earlier: int,
                receipt_type: str | None, receipt_size: int) -> None:
    """A claim a member may file: a kind the assembly pays, for a session they attended, within the
    cap, one per kind and session (`earlier`: the member's claims of this kind for the session that
    were not rejected), with a receipt (PDF, JPEG or PNG, at most 5 MB)."""
    if kind not in KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(KINDS)}", code="claim_kind")
    if rates.cap(kind) == 0:
        raise InvalidInput(f"this assembly does not pay {kind} expenses", code="claim_not_paid")
    if not isinstance(amount_ore, int) or amount_ore <= 0:
        raise InvalidInput("the amount must be more than 0 øre", code="claim_amount")
    if amount_ore > rates.cap(kind):
        raise InvalidInput(f"the amount is above what the assembly pays for {kind} per session "
                           f"({rates.cap(kind)} øre)", code="claim_above_cap")
    if not present:
        raise Conflict("you can only claim expenses for a session you were checked in at", code="claim_not_present")
    if earlier:
        raise Conflict(f"you have already claimed {kind} for this session", code="claim_duplicate")
    if receipt_type not in RECEIPT_TYPES:
        raise InvalidInput("the receipt must be a PDF, JPEG or PNG file", code="claim_receipt")
    if not 0 < receipt_size <= MAX_RECEIPT_BYTES:
        raise InvalidInput("the receipt must be a file of at most 5 MB", code="claim_receipt")


# ---- four eyes: a claim is approved by two different members of staff ---------------------------


def approve(status: str, approvals: Sequence[str], staff: str) -> tuple[str, tuple[str, ...]]:
    """(status, approvals) after `staff` approves: the first approval leaves the claim pending, the
    second by someone else approves it. The same person cannot approve twice."""
    if status != "pending":
        raise Conflict(f"this claim is already {status}", code="claim_decided")
    if staff in approvals:
        raise Conflict("you have already approved this claim: a second, different person must approve it",
                       code="same_approver")
    now = (*approvals, staff)
    return ("approved" if len(now) >= 2 else "pending"), now


def reject(status: str) -> str:
    if status != "pending":
        raise Conflict(f"this claim is already {status}", code="claim_decided")
    return "rejected"


# ---- the ledger ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    id: str
    member_id: str
    session_id: str
    kind: str
    amount_ore: int
    status: str  # pending | approved | rejected


@dataclass(frozen=True)
class Line:
    kind: str  # session | travel | childcare
    ref: str  # the session's id (a stipend) or the claim's id
    session_id: str
    amount_ore: int  # what it pays: 0 for an absence, a pending or a rejected claim
    status: str  # present | absent | pending | approved | rejected
    paid: bool = False


@dataclass
class Ledger:
    member_id: str
    lines: list[Line] = field(default_factory=list)

    @property
    def earned_ore(self) -> int:
        return sum(x.amount_ore for x in self.lines)

    @property
    def paid_ore(self) -> int:
        return sum(x.amount_ore for x in self.lines if x.paid)

    @property
    def due_ore(self) -> int:
        return self.earned_ore - self.paid_ore

    @property
    def sessions_present(self) -> int:
        return sum(1 for x in self.lines if x.kind == "session" and x.status == "present")


def ledgers(held: Sequence[tuple[str, int]], marks: Mapping[tuple[str, str], bool], claims: Iterable[Claim],
            paid: Mapping[tuple[str, str], int], members: Iterable[str] = ()) -> dict[str, Ledger]:
    """Each member's ledger. `held`: the held sessions in order, each with its rate in øre (fixed
    when it was held); `marks`: (session, member) -> present, the last attendance recorded (no
    mark: absent); `paid`: (kind, ref) of a member's line -> øre paid in an export (the paid amount
    is what the line shows, should the rate have changed since). `members`: also list these (the
    panel), even with no line yet. A session pays only those present when it was held; a claim pays
    once approved."""
    out: dict[str, Ledger] = {m: Ledger(m) for m in members}
    for _, member in marks:
        out.setdefault(member, Ledger(member))
    claims = list(claims)
    for c in claims:
        out.setdefault(c.member_id, Ledger(c.member_id))
    for member, book in out.items():
        for session_id, rate in held:
            present = bool(marks.get((session_id, member), False))
            key = (f"session:{member}", session_id)
            amount = paid.get(key, rate if present else 0)
            book.lines.append(Line("session", session_id, session_id, amount, "present" if present else "absent",
                                   key in paid))
    order = {s: i for i, (s, _) in enumerate(held)}
    for c in sorted(claims, key=lambda c: (order.get(c.session_id, len(order)), c.kind, c.id)):
        key = (f"{c.kind}:{c.member_id}", c.id)
        amount = paid.get(key, c.amount_ore if c.status == "approved" else 0)
        out[c.member_id].lines.append(Line(c.kind, c.id, c.session_id, amount, c.status, key in paid))
    return out


def payable(book: Ledger) -> list[Line]:
    """The lines of a ledger that the next payment export pays: earned, not yet paid."""
    return [x for x in book.lines if not x.paid and x.amount_ore > 0]


def paid_key(line: Line, member_id: str) -> tuple[str, str]:
    """How a paid line is remembered (see `ledgers`' `paid`)."""
    return f"{line.kind}:{member_id}", line.ref


# ---- the payment export (docs/stipends.md: the layout) ----------------------------------------

PAYMENT_COLUMNS = ["payment_id", "line", "person_ref", "name", "amount_ore", "amount_dkk", "text", "reference"]


def amount_dkk(ore: int) -> str:
    """øre as the payment file writes kroner: a decimal comma, no thousands separator (1234,50)."""
    sign, ore = ("-", -ore) if ore < 0 else ("", ore)
    return f"{sign}{ore // 100},{ore % 100:02d}"


def payment_text(lines: Sequence[Line]) -> str:
    """The payee's advice text (at most 35 characters, as NemKonto transfers carry)."""
    sessions = sum(1 for x in lines if x.kind == "session")
    claims = len(lines) - sessions
    parts = [f"{sessions} mødedag{'e' if sessions != 1 else ''}"] if sessions else []
    if claims:
        parts.append(f"{claims} udlæg")
    return ("Borgerting " + ", ".join(parts))[:35]


def receipt_type(data: bytes) -> str | None:
    """The receipt's media type from its first bytes (not from what the browser claims)."""
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    return None


def incomplete(held: Iterable[tuple[str, int | None]], present: Mapping[str, int]) -> list[str]:
    """Held sessions whose attendance has not all arrived yet: sessions counted `n` present at the
    hold, fewer present marks are here (the events travel on separate topics)."""
    return [s for s, n in held if n is not None and present.get(s, 0) < n]
