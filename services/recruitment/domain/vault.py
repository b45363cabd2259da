"""The identity vault's cryptography (pure): envelope encryption of one person's name, address,
register id, contact details (e-mail, phone) and needs under the person's own data key, the data key wrapped by a
key-encryption key (KEK) named by a key id, and the keyed hash that finds a person of the register
without keeping their register id in clear. docs/privacy.md explains the design.

Erasure is crypto-shredding: once a record's wrapped data key is deleted, its ciphertext (in the
table, in a dump, in a backup) cannot be opened with any key that still exists.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.recruitment.domain.contact import as_text, from_text

NONCE = 12  # bytes, AES-GCM's standard nonce
FIELDS = ("name", "address", "person_ref", "email", "phone", "needs", "contact_note")
DERIVED_KEY_ID = "secret-key"


class VaultKeyError(Exception):
    """A data key or record does not open: its KEK is not configured, or the row was tampered with
    or moved. A fault of the deployment, not of the request (an unhandled error, logged by type)."""


@dataclass(frozen=True)
class Identity:
    """What the vault holds about one person (None: not given)."""

    name: str
    address: str
    person_ref: str
    email: str | None = None  # contact details for the selected (domain/contact.py)
    phone: str | None = None
    needs: dict[str, str] | None = None  # what the person said they need if drawn (the questionnaire's needs)
    contact_note: str | None = None  # an old free-text contact's part that is no e-mail or phone, as given

    @property
    def contact(self) -> str | None:
        """The contact details as one line (screens, the mail merge)."""
        return as_text(self.email, self.phone, self.contact_note)

    def as_dict(self) -> dict:
        return {f: getattr(self, f) for f in FIELDS}

    @classmethod
    def from_dict(cls, d: dict) -> "Identity":
        """A record as sealed, now or before the contact details were structured (one free text
        `contact`, read into e-mail, phone and a note: domain/contact.py)."""
        d = dict(d)
        if "contact" in d:
            email, phone, note = from_text(d.pop("contact"))
            d.update(email=email, phone=phone, contact_note=note)
        return cls(**{f: d.get(f) for f in FIELDS})


class KeyWrapper(Protocol):
    """Wraps and unwraps data keys. `KeyRing` does it with KEKs from settings; a KMS adapter (AWS
    KMS Encrypt/Decrypt, Vault Transit, an HSM) has the same two methods (docs/privacy.md)."""

    current: str

    def wrap(self, data_key: bytes, context: bytes) -> tuple[str, bytes]: ...

    def unwrap(self, key_id: str, wrapped: bytes, context: bytes) -> bytes: ...


class KeyRing:
    """KEKs by key id; new data keys are wrapped with `current`, old ones stay readable with the
    KEK they name until `rewrap` moves them to the current one (rotation)."""

    def __init__(self, keys: dict[str, bytes], current: str) -> None:
        if current not in keys:
            raise ValueError(f"the current vault key id {current!r} is not among the configured keys {sorted(keys)}")
        bad = sorted(k for k, v in keys.items() if len(v) != 32)
        if bad:
            raise ValueError(f"vault keys must be 32 bytes (256 bits); these are not: {bad}")
        self.keys, self.current = dict(keys), current
        self._ciphers = {k: AESGCM(v) for k, v in keys.items()}  # made once: the import wraps a key per row

    @classmethod
    def from_settings(cls, encoded: dict[str, str], current: str, secret_key: str) -> "KeyRing":
        """`encoded`: key id -> base64 of 32 random bytes. None configured: one KEK derived from
        the secret key (id "secret-key"), which cannot be rotated without re-keying: set
        BORGERTING_VAULT_KEYS in production (docs/privacy.md)."""
        if not encoded:
            derived = hashlib.sha256(b"borgerting vault KEK\0" + secret_key.encode()).digest()
            return cls({DERIVED_KEY_ID: derived}, DERIVED_KEY_ID)
        keys = {}
        for key_id, text in encoded.items():
            try:
                keys[key_id] = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=False)
            except (binascii.Error, ValueError) as exc:
                raise ValueError(f"vault key {key_id!r} is not base64") from exc
        return cls(keys, current or sorted(keys)[-1])

    def wrap(self, data_key: bytes, context: bytes) -> tuple[str, bytes]:
        nonce = os.urandom(NONCE)
        return self.current, nonce + self._ciphers[self.current].encrypt(nonce, data_key, _kek_aad(self.current, context))

    def unwrap(self, key_id: str, wrapped: bytes, context: bytes) -> bytes:
        kek = self._ciphers.get(key_id)
        if kek is None:
            raise VaultKeyError(f"the vault key {key_id!r} that wrapped this record's data key is not configured")
        try:
            return kek.decrypt(wrapped[:NONCE], wrapped[NONCE:], _kek_aad(key_id, context))
        except InvalidTag as exc:
            raise VaultKeyError("a data key does not open with its vault key (tampered or mismatched)") from exc


def _kek_aad(key_id: str, context: bytes) -> bytes:
    return b"kek:" + key_id.encode() + b":" + context


def record_context(entry_id: int) -> bytes:
    """Binds a ciphertext and its wrapped key to their record: neither can be moved to another."""
    return f"borgerting/recruitment/identity/{entry_id}".encode()


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def seal(data_key: bytes, identity: Identity, context: bytes) -> bytes:
    """nonce || AES-GCM(identity as JSON); a fresh nonce every time (a re-seal after a change too)."""
    return seal_fields(data_key, identity.as_dict(), context)


def seal_fields(data_key: bytes, fields: dict, context: bytes) -> bytes:
    nonce = os.urandom(NONCE)
    plain = json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()
    return nonce + AESGCM(data_key).encrypt(nonce, plain, context)


def sealed_fields(data_key: bytes, sealed: bytes, context: bytes) -> dict:
    """The record's JSON as it was sealed (a migration tells old shapes from new ones by it)."""
    try:
        plain = AESGCM(data_key).decrypt(sealed[:NONCE], sealed[NONCE:], context)
    except InvalidTag as exc:
        raise VaultKeyError("a vault record does not open with its data key (tampered or moved)") from exc
    return json.loads(plain)


def open_sealed(data_key: bytes, sealed: bytes, context: bytes) -> Identity:
    return Identity.from_dict(sealed_fields(data_key, sealed, context))


def person_key(secret: str, assembly_id: object, person_ref: str) -> str:
    """The keyed hash that tells whether a register id was already imported for an assembly (the
    register id itself is only in the vault)."""
    return hmac.new(secret.encode(), f"person:{assembly_id}:{person_ref.strip()}".encode(), hashlib.sha256).hexdigest()
