"""letters and waves: what a letter says about its assembly, the register's optional age band and
gender, the kind of each batch (and the targeted wave's computation), reminder codes and returned
letters

Revision ID: 0004_letters
Revises: 0003_members
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

revision = "0004_letters"
down_revision = "0003_members"
branch_labels = None
depends_on = None

S = "recruitment"


def upgrade() -> None:
    op.add_column("assemblies", sa.Column("commissioner", sa.Text(), nullable=True), schema=S)
    op.add_column("assemblies", sa.Column("remit", sa.Text(), nullable=True), schema=S)
    op.add_column("assemblies", sa.Column("remit_en", sa.Text(), nullable=True), schema=S)
    op.add_column("assemblies", sa.Column("session_dates", JSONB(), server_default=sa.text("'[]'::jsonb"),
                                          nullable=False), schema=S)
    op.add_column("assemblies", sa.Column("stipend_ore", sa.BigInteger(), nullable=True), schema=S)
    op.add_column("assemblies", sa.Column("reply_by", sa.Date(), nullable=True), schema=S)
    op.add_column("assemblies", sa.Column("reply_rates", JSONB(), server_default=sa.text("'{}'::jsonb"),
                                          nullable=False), schema=S)
    op.add_column("register_entries", sa.Column("age_band", sa.Text(), nullable=True), schema=S)
    op.add_column("register_entries", sa.Column("gender", sa.Text(), nullable=True), schema=S)
    op.add_column("invitation_batches", sa.Column("kind", sa.Text(), server_default="invitation", nullable=False),
                  schema=S)
    op.add_column("invitation_batches", sa.Column("plan", JSONB(), nullable=True), schema=S)
    op.add_column("invitations", sa.Column("reminder_code_hash", sa.String(64), nullable=True), schema=S)
    op.add_column("invitations", sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True), schema=S)
    op.add_column("invitations", sa.Column("undeliverable_at", sa.DateTime(timezone=True), nullable=True), schema=S)
    op.add_column("invitations", sa.Column("undeliverable_reason", sa.Text(), nullable=True), schema=S)
    op.create_unique_constraint("uq_invitations_reminder_code_hash", "invitations", ["reminder_code_hash"], schema=S)


def downgrade() -> None:
    op.drop_constraint("uq_invitations_reminder_code_hash", "invitations", schema=S)
    for table, column in (("invitations", "undeliverable_reason"), ("invitations", "undeliverable_at"),
                          ("invitations", "reminded_at"), ("invitations", "reminder_code_hash"),
                          ("invitation_batches", "plan"), ("invitation_batches", "kind"),
                          ("register_entries", "gender"), ("register_entries", "age_band"),
                          ("assemblies", "reply_rates"), ("assemblies", "reply_by"), ("assemblies", "stipend_ore"),
                          ("assemblies", "session_dates"), ("assemblies", "remit_en"), ("assemblies", "remit"),
                          ("assemblies", "commissioner")):
        op.drop_column(table, column, schema=S)
