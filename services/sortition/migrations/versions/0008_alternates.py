"""alternates chosen for drop-outs after the draw (issue 17, item 4): the chosen list, the drop-out
rates, the seed and the simulation; the list becomes the panel's reserve list

Revision ID: 0008_alternates
Revises: 0007_certificate
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

revision = "0008_alternates"
down_revision = "0007_certificate"
branch_labels = None
depends_on = None

SCHEMA = "sortition"


def upgrade() -> None:
    op.add_column("panels", sa.Column("alternates", JSONB(), nullable=True), schema=SCHEMA)


def downgrade() -> None:
    op.drop_column("panels", "alternates", schema=SCHEMA)
