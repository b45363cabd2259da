"""The identity vault's key store: each person's data key, wrapped by a key-encryption key, in a
PostgreSQL database of its own (`recruitment_keys`, BORGERTING_VAULT_DATABASE_URL) — never in the
recruitment database beside the ciphertexts. A backup of the recruitment database therefore holds
ciphertexts without their keys; deleting a key here (crypto-shredding) erases the record in every
copy of the recruitment database, and the key store's own backups are kept only a few days
(docs/privacy.md, "Backups").

Writes here commit on their own, before the recruitment transaction that needs them: a key whose
record was then rolled back is a random key of nobody (swept by `orphans`), whereas a record whose
key was lost could never be read again.
"""

from __future__ import annotations

import asyncio
import weakref
from datetime import datetime
from typing import Callable

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert

from shared.db import make_engine
from shared.settings import Settings, get_settings

SCHEMA = "recruitment_keys"
KEYS_DATABASE = "recruitment_keys"  # the database's name where no URL is set (laptops, tests)

metadata = sa.MetaData(schema=SCHEMA)

# entry id (recruitment.identities.entry_id, the register entry) -> its data key wrapped by `key_id`
data_keys = sa.Table(
    "data_keys",
    metadata,
    sa.Column("entry_id", sa.BigInteger, primary_key=True),
    sa.Column("key_id", sa.Text, nullable=False, index=True),
    sa.Column("wrapped", sa.LargeBinary, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False, index=True),
)


class KeyStoreNotConfigured(Exception):
    """Production without BORGERTING_VAULT_DATABASE_URL (a fault of the deployment)."""


def key_store_url(s: Settings, database_url: str | None = None) -> str:
    """BORGERTING_VAULT_DATABASE_URL, or (not in production) the database `recruitment_keys` on the
    server of DATABASE_URL (or of `database_url`: a migration's): fine on a laptop, where nothing
    is backed up."""
    if s.vault_database_url:
        return s.vault_database_url
    if s.env == "production":
        raise KeyStoreNotConfigured(
            "BORGERTING_VAULT_DATABASE_URL must name the vault's key store (a database outside the recruitment"
            " database's backups) in production: docs/privacy.md")
    return sa.make_url(database_url or s.database_url).set(database=KEYS_DATABASE).render_as_string(hide_password=False)


def _ids(entry_ids: list[int]):
    return sa.bindparam(None, list(entry_ids), type_=ARRAY(sa.BigInteger))


class KeyStore:
    """The key store's reads and writes; each call is one transaction of its own, committed."""

    def __init__(self, url: str, pool_size: int = 2, pgbouncer: bool = False) -> None:
        self.engine = make_engine(url, pool_size=pool_size, max_overflow=pool_size, pgbouncer=pgbouncer)

    async def put(self, rows: list[dict]) -> None:
        """[{entry_id, key_id, wrapped}]"""
        if rows:
            async with self.engine.begin() as conn:
                await conn.execute(sa.insert(data_keys), rows)

    async def get(self, entry_ids: list[int]) -> dict[int, tuple[str, bytes]]:
        """entry id -> (key id, wrapped data key), for those that have one."""
        if not entry_ids:
            return {}
        async with self.engine.connect() as conn:
            rows = (await conn.execute(sa.select(data_keys.c.entry_id, data_keys.c.key_id, data_keys.c.wrapped)
                                       .where(data_keys.c.entry_id == sa.any_(_ids(entry_ids))))).all()
        return {r.entry_id: (r.key_id, r.wrapped) for r in rows}

    async def delete(self, entry_ids: list[int]) -> list[int]:
        """Delete the keys (crypto-shredding); returns the entry ids that had one."""
        if not entry_ids:
            return []
        async with self.engine.begin() as conn:
            return list((await conn.execute(sa.delete(data_keys).where(data_keys.c.entry_id == sa.any_(_ids(entry_ids)))
                                            .returning(data_keys.c.entry_id))).scalars().all())

    async def rewrap(self, current: str, rewrap: Callable[[int, str, bytes], tuple[str, bytes]], limit: int) -> int:
        """Up to `limit` keys held under another KEK than `current`, re-wrapped by `rewrap(entry id,
        key id, wrapped) -> (key id, wrapped)`; returns how many."""
        async with self.engine.begin() as conn:
            rows = (await conn.execute(sa.select(data_keys.c.entry_id, data_keys.c.key_id, data_keys.c.wrapped)
                                       .where(data_keys.c.key_id != current).limit(limit)
                                       .with_for_update(skip_locked=True))).all()
            for r in rows:
                key_id, wrapped = rewrap(r.entry_id, r.key_id, r.wrapped)
                await conn.execute(sa.update(data_keys).where(data_keys.c.entry_id == r.entry_id)
                                   .values(key_id=key_id, wrapped=wrapped))
        return len(rows)

    async def entries(self, after: int, limit: int, created_before: datetime) -> list[int]:
        """Entry ids above `after` (in order) whose key was written before `created_before`."""
        async with self.engine.connect() as conn:
            return list((await conn.execute(sa.select(data_keys.c.entry_id).where(
                data_keys.c.entry_id > after, data_keys.c.created_at < created_before)
                .order_by(data_keys.c.entry_id).limit(limit))).scalars().all())

    async def close(self) -> None:
        await self.engine.dispose()


_open: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, KeyStore]" = weakref.WeakKeyDictionary()


def key_store() -> KeyStore:
    """This event loop's key store (its connection pool belongs to the loop), made on first use."""
    loop = asyncio.get_running_loop()
    store = _open.get(loop)
    if store is None:
        s = get_settings()
        store = _open[loop] = KeyStore(key_store_url(s), s.vault_db_pool_size, s.vault_db_pgbouncer)
    return store


async def close_key_store() -> None:
    store = _open.pop(asyncio.get_running_loop(), None)
    if store is not None:
        await store.close()


async def key_store_lifetime(rt, stop: asyncio.Event) -> None:
    """A worker of recruitment's processes: closes the key store's connections when they stop."""
    await stop.wait()
    await close_key_store()


def migration_engine(database_url: str) -> sa.Engine:
    """The key store for a (synchronous) migration of the recruitment database at `database_url`:
    alembic runs it inside SQLAlchemy's greenlet, where an async engine's sync facade works."""
    s = get_settings()
    return make_engine(key_store_url(s, database_url), pool_size=1, max_overflow=0,
                       pgbouncer=s.vault_db_pgbouncer).sync_engine


def create_schema(connection) -> None:
    """In a (sync) migration: the key store's schema and table, if missing."""
    connection.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{SCHEMA}"'))
    metadata.create_all(connection, checkfirst=True)


def upsert(connection, rows: list[dict]) -> None:
    """In a (sync) migration: [{entry_id, key_id, wrapped}] written, replacing what is there."""
    if rows:
        stmt = pg_insert(data_keys)
        connection.execute(stmt.on_conflict_do_update(
            index_elements=["entry_id"], set_={"key_id": stmt.excluded.key_id, "wrapped": stmt.excluded.wrapped}), rows)
