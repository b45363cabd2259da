"""audit trail: append-only, hash-chained per assembly

Revision ID: 0002_audit
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0002_audit"
down_revision = "0001"
branch_labels = None
depends_on = None

SCHEMA = "sessions"


def upgrade() -> None:
    op.create_table(
        "audit",
        sa.Column("assembly_id", sa.UUID(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("object_id", sa.Text(), nullable=True),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("correlation_id", sa.Text(), nullable=True),
        sa.Column("prev_hash", sa.Text(), nullable=False),
        sa.Column("hash", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("assembly_id", "seq"),
        schema=SCHEMA,
    )
    # append-only: no UPDATE, DELETE or TRUNCATE
    op.execute(f'CREATE FUNCTION "{SCHEMA}".audit_append_only() RETURNS trigger LANGUAGE plpgsql AS '
               "$$ BEGIN RAISE EXCEPTION 'the audit trail is append-only'; END $$")
    op.execute(f'CREATE TRIGGER audit_no_update BEFORE UPDATE OR DELETE ON "{SCHEMA}".audit '
               f'FOR EACH ROW EXECUTE FUNCTION "{SCHEMA}".audit_append_only()')
    op.execute(f'CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON "{SCHEMA}".audit '
               f'FOR EACH STATEMENT EXECUTE FUNCTION "{SCHEMA}".audit_append_only()')


def downgrade() -> None:
    op.drop_table("audit", schema=SCHEMA)
    op.execute(f'DROP FUNCTION "{SCHEMA}".audit_append_only()')
