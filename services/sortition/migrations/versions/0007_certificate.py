"""the draw's certificate of optimality (the LEXIMIN result for `borgerting sortition certify`)

Panels drawn before this keep null (no certificate is published for them).

Revision ID: 0007_certificate
Revises: 0006_region_names
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

revision = "0007_certificate"
down_revision = "0006_region_names"
branch_labels = None
depends_on = None

SCHEMA = "sortition"


def upgrade() -> None:
    op.add_column("panels", sa.Column("certificate", JSONB(), nullable=True), schema=SCHEMA)


def downgrade() -> None:
    op.drop_column("panels", "certificate", schema=SCHEMA)
