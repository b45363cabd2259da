"""Single-use invitation codes: 100 random bits, printed as 5 groups of 4 Crockford base-32
characters (no I, L, O, U), stored only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from shared.problems import Conflict, DomainError, NotFound

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 20  # 20 * 5 bits = 100 bits
_CONFUSABLE = str.maketrans({"I": "1", "L": "1", "O": "0", "U": "V"})


class CodeRefused(DomainError):
    """An unknown or used code: counts towards the per-IP failure limit."""


class UnknownCode(CodeRefused, NotFound):
    pass


class UsedCode(CodeRefused, Conflict):
    code = "code_used"


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, LENGTH, 4))


def normalise(code: str) -> str | None:
    """Upper-case, drop spaces and dashes, map look-alikes; None if it cannot be a code."""
    cleaned = "".join(ch for ch in code.upper() if ch not in " -\t").translate(_CONFUSABLE)
    if len(cleaned) != LENGTH or any(ch not in ALPHABET for ch in cleaned):
        return None
    return cleaned


def code_hash(code: str) -> str:
    norm = normalise(code)
    if norm is None:
        raise ValueError("not an invitation code")
    return hashlib.sha256(norm.encode()).hexdigest()


def household_key(secret: str, assembly_id: object, address: str) -> str:
    """An opaque key shared by the volunteers of one address in one assembly (so that the draw can
    keep households apart) that reveals neither the address nor, across assemblies, who lives
    together: an HMAC with the service's secret over the assembly and the normalised address."""
    text = f"{assembly_id}:{' '.join(address.lower().split())}"
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()[:32]
