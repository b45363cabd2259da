"""The identity vault's reads and writes (domain/vault.py holds the cryptography): people of the
register extract sealed on import, opened only for the registrar's screens, the letters and a
person's access export, a contact added or removed, and erasure by deleting data keys. The
ciphertexts are in recruitment's table `identities`, their wrapped data keys in the key store, a
database of its own outside the recruitment database's backups (keystore.py)."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

from services.recruitment import models as m
from services.recruitment.keystore import key_store
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
    """Seal each person (register entry id, identity) under a new data key of their own: the
    ciphertext in recruitment's table, the wrapped key in the key store (committed first)."""
    ring, keys_db = keyring(), key_store()
    for i in range(0, len(people), CHUNK):
        ids, keys = [], []
        for entry_id, identity in people[i:i + CHUNK]:
            sealed, key_id, wrapped = sealed_rows(ring, entry_id, identity)
            ids.append({"entry_id": entry_id, "assembly_id": assembly_id, "sealed": sealed})
            keys.append({"entry_id": entry_id, "key_id": key_id, "wrapped": wrapped})
        await keys_db.put(keys)
        await tx.session.execute(sa.insert(m.identities), ids)


async def _data_keys(tx: Tx, entry_ids: list[int]) -> dict[int, tuple[bytes, bytes]]:
    """entry id -> (data key, sealed) of the records not erased (marked erased here, or without a
    key in the key store)."""
    ring, keys_db = keyring(), key_store()
    out: dict[int, tuple[bytes, bytes]] = {}
    for i in range(0, len(entry_ids), CHUNK):
        chunk = entry_ids[i:i + CHUNK]
        rows = (await tx.session.execute(
            sa.select(m.identities.c.entry_id, m.identities.c.sealed)
            .where(m.identities.c.entry_id == sa.any_(_ids(chunk)), m.identities.c.erased_at.is_(None)))).all()
        keys = await keys_db.get([r.entry_id for r in rows])
        for r in rows:
            if r.entry_id in keys:
                key_id, wrapped = keys[r.entry_id]
                out[r.entry_id] = (ring.unwrap(key_id, wrapped, record_context(r.entry_id)), r.sealed)
    return out


def _ids(entry_ids: list[int]):
    return sa.bindparam(None, list(entry_ids), type_=ARRAY(sa.BigInteger))


async def read(tx: Tx, entry_ids: list[int]) -> dict[int, Identity | None]:
    """Each person's identity, or None where it was erased (its data key deleted)."""
    keys = await _data_keys(tx, list(dict.fromkeys(entry_ids)))
    return {e: (open_sealed(keys[e][0], keys[e][1], record_context(e)) if e in keys else None) for e in entry_ids}


async def set_contact(tx: Tx, entry_id: int, *, email: str | None = None, phone: str | None = None,
                      needs: dict[str, str] | None = None) -> None:
    """Set (or, with nothing given, remove) a person's contact details and needs, sealed again
    under the same data key; an old free-text note goes with them."""
    keys = await _data_keys(tx, [entry_id])
    if entry_id not in keys:
        return  # erased: nothing to keep
    data_key, sealed = keys[entry_id]
    ctx = record_context(entry_id)
    identity = open_sealed(data_key, sealed, ctx)
    changed = Identity(identity.name, identity.address, identity.person_ref, email=email or None, phone=phone or None,
                       needs=needs or None)
    await tx.session.execute(sa.update(m.identities).where(m.identities.c.entry_id == entry_id)
                             .values(sealed=seal(data_key, changed, ctx)))


async def erase(tx: Tx, assembly_id: uuid.UUID, entry_ids: list[int], reason: str, *,
                actor: str | None = None) -> int:
    """Crypto-shred: delete the people's data keys from the key store (at once, committed: their
    ciphertext, in this database and in every backup of it, can no longer be opened) and mark them
    erased. Returns how many were not erased before; one audit entry with the count, no personal
    data."""
    assert reason in REASONS
    keys_db = key_store()
    erased = 0
    for i in range(0, len(entry_ids), CHUNK):
        chunk = entry_ids[i:i + CHUNK]
        await keys_db.delete(chunk)
        marked = (await tx.session.execute(
            sa.update(m.identities).where(m.identities.c.entry_id == sa.any_(_ids(chunk)),
                                          m.identities.c.erased_at.is_(None))
            .values(erased_at=datetime.now(timezone.utc), erasure=reason).returning(m.identities.c.entry_id)
        )).scalars().all()
        erased += len(marked)
    if erased:
        await tx.audit("identities.erased", assembly_id, details={"reason": reason, "count": erased}, actor=actor)
    return erased


async def rewrap(limit: int = 10_000) -> int:
    """Key rotation: wrap data keys held under an older KEK with the current one (the ciphertexts
    stay as they are). Returns how many were moved; run until 0, then retire the old KEK."""
    ring = keyring()

    def again(entry_id: int, key_id: str, wrapped: bytes) -> tuple[str, bytes]:
        ctx = record_context(entry_id)
        return ring.wrap(ring.unwrap(key_id, wrapped, ctx), ctx)

    return await key_store().rewrap(ring.current, again, limit)


async def reconcile(sessionmaker, *, orphans_before: datetime) -> dict[str, int]:
    """After a restore of either database: delete again the keys of every identity marked erased
    (a key store restored from a backup older than an erasure brings its keys back), and the keys
    written before `orphans_before` whose record does not exist (an import rolled back after its
    keys were committed); and mark erased (`erasure` "restored") the records whose key is gone (a
    recruitment database restored from a backup older than their erasure). Returns the counts."""
    keys_db = key_store()
    shredded = orphans = 0
    last = 0
    while True:  # identities marked erased
        async with sessionmaker() as session:
            ids = list((await session.execute(
                sa.select(m.identities.c.entry_id).where(m.identities.c.erased_at.is_not(None),
                                                         m.identities.c.entry_id > last)
                .order_by(m.identities.c.entry_id).limit(CHUNK))).scalars().all())
        if not ids:
            break
        shredded += len(await keys_db.delete(ids))
        last = ids[-1]
    last = 0
    while True:  # keys without a record
        ids = await keys_db.entries(last, CHUNK, orphans_before)
        if not ids:
            break
        async with sessionmaker() as session:
            known = set((await session.execute(sa.select(m.identities.c.entry_id).where(
                m.identities.c.entry_id == sa.any_(_ids(ids))))).scalars().all())
        orphans += len(await keys_db.delete([e for e in ids if e not in known]))
        last = ids[-1]
    last, restored = 0, 0
    while True:  # records whose key is gone but not marked erased (a restored recruitment database)
        async with sessionmaker() as session, session.begin():
            ids = list((await session.execute(
                sa.select(m.identities.c.entry_id).where(m.identities.c.erased_at.is_(None),
                                                         m.identities.c.entry_id > last)
                .order_by(m.identities.c.entry_id).limit(CHUNK))).scalars().all())
            if not ids:
                break
            keys = await keys_db.get(ids)
            gone = [e for e in ids if e not in keys]
            if gone:
                await session.execute(sa.update(m.identities).where(m.identities.c.entry_id == sa.any_(_ids(gone)))
                                      .values(erased_at=datetime.now(timezone.utc), erasure="restored"))
            restored += len(gone)
        last = ids[-1]
    return {"shredded": shredded, "orphans": orphans, "marked_erased": restored}
