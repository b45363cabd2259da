"""The programme's tables: where and for how many a session is (venues per region, an online
link, capacity), its agenda items by phase, the experts and stakeholders heard, the documents
attached to items (files kept here, size-limited, with their SHA-256), and members' requests for a
witness. Rows belong to an assembly (`assembly_id`) so that routes on them can be scoped."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import UUID

from services.sessions.models import metadata

session_settings = sa.Table(
    "session_settings",
    metadata,
    sa.Column("session_id", UUID(as_uuid=True), sa.ForeignKey("sessions.id"), primary_key=True),
    sa.Column("online_url", sa.Text),
    sa.Column("capacity", sa.Integer),
    sa.Column("revision", sa.Integer, nullable=False, server_default="0"),  # of the last published programme
    sa.Column("published_at", sa.DateTime(timezone=True)),
)

venues = sa.Table(
    "venues",
    metadata,
    sa.Column("session_id", UUID(as_uuid=True), sa.ForeignKey("sessions.id"), primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("region", sa.Text, nullable=False),
    sa.Column("venue", sa.Text, nullable=False),
)

agenda_items = sa.Table(
    "agenda_items",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("assembly_id", UUID(as_uuid=True), nullable=False),
    sa.Column("session_id", UUID(as_uuid=True), sa.ForeignKey("sessions.id"), nullable=False, index=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("phase", sa.Text, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("minutes", sa.Integer, nullable=False),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("removed_at", sa.DateTime(timezone=True)),  # kept for the record (and so its id still scopes)
)

experts = sa.Table(
    "experts",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("assembly_id", UUID(as_uuid=True), nullable=False, index=True),
    sa.Column("kind", sa.Text, nullable=False),  # expert | stakeholder
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("affiliation", sa.Text, nullable=False),
    sa.Column("interests", sa.Text, nullable=False),  # the declaration of interests, as published
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
)

item_speakers = sa.Table(
    "item_speakers",
    metadata,
    sa.Column("item_id", UUID(as_uuid=True), sa.ForeignKey("agenda_items.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("expert_id", UUID(as_uuid=True), sa.ForeignKey("experts.id"), primary_key=True),
)

documents = sa.Table(
    "documents",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("assembly_id", UUID(as_uuid=True), nullable=False),
    sa.Column("item_id", UUID(as_uuid=True), sa.ForeignKey("agenda_items.id", ondelete="CASCADE"), nullable=False,
              index=True),
    sa.Column("kind", sa.Text, nullable=False),  # briefing | slides | video | other
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("url", sa.Text),  # a link, or NULL for a file
    sa.Column("filename", sa.Text),
    sa.Column("media_type", sa.Text),
    sa.Column("size", sa.Integer, nullable=False, server_default="0"),
    sa.Column("sha256", sa.Text, nullable=False),
    sa.Column("content", sa.LargeBinary),  # a file's bytes (at most domain.programme.MAX_DOCUMENT_BYTES)
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column("removed_at", sa.DateTime(timezone=True)),  # the bytes are dropped, the checksum kept
)

witness_requests = sa.Table(
    "witness_requests",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("assembly_id", UUID(as_uuid=True), nullable=False, index=True),
    sa.Column("member_id", UUID(as_uuid=True), nullable=False),  # pseudonymous; never shown to staff
    sa.Column("session_id", UUID(as_uuid=True), sa.ForeignKey("sessions.id")),
    sa.Column("wanted", sa.Text, nullable=False),  # whom or what expertise
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False, server_default="open"),  # open | accepted | declined
    sa.Column("answer", sa.Text, nullable=False, server_default=""),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column("answered_at", sa.DateTime(timezone=True)),
)
