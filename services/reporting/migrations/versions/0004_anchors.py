"""anchors: every service's audit trail head, the voting board's key fingerprint

Revision ID: 0004_anchors
Revises: 0003_voting_v2
"""
from alembic import op
import sqlalchemy as sa

from shared.migrations import create_audit_heads

revision = "0004_anchors"
down_revision = "0003_voting_v2"
branch_labels = None
depends_on = None

S = "reporting"


def upgrade() -> None:
    create_audit_heads(S)
    op.create_table(
        "boards",
        sa.Column("assembly_id", sa.UUID(), nullable=False),
        sa.Column("board_id", sa.Text(), nullable=False),
        sa.Column("board_key_fingerprint", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("assembly_id"),
        schema=S,
    )


def downgrade() -> None:
    op.drop_table("boards", schema=S)
    op.drop_table("audit_heads", schema=S)
