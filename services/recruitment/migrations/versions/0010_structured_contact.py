"""contact details for the selected as two fields, e-mail and phone, instead of one free text: every
identity sealed with the old `contact` text is opened and sealed again with `email`, `phone` and, for
a part that is neither, `contact_note` (domain/contact.py). Reads understand both shapes anyway (a
backup from before this migration stays readable); this brings the live records to the new one.

Revision ID: 0010_structured_contact
Revises: 0009_key_store
"""
from alembic import context, op
import sqlalchemy as sa

from services.recruitment import keystore
from services.recruitment.domain.contact import as_text
from services.recruitment.domain.vault import Identity, KeyRing, record_context, seal_fields, sealed_fields
from shared.settings import get_settings

revision = "0010_structured_contact"
down_revision = "0009_key_store"
branch_labels = None
depends_on = None

BATCH = 2000


def _reseal(change) -> None:
    """`change(fields) -> new fields or None` applied to every identity that still has its key."""
    s = get_settings()
    ring = KeyRing.from_settings(s.vault_keys, s.vault_key_id, s.secret_key)
    conn = op.get_bind()
    engine = keystore.migration_engine(context.config.get_main_option("sqlalchemy.url"))
    t = keystore.data_keys
    try:
        with engine.connect() as keys:
            last = 0
            while True:
                rows = conn.execute(sa.text(
                    "SELECT entry_id, sealed FROM recruitment.identities WHERE erased_at IS NULL AND entry_id > :last"
                    " ORDER BY entry_id LIMIT :n"), {"last": last, "n": BATCH}).all()
                if not rows:
                    break
                found = {k.entry_id: k for k in keys.execute(sa.select(t.c.entry_id, t.c.key_id, t.c.wrapped).where(
                    t.c.entry_id.in_([r.entry_id for r in rows])))}
                updates = []
                for r in rows:
                    k = found.get(r.entry_id)
                    if k is None:
                        continue  # erased: nothing opens it, nothing to change
                    ctx = record_context(r.entry_id)
                    data_key = ring.unwrap(k.key_id, k.wrapped, ctx)
                    new = change(sealed_fields(data_key, r.sealed, ctx))
                    if new is not None:
                        updates.append({"e": r.entry_id, "s": seal_fields(data_key, new, ctx)})
                if updates:
                    conn.execute(sa.text("UPDATE recruitment.identities SET sealed = :s WHERE entry_id = :e"), updates)
                last = rows[-1].entry_id
    finally:
        engine.dispose()


def upgrade() -> None:
    _reseal(lambda fields: Identity.from_dict(fields).as_dict() if "contact" in fields else None)


def downgrade() -> None:
    def old(fields: dict) -> dict | None:
        if "contact" in fields:
            return None
        p = Identity.from_dict(fields)
        return {"name": p.name, "address": p.address, "person_ref": p.person_ref,
                "contact": as_text(p.email, p.phone, p.contact_note), "needs": p.needs}

    _reseal(old)
