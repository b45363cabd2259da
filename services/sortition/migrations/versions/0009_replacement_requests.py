"""replacement requests from sessions' drop-out rule and from members declining in the portal,
listed for the secretariat (issue 16)

Revision ID: 0009_replacement_requests
Revises: 0008_alternates
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0009_replacement_requests"
down_revision = "0008_alternates"
branch_labels = None
depends_on = None

SCHEMA = "sortition"


def upgrade() -> None:
    op.create_table(
        "replacement_requests",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("assembly_id", UUID(as_uuid=True), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("session_id", UUID(as_uuid=True)),
        sa.Column("missed_in_a_row", sa.Integer),
        sa.Column("members", JSONB, nullable=False),
        sa.Column("job_id", UUID(as_uuid=True)),
        sa.Column("refusal", sa.Text),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        schema=SCHEMA,
    )
    op.create_index(op.f("ix_sortition_replacement_requests_assembly_id"), "replacement_requests", ["assembly_id"],
                    unique=False, schema=SCHEMA)


def downgrade() -> None:
    op.drop_table("replacement_requests", schema=SCHEMA)
