"""issuance window: tokens are issued until an organiser opens voting (`ballots.voting_opened_at`)

Ballots that exist already were taking tokens and votes at once; they count as opened for voting
when they were created, so they keep taking votes.

Revision ID: 0006_issuance_window
Revises: 0005_sessions
"""
from alembic import op
import sqlalchemy as sa

revision = "0006_issuance_window"
down_revision = "0005_sessions"
branch_labels = None
depends_on = None

S = "voting"


def upgrade() -> None:
    op.add_column("ballots", sa.Column("voting_opened_at", sa.DateTime(timezone=True), nullable=True), schema=S)
    op.execute(f"UPDATE {S}.ballots SET voting_opened_at = created_at")


def downgrade() -> None:
    op.drop_column("ballots", "voting_opened_at", schema=S)
