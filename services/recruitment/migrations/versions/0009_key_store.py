"""the vault's wrapped data keys move out of the recruitment database into the key store, a database
of its own (BORGERTING_VAULT_DATABASE_URL) outside the recruitment database's backups, so that
deleting a key erases its identity from those backups too (docs/privacy.md)

Every key is copied (replacing what the key store holds for the same record, so a second run after a
failure is harmless) while recruitment.data_keys is locked, then the table is dropped. The copy is
committed in the key store before this migration's transaction: should this transaction fail, the
keys are in both places and the next run copies them again.

Revision ID: 0009_key_store
Revises: 0008_questionnaire
"""
from alembic import context, op
import sqlalchemy as sa

from services.recruitment import keystore

revision = "0009_key_store"
down_revision = "0008_questionnaire"
branch_labels = None
depends_on = None

S = "recruitment"
BATCH = 5000


def _key_store():
    return keystore.migration_engine(context.config.get_main_option("sqlalchemy.url"))


def _identities(conn, where: str):
    """The entry ids of recruitment.identities matching `where`, in batches."""
    last = 0
    while True:
        ids = list(conn.execute(sa.text(
            f"SELECT entry_id FROM recruitment.identities WHERE {where} AND entry_id > :last ORDER BY entry_id"
            " LIMIT :n"), {"last": last, "n": BATCH}).scalars().all())
        if not ids:
            return
        yield ids
        last = ids[-1]


def upgrade() -> None:
    conn = op.get_bind()
    conn.execute(sa.text("LOCK TABLE recruitment.data_keys IN ACCESS EXCLUSIVE MODE"))  # no erasure meanwhile
    engine = _key_store()
    try:
        with engine.begin() as keys:
            keystore.create_schema(keys)
            last = 0
            while True:
                rows = conn.execute(sa.text(
                    "SELECT entry_id, key_id, wrapped FROM recruitment.data_keys WHERE entry_id > :last"
                    " ORDER BY entry_id LIMIT :n"), {"last": last, "n": BATCH}).all()
                if not rows:
                    break
                keystore.upsert(keys, [{"entry_id": r.entry_id, "key_id": r.key_id, "wrapped": r.wrapped} for r in rows])
                last = rows[-1].entry_id
            # erased while the keys were here (a downgrade and back): not in the key store either
            for ids in _identities(conn, "erased_at IS NOT NULL"):
                keys.execute(sa.delete(keystore.data_keys).where(keystore.data_keys.c.entry_id.in_(ids)))
    finally:
        engine.dispose()
    op.drop_table("data_keys", schema=S)


def downgrade() -> None:
    """Back into the recruitment database: the key store's keys of this database's identities (left
    in the key store too: were this transaction to fail after deleting them there, they would be
    lost; the next upgrade deletes there the keys of whoever was erased meanwhile)."""
    op.create_table(
        "data_keys",
        sa.Column("entry_id", sa.BigInteger(), sa.ForeignKey(f"{S}.identities.entry_id"), primary_key=True),
        sa.Column("key_id", sa.Text(), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        schema=S,
    )
    op.create_index("ix_recruitment_data_keys_key_id", "data_keys", ["key_id"], schema=S)
    conn = op.get_bind()
    engine = _key_store()
    try:
        with engine.begin() as keys:
            keystore.create_schema(keys)
            t = keystore.data_keys
            for ids in _identities(conn, "true"):
                rows = keys.execute(sa.select(t.c.entry_id, t.c.key_id, t.c.wrapped).where(t.c.entry_id.in_(ids))).all()
                if rows:
                    conn.execute(sa.text("INSERT INTO recruitment.data_keys (entry_id, key_id, wrapped)"
                                         " VALUES (:e, :k, :w)"),
                                 [{"e": r.entry_id, "k": r.key_id, "w": r.wrapped} for r in rows])
    finally:
        engine.dispose()
