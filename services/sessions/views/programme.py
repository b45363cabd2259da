"""Reads of the programme: a session with its venues and agenda (speakers, documents' metadata),
an assembly's whole programme, its experts and stakeholders, members' witness requests, and one
document's bytes for download."""

from __future__ import annotations

import uuid
from collections import defaultdict

import sqlalchemy as sa

from services.sessions import models as m
from services.sessions.domain.programme import hours_by_phase
from services.sessions.models import programme as p
from services.sessions.models.tables import member_strata
from shared.bus.outbox import Tx
from shared.db import load_or_404
from shared.problems import not_found

DOCUMENT_META = [p.documents.c[c] for c in ("id", "item_id", "kind", "title", "url", "filename", "media_type", "size",
                                            "sha256", "created_at")]


async def load_item(tx: Tx, item_id: uuid.UUID, *, lock: bool = False):
    """An agenda item that has not been removed, or not found."""
    q = sa.select(p.agenda_items).where(p.agenda_items.c.id == item_id, p.agenda_items.c.removed_at.is_(None))
    row = (await tx.session.execute(q.with_for_update() if lock else q)).first()
    if row is None:
        raise not_found("agenda item")
    return row


async def load_expert(tx: Tx, expert_id: uuid.UUID):
    return await load_or_404(tx, p.experts, "expert", id=expert_id)


async def load_witness_request(tx: Tx, request_id: uuid.UUID, *, lock: bool = False):
    return await load_or_404(tx, p.witness_requests, "witness request", lock=lock, id=request_id)


async def load_document(tx: Tx, document_id: uuid.UUID, *, content: bool = False):
    """A document's metadata (and with `content` its bytes), or not found."""
    cols = [*DOCUMENT_META, p.documents.c.assembly_id] + ([p.documents.c.content] if content else [])
    row = (await tx.session.execute(sa.select(*cols).where(p.documents.c.id == document_id,
                                                           p.documents.c.removed_at.is_(None)))).first()
    if row is None:
        raise not_found("document")
    return row


def _session_dict(s) -> dict:
    return {"id": s.id, "assembly_id": s.assembly_id, "title": s.title, "starts_at": s.starts_at, "mode": s.mode,
            "phase": s.phase, "duration_hours": s.duration_hours, "held": s.held_at is not None,
            "online_url": None, "capacity": None, "revision": 0, "published_at": None, "venues": [], "items": []}


async def _programmes(tx: Tx, rows) -> list[dict]:
    """Sessions (rows of m.sessions) with their settings, venues and agenda, in the given order."""
    out = {s.id: _session_dict(s) for s in rows}
    ids = list(out)
    if not ids:
        return []
    for r in (await tx.session.execute(sa.select(p.session_settings).where(p.session_settings.c.session_id.in_(ids)))):
        out[r.session_id].update(online_url=r.online_url, capacity=r.capacity, revision=r.revision,
                                 published_at=r.published_at)
    for r in (await tx.session.execute(sa.select(p.venues).where(p.venues.c.session_id.in_(ids))
                                       .order_by(p.venues.c.session_id, p.venues.c.position))):
        out[r.session_id]["venues"].append({"region": r.region, "venue": r.venue})
    items = (await tx.session.execute(sa.select(p.agenda_items).where(p.agenda_items.c.session_id.in_(ids),
                                                                      p.agenda_items.c.removed_at.is_(None))
                                      .order_by(p.agenda_items.c.session_id, p.agenda_items.c.position))).all()
    item_ids = [i.id for i in items]
    speakers, docs = defaultdict(list), defaultdict(list)
    if item_ids:
        q = (sa.select(p.item_speakers.c.item_id, p.experts).join(p.experts, p.experts.c.id == p.item_speakers.c.expert_id)
             .where(p.item_speakers.c.item_id.in_(item_ids)).order_by(p.experts.c.name))
        for r in await tx.session.execute(q):
            speakers[r.item_id].append({"id": r.id, "name": r.name, "affiliation": r.affiliation, "kind": r.kind})
        q = (sa.select(*DOCUMENT_META).where(p.documents.c.item_id.in_(item_ids), p.documents.c.removed_at.is_(None))
             .order_by(p.documents.c.created_at))
        for r in await tx.session.execute(q):
            docs[r.item_id].append(dict(r._mapping))
    for i in items:
        out[i.session_id]["items"].append({"id": i.id, "session_id": i.session_id, "position": i.position,
                                           "phase": i.phase, "title": i.title, "minutes": i.minutes,
                                           "description": i.description, "speakers": speakers[i.id],
                                           "documents": docs[i.id]})
    return list(out.values())


async def session_programme(tx: Tx, session_id: uuid.UUID) -> dict:
    s = await load_or_404(tx, m.sessions, "session", id=session_id)
    return (await _programmes(tx, [s]))[0]


async def assembly_programme(tx: Tx, assembly_id: uuid.UUID) -> list[dict]:
    rows = (await tx.session.execute(sa.select(m.sessions).where(m.sessions.c.assembly_id == assembly_id)
                                     .order_by(m.sessions.c.starts_at))).all()
    return await _programmes(tx, rows)


def programme_hours(sessions: list[dict]) -> dict[str, float]:
    """Hours on the agenda per phase, over the given sessions."""
    return hours_by_phase((i["phase"], i["minutes"]) for s in sessions for i in s["items"])


async def experts(tx: Tx, assembly_id: uuid.UUID) -> list[dict]:
    """The assembly's experts and stakeholders by name, each with the items they speak at."""
    rows = (await tx.session.execute(sa.select(p.experts).where(p.experts.c.assembly_id == assembly_id)
                                     .order_by(p.experts.c.kind, p.experts.c.name))).all()
    heard = defaultdict(list)
    q = (sa.select(p.item_speakers.c.expert_id, p.agenda_items.c.id, p.agenda_items.c.title,
                   m.sessions.c.id.label("session_id"), m.sessions.c.title.label("session_title"), m.sessions.c.starts_at)
         .join(p.agenda_items, p.agenda_items.c.id == p.item_speakers.c.item_id)
         .join(m.sessions, m.sessions.c.id == p.agenda_items.c.session_id)
         .where(p.agenda_items.c.assembly_id == assembly_id, p.agenda_items.c.removed_at.is_(None))
         .order_by(m.sessions.c.starts_at, p.agenda_items.c.position))
    for r in await tx.session.execute(q):
        heard[r.expert_id].append({"item_id": r.id, "title": r.title, "session_id": r.session_id,
                                   "session_title": r.session_title})
    return [{"id": e.id, "kind": e.kind, "name": e.name, "affiliation": e.affiliation, "interests": e.interests,
             "items": heard[e.id]} for e in rows]


async def expert_ids(tx: Tx, assembly_id: uuid.UUID) -> set[uuid.UUID]:
    rows = await tx.session.execute(sa.select(p.experts.c.id).where(p.experts.c.assembly_id == assembly_id))
    return {r[0] for r in rows}


def _request_dict(r) -> dict:
    return {"id": r.id, "session_id": r.session_id, "wanted": r.wanted, "reason": r.reason, "status": r.status,
            "answer": r.answer, "created_at": r.created_at, "answered_at": r.answered_at}


async def witness_requests(tx: Tx, assembly_id: uuid.UUID, *, member_id: uuid.UUID | None = None) -> list[dict]:
    """Members' requests for a witness, open ones first, newest first (without who asked; with
    `member_id`, only that member's own)."""
    q = sa.select(p.witness_requests).where(p.witness_requests.c.assembly_id == assembly_id)
    if member_id is not None:
        q = q.where(p.witness_requests.c.member_id == member_id)
    q = q.order_by((p.witness_requests.c.status != "open"), p.witness_requests.c.created_at.desc())
    return [_request_dict(r) for r in await tx.session.execute(q)]


async def member_region(tx: Tx, assembly_id: uuid.UUID, member_id: uuid.UUID | None) -> str | None:
    """The region a member registered in (recruitment's respondent-registered), if sessions has it."""
    if member_id is None:
        return None
    features = (await tx.session.execute(sa.select(member_strata.c.features).where(
        member_strata.c.assembly_id == assembly_id, member_strata.c.member_id == member_id))).scalar()
    return (features or {}).get("region")


async def known_regions(tx: Tx, assembly_id: uuid.UUID) -> list[str]:
    """The regions the assembly's registered people live in (as recruitment names them)."""
    rows = await tx.session.execute(sa.select(member_strata.c.features["region"].astext).distinct()
                                    .where(member_strata.c.assembly_id == assembly_id))
    return sorted(r[0] for r in rows if r[0])
