"""audit heads: every service's audit trail head, anchored in the board's checkpoints

Revision ID: 0004_audit_heads
Revises: 0003_secret_ballots
"""
from alembic import op

from shared.migrations import create_audit_heads

revision = "0004_audit_heads"
down_revision = "0003_secret_ballots"
branch_labels = None
depends_on = None

S = "voting"


def upgrade() -> None:
    create_audit_heads(S)


def downgrade() -> None:
    op.drop_table("audit_heads", schema=S)
