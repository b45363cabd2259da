"""places and stipends: members' answers to their place, the stipend rates, sessions and
attendance from sessions' events, claims with receipts (four-eyes approvals), payment exports

Revision ID: 0006_stipends
Revises: 0005_vault
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

revision = "0006_stipends"
down_revision = "0005_vault"
branch_labels = None
depends_on = None

S = "recruitment"


def _index(table: str, column: str) -> None:
    op.create_index(f"ix_{S}_{table}_{column}", table, [column], schema=S)


def upgrade() -> None:
    op.create_table(
        "places",
        sa.Column("member_id", sa.UUID(), primary_key=True),
        sa.Column("assembly_id", sa.UUID(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        schema=S,
    )
    _index("places", "assembly_id")
    op.create_table(
        "stipend_rates",
        sa.Column("assembly_id", sa.UUID(), primary_key=True),
        sa.Column("session_ore", sa.BigInteger(), nullable=False),
        sa.Column("travel_cap_ore", sa.BigInteger(), nullable=False),
        sa.Column("childcare_cap_ore", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        schema=S,
    )
    op.create_table(
        "stipend_sessions",
        sa.Column("session_id", sa.UUID(), primary_key=True),
        sa.Column("assembly_id", sa.UUID(), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("held_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rate_ore", sa.BigInteger(), nullable=True),
        sa.Column("present", sa.Integer(), nullable=True),
        schema=S,
    )
    _index("stipend_sessions", "assembly_id")
    op.create_table(
        "stipend_attendance",
        sa.Column("session_id", sa.UUID(), nullable=False),
        sa.Column("member_id", sa.UUID(), nullable=False),
        sa.Column("assembly_id", sa.UUID(), nullable=False),
        sa.Column("present", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("session_id", "member_id"),
        schema=S,
    )
    _index("stipend_attendance", "assembly_id")
    op.create_table(
        "stipend_claims",
        sa.Column("id", sa.UUID(), primary_key=True),
        sa.Column("assembly_id", sa.UUID(), nullable=False),
        sa.Column("member_id", sa.UUID(), nullable=False),
        sa.Column("session_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("amount_ore", sa.BigInteger(), nullable=False),
        sa.Column("receipt", sa.LargeBinary(), nullable=False),
        sa.Column("receipt_type", sa.Text(), nullable=False),
        sa.Column("receipt_sha256", sa.String(64), nullable=False),
        sa.Column("status", sa.Text(), server_default="pending", nullable=False),
        sa.Column("approvals", JSONB(), server_default=sa.text("'[]'::jsonb"), nullable=False),
        sa.Column("decided_by", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        schema=S,
    )
    _index("stipend_claims", "assembly_id")
    _index("stipend_claims", "member_id")
    op.create_table(
        "stipend_payments",
        sa.Column("id", sa.UUID(), primary_key=True),
        sa.Column("assembly_id", sa.UUID(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("payees", sa.Integer(), nullable=False),
        sa.Column("total_ore", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.UniqueConstraint("assembly_id", "number", name="uq_stipend_payments_number"),
        schema=S,
    )
    _index("stipend_payments", "assembly_id")
    op.create_table(
        "stipend_paid",
        sa.Column("payment_id", sa.UUID(), sa.ForeignKey(f"{S}.stipend_payments.id"), nullable=False),
        sa.Column("assembly_id", sa.UUID(), nullable=False),
        sa.Column("member_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("ref", sa.Text(), nullable=False),
        sa.Column("amount_ore", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("member_id", "kind", "ref", name="pk_stipend_paid"),
        schema=S,
    )
    _index("stipend_paid", "payment_id")
    _index("stipend_paid", "assembly_id")


def downgrade() -> None:
    for table in ("stipend_paid", "stipend_payments", "stipend_claims", "stipend_attendance", "stipend_sessions",
                  "stipend_rates", "places"):
        op.drop_table(table, schema=S)
