"""schedule order: which event's schedule a session row holds (session-scheduled v1 and v2 come on
two topics; the latest by event time, then id, wins in whatever order they are read)

Revision ID: 0010_schedule_order
Revises: 0009_programme
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import UUID

revision = "0010_schedule_order"
down_revision = "0009_programme"
branch_labels = None
depends_on = None

S = "reporting"


def upgrade() -> None:
    op.add_column("sessions", sa.Column("scheduled_at", sa.DateTime(timezone=True)), schema=S)
    op.add_column("sessions", sa.Column("scheduled_by", UUID(as_uuid=True)), schema=S)


def downgrade() -> None:
    op.drop_column("sessions", "scheduled_by", schema=S)
    op.drop_column("sessions", "scheduled_at", schema=S)
