"""the sessions' titles and start times (from session-scheduled), so that the ballot form offers the
check-in session by name; sessions known before this keep nulls

Revision ID: 0007_session_titles
Revises: 0006_issuance_window
"""
from alembic import op
import sqlalchemy as sa

revision = "0007_session_titles"
down_revision = "0006_issuance_window"
branch_labels = None
depends_on = None

S = "voting"


def upgrade() -> None:
    op.add_column("sessions", sa.Column("title", sa.Text(), nullable=True), schema=S)
    op.add_column("sessions", sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True), schema=S)


def downgrade() -> None:
    op.drop_column("sessions", "starts_at", schema=S)
    op.drop_column("sessions", "title", schema=S)
