"""The recommendations workspace's tables: drafts and their versions, members' amendments,
minority statements, and the final list the secretariat froze."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID

from services.sessions.models import metadata

drafts = sa.Table(
    "drafts",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("assembly_id", UUID(as_uuid=True), nullable=False, index=True),
    sa.Column("group_name", sa.Text, nullable=False),  # the table or working group
    sa.Column("version", sa.Integer, nullable=False),  # the current version
    sa.Column("status", sa.Text, nullable=False),  # open | merged (into merged_into; kept with its history)
    sa.Column("merged_into", UUID(as_uuid=True)),
    sa.Column("created_by", sa.Text, nullable=False),  # the actor (a member's pseudonymous id or a staff login)
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
)

draft_versions = sa.Table(
    "draft_versions",
    metadata,
    sa.Column("draft_id", UUID(as_uuid=True), sa.ForeignKey("drafts.id"), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("rationale", sa.Text, nullable=False),
    sa.Column("text_sha256", sa.Text, nullable=False),
    sa.Column("cause", sa.Text, nullable=False),  # drafted | amendment | edit | merge
    sa.Column("amendment_id", UUID(as_uuid=True)),
    sa.Column("merged_from", JSONB, nullable=False, server_default="[]"),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
)

amendments = sa.Table(
    "amendments",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("assembly_id", UUID(as_uuid=True), nullable=False, index=True),
    sa.Column("draft_id", UUID(as_uuid=True), sa.ForeignKey("drafts.id"), nullable=False, index=True),
    sa.Column("base_version", sa.Integer, nullable=False),
    sa.Column("text", sa.Text, nullable=False),  # the whole text as the member proposes it
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("proposed_by", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),  # pending | accepted | rejected
    sa.Column("note", sa.Text),  # the secretariat's reason for its decision
    sa.Column("decided_at", sa.DateTime(timezone=True)),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
)

minority_statements = sa.Table(
    "minority_statements",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("assembly_id", UUID(as_uuid=True), nullable=False, index=True),
    sa.Column("draft_id", UUID(as_uuid=True), sa.ForeignKey("drafts.id"), nullable=False, index=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("submitted_by", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
)

# One frozen list per assembly: the payload of recommendations-finalised, as published.
final_lists = sa.Table(
    "final_lists",
    metadata,
    sa.Column("list_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("assembly_id", UUID(as_uuid=True), nullable=False, unique=True),
    sa.Column("finalised_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("list_sha256", sa.Text, nullable=False),
    sa.Column("recommendations", JSONB, nullable=False),
)
