"""panel members and their login codes

Revision ID: 0003_members
Revises: 0002_audit
"""
from alembic import op
import sqlalchemy as sa

revision = "0003_members"
down_revision = "0002_audit"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "members",
        sa.Column("assembly_id", sa.UUID(), nullable=False),
        sa.Column("member_id", sa.UUID(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.PrimaryKeyConstraint("assembly_id", "member_id"),
        schema="recruitment",
    )
    op.create_table(
        "member_codes",
        sa.Column("member_id", sa.UUID(), nullable=False),
        sa.Column("assembly_id", sa.UUID(), nullable=False),
        sa.Column("code_hash", sa.Text(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("member_id"),
        sa.UniqueConstraint("code_hash"),
        schema="recruitment",
    )
    op.create_index("ix_recruitment_member_codes_assembly_id", "member_codes", ["assembly_id"], schema="recruitment")


def downgrade() -> None:
    op.drop_table("member_codes", schema="recruitment")
    op.drop_table("members", schema="recruitment")
