"""the identity vault: names, addresses, register ids and contact details encrypted per person
(envelope encryption, docs/privacy.md); the existing rows are sealed and the clear columns dropped;
a keyed hash of the register id keeps a person from being imported twice; the retention
schedule's dates

Revision ID: 0005_vault
Revises: 0004_letters
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import UUID

from services.recruitment.domain.vault import Identity, KeyRing, new_data_key, open_sealed, person_key, record_context, seal
from shared.settings import get_settings

revision = "0005_vault"
down_revision = "0004_letters"
branch_labels = None
depends_on = None

S = "recruitment"
BATCH = 2000


def _ring() -> KeyRing:
    s = get_settings()
    return KeyRing.from_settings(s.vault_keys, s.vault_key_id, s.secret_key)


def upgrade() -> None:
    op.create_table(
        "identities",
        sa.Column("entry_id", sa.BigInteger(), sa.ForeignKey(f"{S}.register_entries.id"), primary_key=True),
        sa.Column("assembly_id", UUID(as_uuid=True), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("erasure", sa.Text(), nullable=True),
        schema=S,
    )
    op.create_index("ix_recruitment_identities_assembly_id", "identities", ["assembly_id"], schema=S)
    op.create_table(
        "data_keys",
        sa.Column("entry_id", sa.BigInteger(), sa.ForeignKey(f"{S}.identities.entry_id"), primary_key=True),
        sa.Column("key_id", sa.Text(), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        schema=S,
    )
    op.create_index("ix_recruitment_data_keys_key_id", "data_keys", ["key_id"], schema=S)
    op.create_table(
        "privacy_dates",
        sa.Column("assembly_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("drawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("handed_over_at", sa.DateTime(timezone=True), nullable=True),
        schema=S,
    )
    op.add_column("register_entries", sa.Column("person_key", sa.String(64), nullable=True), schema=S)

    # Seal every person as they are now (with the contact of their registration, if any).
    conn, ring, secret = op.get_bind(), _ring(), get_settings().secret_key
    last = 0
    while True:
        rows = conn.execute(sa.text(
            "SELECT e.id, e.assembly_id, e.person_ref, e.name, e.address, r.contact FROM recruitment.register_entries e"
            " LEFT JOIN recruitment.invitations i ON i.register_entry_id = e.id"
            " LEFT JOIN recruitment.respondents r ON r.invitation_id = i.id"
            " WHERE e.id > :last ORDER BY e.id LIMIT :n"), {"last": last, "n": BATCH}).all()
        if not rows:
            break
        identities, keys, hashes = [], [], []
        for r in rows:
            ctx = record_context(r.id)
            data_key = new_data_key()
            key_id, wrapped = ring.wrap(data_key, ctx)
            identities.append({"e": r.id, "a": r.assembly_id,
                               "s": seal(data_key, Identity.from_dict({"name": r.name, "address": r.address, "person_ref": r.person_ref,
                                                                "contact": r.contact}), ctx)})
            keys.append({"e": r.id, "k": key_id, "w": wrapped})
            hashes.append({"e": r.id, "h": person_key(secret, r.assembly_id, r.person_ref)})
        conn.execute(sa.text("INSERT INTO recruitment.identities (entry_id, assembly_id, sealed) VALUES (:e, :a, :s)"),
                     identities)
        conn.execute(sa.text("INSERT INTO recruitment.data_keys (entry_id, key_id, wrapped) VALUES (:e, :k, :w)"), keys)
        conn.execute(sa.text("UPDATE recruitment.register_entries SET person_key = :h WHERE id = :e"), hashes)
        last = rows[-1].id

    op.drop_constraint("uq_register_person", "register_entries", schema=S)
    op.alter_column("register_entries", "person_key", nullable=False, schema=S)
    op.create_unique_constraint("uq_register_person", "register_entries", ["assembly_id", "person_key"], schema=S)
    for column in ("person_ref", "name", "address"):
        op.drop_column("register_entries", column, schema=S)
    op.drop_column("respondents", "contact", schema=S)


def downgrade() -> None:
    """Back to clear columns: every identity not erased is opened; an erased one becomes "(erased)"."""
    op.add_column("respondents", sa.Column("contact", sa.Text(), nullable=True), schema=S)
    for column in ("person_ref", "name", "address"):
        op.add_column("register_entries", sa.Column(column, sa.Text(), nullable=True), schema=S)
    conn, ring = op.get_bind(), _ring()
    rows = conn.execute(sa.text(
        "SELECT i.entry_id, i.sealed, k.key_id, k.wrapped FROM recruitment.identities i"
        " LEFT JOIN recruitment.data_keys k ON k.entry_id = i.entry_id")).all()
    for r in rows:
        if r.key_id is None:
            p = Identity("(erased)", "(erased)", f"(erased {r.entry_id})")
        else:
            ctx = record_context(r.entry_id)
            p = open_sealed(ring.unwrap(r.key_id, r.wrapped, ctx), r.sealed, ctx)
        conn.execute(sa.text("UPDATE recruitment.register_entries SET person_ref = :p, name = :n, address = :a"
                             " WHERE id = :e"), {"p": p.person_ref, "n": p.name, "a": p.address, "e": r.entry_id})
        conn.execute(sa.text("UPDATE recruitment.respondents SET contact = :c FROM recruitment.invitations i"
                             " WHERE i.id = respondents.invitation_id AND i.register_entry_id = :e"),
                     {"c": p.contact, "e": r.entry_id})
    op.drop_constraint("uq_register_person", "register_entries", schema=S)
    for column in ("person_ref", "name", "address"):
        op.alter_column("register_entries", column, nullable=False, schema=S)
    op.create_unique_constraint("uq_register_person", "register_entries", ["assembly_id", "person_ref"], schema=S)
    op.drop_column("register_entries", "person_key", schema=S)
    op.drop_table("privacy_dates", schema=S)
    op.drop_table("data_keys", schema=S)
    op.drop_table("identities", schema=S)
