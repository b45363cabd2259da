"""The identity vault's reads and writes (domain/vault.py holds the cryptography): people of the
register extract sealed on import, opened only for the registrar's screens, the letters and a
person's access export, a contact added or removed, and erasure by deleting data keys."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

from services.recruitment import models as m
from services.recruitment.domain.vault import (Identity, KeyRing, KeyWrapper, new_data_key, open_sealed, person_key,
                                               record_context, seal)
from shared.bus.outbox import Tx
from shared.settings import get_settings

CHUNK = 5000
REASONS = ("unselected", "handover", "request")


@lru_cache
def keyring() -> KeyWrapper:
    s = get_settings()
    return KeyRing.from_settings(s.vault_keys, s.vault_key_id, s.secret_key)


def person_keys(assembly_id: uuid.UUID, refs: list[str]) -> list[str]:
    secret = get_settings().secret_key
    return [person_key(secret, assembly_id, r) for r in refs]


def sealed_rows(ring: KeyWrapper, entry_id: int, identity: Identity) -> tuple[bytes, str, bytes]:
    """(ciphertext, key id, wrapped data key) of a new record."""
    ctx = record_context(entry_id)
    data_key = new_data_key()
    key_id, wrapped = ring.wrap(data_key, ctx)
    return seal(data_key, identity, ctx), key_id, wrapped


async def store(tx: Tx, assembly_id: uuid.UUID, people: list[tuple[int, Identity]]) -> None:
    """Seal each person (register entry id, identity) under a new data key of their own."""
    ring = keyring()
    for i in range(0, len(people), CHUNK):
        ids, keys = [], []
        for entry_id, identity in people[i:i + CHUNK]:
            sealed, key_id, wrapped = sealed_rows(ring, entry_id, identity)
            ids.append({"entry_id": entry_id, "assembly_id": assembly_id, "sealed": sealed})
            keys.append({"entry_id": entry_id, "key_id": key_id, "wrapped": wrapped})
        await tx.session.execute(sa.insert(m.identities), ids)
        await tx.session.execute(sa.insert(m.data_keys), keys)


async def _data_keys(tx: Tx, entry_ids: list[int]) -> dict[int, tuple[bytes, bytes]]:
    """entry id -> (data key, sealed) of the records not erased."""
    ring = keyring()
    out: dict[int, tuple[bytes, bytes]] = {}
    for i in range(0, len(entry_ids), CHUNK):
        rows = (await tx.session.execute(
            sa.select(m.identities.c.entry_id, m.identities.c.sealed, m.data_keys.c.key_id, m.data_keys.c.wrapped)
            .join(m.data_keys, m.data_keys.c.entry_id == m.identities.c.entry_id)
            .where(m.identities.c.entry_id == sa.any_(sa.bindparam(None, entry_ids[i:i + CHUNK],
                                                                     type_=ARRAY(sa.BigInteger)))))).all()
        for r in rows:
            out[r.entry_id] = (ring.unwrap(r.key_id, r.wrapped, record_context(r.entry_id)), r.sealed)
    return out


async def read(tx: Tx, entry_ids: list[int]) -> dict[int, Identity | None]:
    """Each person's identity, or None where it was erased (its data key deleted)."""
    keys = await _data_keys(tx, list(dict.fromkeys(entry_ids)))
    return {e: (open_sealed(keys[e][0], keys[e][1], record_context(e)) if e in keys else None) for e in entry_ids}


async def set_contact(tx: Tx, entry_id: int, contact: str | None, needs: dict[str, str] | None = None) -> None:
    """Add, change or remove a person's contact details and needs (sealed again under the same
    data key)."""
    keys = await _data_keys(tx, [entry_id])
    if entry_id not in keys:
        return  # erased: nothing to keep
    data_key, sealed = keys[entry_id]
    ctx = record_context(entry_id)
    identity = open_sealed(data_key, sealed, ctx)
    changed = Identity(identity.name, identity.address, identity.person_ref, contact, needs or None)
    await tx.session.execute(sa.update(m.identities).where(m.identities.c.entry_id == entry_id)
                             .values(sealed=seal(data_key, changed, ctx)))


async def erase(tx: Tx, assembly_id: uuid.UUID, entry_ids: list[int], reason: str, *,
                actor: str | None = None) -> int:
    """Crypto-shred: delete the people's data keys (their ciphertext, wherever it was copied, can
    no longer be opened) and mark them erased. One audit entry with the count, no personal data."""
    assert reason in REASONS
    erased = 0
    for i in range(0, len(entry_ids), CHUNK):
        chunk = sa.bindparam(None, entry_ids[i:i + CHUNK], type_=ARRAY(sa.BigInteger))
        gone = (await tx.session.execute(
            sa.delete(m.data_keys).where(m.data_keys.c.entry_id == sa.any_(chunk)).returning(m.data_keys.c.entry_id)
        )).scalars().all()
        if gone:
            await tx.session.execute(
                sa.update(m.identities).where(m.identities.c.entry_id == sa.any_(
                    sa.bindparam(None, list(gone), type_=ARRAY(sa.BigInteger))))
                .values(erased_at=datetime.now(timezone.utc), erasure=reason))
        erased += len(gone)
    if erased:
        await tx.audit("identities.erased", assembly_id, details={"reason": reason, "count": erased}, actor=actor)
    return erased


async def rewrap(tx: Tx, limit: int = 10_000) -> int:
    """Key rotation: wrap data keys held under an older KEK with the current one (the ciphertexts
    stay as they are). Returns how many were moved; run until 0, then retire the old KEK."""
    ring = keyring()
    rows = (await tx.session.execute(
        sa.select(m.data_keys).where(m.data_keys.c.key_id != ring.current).limit(limit).with_for_update())).all()
    for r in rows:
        ctx = record_context(r.entry_id)
        key_id, wrapped = ring.wrap(ring.unwrap(r.key_id, r.wrapped, ctx), ctx)
        await tx.session.execute(sa.update(m.data_keys).where(m.data_keys.c.entry_id == r.entry_id)
                                 .values(key_id=key_id, wrapped=wrapped))
    return len(rows)
