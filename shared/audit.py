"""The audit trail: per service and per assembly, an append-only hash chain of every state change
of consequence (who, what, when, on which assembly, with the correlation id).

Each entry's hash covers its fields and the previous entry's hash, so changing, removing or
reordering any entry breaks the chain from there on. The table refuses UPDATE and DELETE (a
trigger, see the services' migrations). `GET /assemblies/{id}/audit` exports one assembly's chain;
`borgerting audit verify EXPORT` checks it and names the first altered entry.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID

GENESIS = "0" * 64
FORMAT = "borgerting-audit-v1"


def audit_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "audit",
        metadata,
        sa.Column("assembly_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("seq", sa.BigInteger, primary_key=True),
        sa.Column("at", sa.Text, nullable=False),  # ISO 8601 UTC, hashed exactly as stored
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("object_id", sa.Text),
        sa.Column("details", JSONB, nullable=False),
        sa.Column("correlation_id", sa.Text),
        sa.Column("prev_hash", sa.Text, nullable=False),
        sa.Column("hash", sa.Text, nullable=False),
    )


def audit_heads_table(metadata: sa.MetaData) -> sa.Table:
    """Another service's copy of every trail's latest head (see shared.projections)."""
    return sa.Table(
        "audit_heads",
        metadata,
        sa.Column("assembly_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("service", sa.Text, primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.Text, nullable=False),
    )


async def heads(session, heads_table: sa.Table, assembly_id: uuid.UUID, own: sa.Table | None = None) -> dict:
    """{service: {"seq", "hash"}} for an assembly: the heads heard of, and the service's own head
    read from its own trail (`own`), which is newer than the event about it."""
    rows = (await session.execute(sa.select(heads_table).where(heads_table.c.assembly_id == assembly_id))).all()
    out = {r.service: {"seq": r.seq, "hash": r.hash} for r in rows}
    if own is not None:
        last = (await session.execute(sa.select(own.c.seq, own.c.hash).where(own.c.assembly_id == assembly_id)
                                      .order_by(own.c.seq.desc()).limit(1))).first()
        if last is not None:
            out[own.schema] = {"seq": last.seq, "hash": last.hash}
    return dict(sorted(out.items()))


def entry_hash(entry: dict[str, Any]) -> str:
    body = {k: entry.get(k) for k in ("assembly_id", "seq", "at", "actor", "action", "object_id", "details",
                                       "correlation_id", "prev_hash")}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


async def append(session, table: sa.Table, *, assembly_id: uuid.UUID, actor: str, action: str,
                 object_id: Any = None, details: dict | None = None, correlation_id: str | None = None) -> dict:
    """Add one entry to the assembly's chain, inside the caller's transaction."""
    await session.execute(sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
                          {"k": f"{table.schema}.audit.{assembly_id}"})
    last = (await session.execute(
        sa.select(table.c.seq, table.c.hash).where(table.c.assembly_id == assembly_id)
        .order_by(table.c.seq.desc()).limit(1))).first()
    entry = {
        "assembly_id": str(assembly_id),
        "seq": (last.seq + 1) if last else 1,
        "at": datetime.now(timezone.utc).isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "object_id": None if object_id is None else str(object_id),
        "details": json.loads(json.dumps(details or {}, default=str)),
        "correlation_id": correlation_id,
        "prev_hash": last.hash if last else GENESIS,
    }
    entry["hash"] = entry_hash(entry)
    await session.execute(sa.insert(table).values(**{**entry, "assembly_id": assembly_id}))
    return entry


async def export(session, table: sa.Table, service: str, assembly_id: uuid.UUID) -> dict:
    rows = (await session.execute(
        sa.select(table).where(table.c.assembly_id == assembly_id).order_by(table.c.seq))).mappings().all()
    entries = [{**dict(r), "assembly_id": str(r["assembly_id"])} for r in rows]
    return {"format": FORMAT, "service": service, "assembly_id": str(assembly_id), "entries": entries,
            "head": entries[-1]["hash"] if entries else GENESIS}


def parse_head(text: str) -> tuple[int | None, str]:
    """`SEQ:HASH` (a head published at entry SEQ) or `HASH` (the export's own head)."""
    seq, _, h = text.strip().rpartition(":")
    h = h.lower()
    if len(h) != 64 or any(c not in "0123456789abcdef" for c in h):
        raise ValueError(f"{text!r} is not SEQ:HASH or HASH (a 64-digit hex sha256)")
    if not seq:
        return None, h
    if not seq.isdigit() or int(seq) < 1:
        raise ValueError(f"{text!r}: SEQ must be a positive entry number")
    return int(seq), h


def anchored_heads(doc: Any, service: str, assembly_id: str) -> list[tuple[int, str]]:
    """Heads of `service`'s trail of `assembly_id` published in a report summary (`anchors.audit_heads`)
    or signed into a voting board's checkpoints (export or board page), oldest first."""
    found: list[tuple[int, str]] = []
    if not isinstance(doc, dict):
        return found
    if doc.get("assembly_id") == assembly_id:
        anchors = doc.get("anchors") if isinstance(doc.get("anchors"), dict) else {}
        h = (anchors.get("audit_heads") or {}).get(service)
        if isinstance(h, dict):
            found.append((h.get("seq"), h.get("hash")))
    if doc.get("board_id") == f"assembly-{assembly_id}":
        for cp in doc.get("checkpoints") or []:
            h = ((cp or {}).get("audit_heads") or {}).get(service) if isinstance(cp, dict) else None
            if isinstance(h, dict):
                found.append((h.get("seq"), h.get("hash")))
    return sorted((s, h) for s, h in found if isinstance(s, int) and isinstance(h, str))


def verify(doc: dict, expected: list[tuple[int | None, str]] = ()) -> list[str]:
    """Problems in an exported chain, first problem first; [] if it verifies. `expected`: heads
    published outside the service, (seq, hash) or (None, hash) for the export's own head; the
    chain must reach each of them (a chain rewritten after a head was published does not)."""
    if doc.get("format") != FORMAT:
        return [f"not an audit export (format {doc.get('format')!r}, expected {FORMAT!r})"]
    prev = GENESIS
    for i, e in enumerate(doc.get("entries", []), start=1):
        name = f"entry {i} (seq {e.get('seq')}, {e.get('action')!r})"
        if e.get("seq") != i:
            return [f"{name}: expected seq {i} — an entry before it was removed or reordered"]
        if e.get("assembly_id") != doc.get("assembly_id"):
            return [f"{name}: belongs to another assembly"]
        if e.get("prev_hash") != prev:
            return [f"{name}: does not follow the entry before it (prev_hash mismatch) — an entry was removed or changed"]
        if entry_hash(e) != e.get("hash"):
            return [f"{name} was altered: its content does not match its hash"]
        prev = e["hash"]
    if doc.get("head") != prev:
        return [f"the export's head {str(doc.get('head'))[:16]}… is not the last entry's hash — entries were cut off"]
    entries = doc.get("entries", [])
    for seq, h in expected:
        if seq is None:
            if prev != h:
                return [f"the trail's head {prev[:16]}… is not the expected head {h[:16]}…"]
        elif seq > len(entries):
            return [f"the published head is entry {seq} but the trail ends at entry {len(entries)} — entries were "
                    "removed after the head was published"]
        elif entries[seq - 1]["hash"] != h:
            return [f"entry {seq} is not the published head {h[:16]}… — the trail was rewritten after its head "
                    "was published"]
    return []
