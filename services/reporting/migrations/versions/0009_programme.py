"""programme: each session's agenda as last published (session-scheduled v2), for the report's process

Revision ID: 0009_programme
Revises: 0008_surveys
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

revision = "0009_programme"
down_revision = "0008_surveys"
branch_labels = None
depends_on = None

S = "reporting"


def upgrade() -> None:
    op.add_column("sessions", sa.Column("programme_revision", sa.Integer()), schema=S)
    op.add_column("sessions", sa.Column("agenda", JSONB()), schema=S)


def downgrade() -> None:
    op.drop_column("sessions", "agenda", schema=S)
    op.drop_column("sessions", "programme_revision", schema=S)
