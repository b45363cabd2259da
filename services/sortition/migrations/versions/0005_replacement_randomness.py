"""fresh committed randomness per replacement (secret value, public commitment)

Panels drawn before this get the commitment for their next replacement now, before any later
drop-out is reported; their earlier replacements stay version 1 (no fresh randomness).

Revision ID: 0005_repl_randomness
Revises: 0004_repl_transcripts
"""
import hashlib
import secrets

from alembic import op
import sqlalchemy as sa

revision = "0005_repl_randomness"
down_revision = "0004_repl_transcripts"
branch_labels = None
depends_on = None

SCHEMA = "sortition"


def upgrade() -> None:
    op.create_table(
        "replacement_randomness",
        sa.Column("assembly_id", sa.UUID(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("commitment", sa.Text(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("committed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("revealed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("assembly_id", "number"),
        schema=SCHEMA,
    )
    bind = op.get_bind()
    panels = bind.execute(sa.text(
        "SELECT p.assembly_id, (SELECT count(*) FROM sortition.replacements r WHERE r.assembly_id = p.assembly_id) AS n "
        "FROM sortition.panels p WHERE p.transcript IS NOT NULL")).all()
    for assembly_id, n in panels:
        value = secrets.token_hex(32)
        bind.execute(sa.text("INSERT INTO sortition.replacement_randomness (assembly_id, number, commitment, value) "
                             "VALUES (:a, :n, :c, :v)"),
                     {"a": assembly_id, "n": n + 1, "c": hashlib.sha256(value.encode()).hexdigest(), "v": value})


def downgrade() -> None:
    op.drop_table("replacement_randomness", schema=SCHEMA)
