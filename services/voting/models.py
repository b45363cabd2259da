"""Voting's tables (schema `voting`).

Who received a token (`issued`: member and ballot, no time, never the token) and what was voted
(`entries`: the bulletin board, no member ids, no times) are kept apart with no link between
them. Check-ins come from sessions' attendance events; the electorate from sortition's panel.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID

from shared.audit import audit_heads_table, audit_table
from shared.db import delivery_tables
from shared.projections import panel_membership_table

metadata = sa.MetaData(schema="voting")
outbox, inbox = delivery_tables(metadata)
audit = audit_table(metadata)
audit_heads = audit_heads_table(metadata)  # every service's trail, signed into checkpoints

eligible = panel_membership_table(metadata, "eligible")

# From sessions.session-scheduled.v1: the sessions a ballot may name.
sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("session_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("assembly_id", UUID(as_uuid=True), nullable=False),
    sa.Column("title", sa.Text),  # for the ballot form's choice of check-in session (null before 0007)
    sa.Column("starts_at", sa.DateTime(timezone=True)),
)

# From sessions.attendance-recorded.v1: present at a session = checked in there.
checkins = sa.Table(
    "checkins",
    metadata,
    sa.Column("session_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("member_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("assembly_id", UUID(as_uuid=True), nullable=False, index=True),
    sa.Column("present", sa.Boolean, nullable=False),
)

ballots = sa.Table(
    "ballots",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("assembly_id", UUID(as_uuid=True), nullable=False, index=True),
    sa.Column("title", sa.Text, nullable=False),
    # The domain definition (Ballot.to_dict) without closed_at; what the board publishes.
    sa.Column("definition", JSONB, nullable=False),
    sa.Column("session_id", UUID(as_uuid=True)),  # check-in session (None: any session of the assembly)
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column("closed_at", sa.DateTime(timezone=True)),
    # Set when an organiser opens voting, which ends token issuance: until then tokens and sheets
    # are issued and no vote is taken, after it the reverse (so every `issued` row is written, and
    # rewritten in a random order, before the first vote is).
    sa.Column("voting_opened_at", sa.DateTime(timezone=True)),
    sa.Column("token_key_pem", sa.Text, nullable=False),  # public (SPKI PEM)
    sa.Column("token_key_id", sa.Text, nullable=False),
    sa.Column("secret_key_pem", sa.Text, nullable=False),  # PKCS#8, encrypted with a key derived from the secret
    sa.Column("result", JSONB),  # BallotResult.to_dict() once closed and tallied
    # final: opened from the secretariat's finalised list (list_id), the assembly's result; trial: a
    # trial ballot or straw poll, never reported as the result. Ballots from before 0008 are final
    # (until then every ballot was reported as the result; the migration keeps them so).
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("list_id", UUID(as_uuid=True), unique=True),  # one final ballot per finalised list
)

# From sessions.recommendations-finalised.v1: the lists a final ballot is opened from (ids, titles
# and text hashes; the texts themselves stay with sessions and reporting).
final_lists = sa.Table(
    "final_lists",
    metadata,
    sa.Column("list_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("assembly_id", UUID(as_uuid=True), nullable=False, index=True),
    sa.Column("finalised_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("list_sha256", sa.Text, nullable=False),
    sa.Column("recommendations", JSONB, nullable=False),  # [{recommendation_id, position, title, text_sha256}]
)

# The issuer's record: who received a token (online) or a ballot sheet (paper/postal) for which
# ballot. One row per member and ballot, whatever the channel: one member, one vote. No time; the
# rows are rewritten in a random order, in one transaction, when voting opens.
issued = sa.Table(
    "issued",
    metadata,
    sa.Column("ballot_id", UUID(as_uuid=True), sa.ForeignKey("ballots.id"), primary_key=True),
    sa.Column("member_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),  # online | paper | postal
)

# One bulletin board per assembly; the row is the head of its hash chain and the lock that
# serialises appends.
boards = sa.Table(
    "boards",
    metadata,
    sa.Column("assembly_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("board_id", sa.Text, nullable=False),
    sa.Column("head_position", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("head_hash", sa.Text, nullable=False),
    sa.Column("last_checkpoint", sa.BigInteger, nullable=False, server_default="0"),
    # Bumped by every append and every close: the ballot box's fast path appends only if the
    # board has not changed since it last looked (see handlers.Ingest).
    sa.Column("version", sa.BigInteger, nullable=False, server_default="0"),
)

entries = sa.Table(
    "entries",
    metadata,
    sa.Column("assembly_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("position", sa.BigInteger, primary_key=True),
    sa.Column("ballot_id", UUID(as_uuid=True), sa.ForeignKey("ballots.id"), nullable=False, index=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("token_hash", sa.Text, unique=True),  # a token is used once, ever
    sa.Column("sheet_id", sa.Text),
    sa.Column("hash", sa.Text, nullable=False),
    sa.Column("entry", JSONB, nullable=False),  # the board entry exactly as hashed
    sa.UniqueConstraint("ballot_id", "sheet_id", name="uq_entries_sheet"),
)

checkpoints = sa.Table(
    "checkpoints",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("assembly_id", UUID(as_uuid=True), nullable=False, index=True),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("body", JSONB, nullable=False),  # board_id, position, head_hash, at, signature
)

official_entries = sa.Table(
    "official_entries",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("ballot_id", UUID(as_uuid=True), sa.ForeignKey("ballots.id"), nullable=False, index=True),
    sa.Column("kind", sa.Text, nullable=False),  # paper | postal
    sa.Column("sheet_id", sa.Text, nullable=False),
    sa.Column("choices", JSONB, nullable=False),
    sa.Column("choices_digest", sa.Text, nullable=False),
    sa.Column("entered_by", sa.Text, nullable=False),
    sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status", sa.Text, nullable=False),  # pending | confirmed | rejected
    sa.Column("decided_by", sa.Text),
    sa.Column("decided_at", sa.DateTime(timezone=True)),
    sa.Column("reason", sa.Text),
    sa.Column("position", sa.BigInteger),  # on the board, once confirmed
)
