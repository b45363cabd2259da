"""sessions voting knows (from sessions.session-scheduled.v1): a ballot may name only one of them

Revision ID: 0005_sessions
Revises: 0004_audit_heads
"""
from alembic import op
import sqlalchemy as sa

revision = "0005_sessions"
down_revision = "0004_audit_heads"
branch_labels = None
depends_on = None

S = "voting"


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("session_id", sa.UUID(), nullable=False),
        sa.Column("assembly_id", sa.UUID(), nullable=False),
        sa.PrimaryKeyConstraint("session_id"),
        schema=S,
    )


def downgrade() -> None:
    op.drop_table("sessions", schema=S)
