"""The programme's writes, one transaction each: where a session is held (venues, online link,
capacity), its agenda items, the experts and stakeholders, documents on items, members' witness
requests and their answers, and publishing a session's programme (`session-scheduled` v2)."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.sessions.domain import programme as rules
from services.sessions.handlers import schedule
from services.sessions import models as m
from services.sessions.models import programme as p
from services.sessions.views import load_session
from services.sessions.views import programme as pv
from shared.bus.outbox import Tx
from shared.events import contracts as ev
from shared.problems import conflict, invalid


async def _open_session(tx: Tx, session_id: uuid.UUID):
    s = await load_session(tx, session_id, lock=True)
    if s.held_at is not None:
        raise conflict("this session was held: its programme is the record and can no longer change", code="session_held")
    return s


async def set_setting(tx: Tx, session_id: uuid.UUID, *, venues: list[tuple[str, str]], online_url: str | None,
                      capacity: int | None) -> None:
    """Replace where the session is held and for how many."""
    s = await _open_session(tx, session_id)
    online_url = rules.web_link(online_url, "online_url") if online_url else None
    rules.check_venues(s.mode, venues, online_url)
    values = {"online_url": online_url, "capacity": capacity}
    await tx.session.execute(
        pg_insert(p.session_settings).values(session_id=session_id, **values)
        .on_conflict_do_update(index_elements=["session_id"], set_=values))
    await tx.session.execute(sa.delete(p.venues).where(p.venues.c.session_id == session_id))
    if venues:
        await tx.session.execute(sa.insert(p.venues), [
            {"session_id": session_id, "position": i, "region": r, "venue": v} for i, (r, v) in enumerate(venues, 1)])
    await tx.audit("session.setting", s.assembly_id, object_id=session_id,
                   details={"venues": len(venues), "online": online_url is not None, "capacity": capacity})


async def reschedule(tx: Tx, session_id: uuid.UUID, *, starts_at: datetime, duration_hours: float) -> None:
    """Move a session (its date, start time, duration): `session-scheduled` v1 says it again with
    the new time, so that every consumer (reporting, voting, recruitment's stipends) keeps it; a
    published programme shows it at once (members' portal) and in the next `session-scheduled` v2."""
    s = await _open_session(tx, session_id)
    if s.starts_at == starts_at and s.duration_hours == duration_hours:
        return
    await tx.session.execute(sa.update(m.sessions).where(m.sessions.c.id == session_id)
                             .values(starts_at=starts_at, duration_hours=duration_hours))
    await tx.emit(ev.SessionScheduledV1(assembly_id=s.assembly_id, session_id=session_id, title=s.title,
                                        starts_at=starts_at, mode=s.mode, phase=s.phase,
                                        duration_hours=duration_hours), subject=s.assembly_id)
    await tx.audit("session.rescheduled", s.assembly_id, object_id=session_id, details={
        "from": s.starts_at.isoformat(), "to": starts_at.isoformat(), "duration_hours": duration_hours})


async def schedule_session(tx: Tx, assembly_id: uuid.UUID, *, venues: list[tuple[str, str]], online_url: str | None,
                           capacity: int | None, **session) -> uuid.UUID:
    """Schedule a session (v1, as before) with where it is held, in one transaction."""
    session_id = await schedule(tx, assembly_id, **session)
    await set_setting(tx, session_id, venues=venues, online_url=online_url, capacity=capacity)
    return session_id


async def _check_speakers(tx: Tx, assembly_id: uuid.UUID, speaker_ids: list[uuid.UUID]) -> list[uuid.UUID]:
    known = await pv.expert_ids(tx, assembly_id)
    unknown = [x for x in speaker_ids if x not in known]
    if unknown:
        raise invalid(f"{len(unknown)} speaker(s) are not experts or stakeholders of this assembly; add them first",
                      [{"field": "speaker_ids", "problem": f"{x} is not an expert of this assembly"} for x in unknown])
    return list(dict.fromkeys(speaker_ids))


async def _renumber(tx: Tx, session_id: uuid.UUID, order: list[uuid.UUID]) -> None:
    for i, item_id in enumerate(order, 1):
        await tx.session.execute(sa.update(p.agenda_items).where(p.agenda_items.c.id == item_id).values(position=i))


async def _order(tx: Tx, session_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await tx.session.execute(sa.select(p.agenda_items.c.id).where(p.agenda_items.c.session_id == session_id,
                                                                         p.agenda_items.c.removed_at.is_(None))
                                    .order_by(p.agenda_items.c.position))
    return [r[0] for r in rows]


async def _set_speakers(tx: Tx, item_id: uuid.UUID, speaker_ids: list[uuid.UUID]) -> None:
    await tx.session.execute(sa.delete(p.item_speakers).where(p.item_speakers.c.item_id == item_id))
    if speaker_ids:
        await tx.session.execute(sa.insert(p.item_speakers), [{"item_id": item_id, "expert_id": x} for x in speaker_ids])


async def add_item(tx: Tx, session_id: uuid.UUID, *, phase: str, title: str, minutes: int, description: str = "",
                   speaker_ids: list[uuid.UUID] = ()) -> uuid.UUID:
    """A new item at the end of the session's agenda."""
    s = await _open_session(tx, session_id)
    speakers = await _check_speakers(tx, s.assembly_id, list(speaker_ids))
    item_id = uuid.uuid4()
    order = await _order(tx, session_id)
    await tx.session.execute(sa.insert(p.agenda_items).values(
        id=item_id, assembly_id=s.assembly_id, session_id=session_id, position=len(order) + 1, phase=phase,
        title=title, minutes=minutes, description=description))
    await _set_speakers(tx, item_id, speakers)
    await tx.audit("agenda.item_added", s.assembly_id, object_id=item_id,
                   details={"session_id": str(session_id), "phase": phase, "minutes": minutes, "speakers": len(speakers)})
    return item_id


async def update_item(tx: Tx, item_id: uuid.UUID, *, phase: str, title: str, minutes: int, description: str = "",
                      speaker_ids: list[uuid.UUID] = (), position: int | None = None) -> None:
    item = await pv.load_item(tx, item_id, lock=True)
    await _open_session(tx, item.session_id)
    speakers = await _check_speakers(tx, item.assembly_id, list(speaker_ids))
    await tx.session.execute(sa.update(p.agenda_items).where(p.agenda_items.c.id == item_id).values(
        phase=phase, title=title, minutes=minutes, description=description))
    await _set_speakers(tx, item_id, speakers)
    if position is not None and position != item.position:
        order = [x for x in await _order(tx, item.session_id) if x != item_id]
        order.insert(max(0, min(position - 1, len(order))), item_id)
        await _renumber(tx, item.session_id, order)
    await tx.audit("agenda.item_changed", item.assembly_id, object_id=item_id,
                   details={"phase": phase, "minutes": minutes, "speakers": len(speakers)})


async def delete_item(tx: Tx, item_id: uuid.UUID) -> uuid.UUID:
    """Remove an item with its documents (kept for the record, without the files' bytes); the items
    after it move up. Returns its session."""
    item = await pv.load_item(tx, item_id, lock=True)
    await _open_session(tx, item.session_id)
    now = datetime.now(timezone.utc)
    await tx.session.execute(sa.update(p.agenda_items).where(p.agenda_items.c.id == item_id).values(removed_at=now))
    await tx.session.execute(sa.update(p.documents).where(p.documents.c.item_id == item_id,
                                                          p.documents.c.removed_at.is_(None))
                             .values(removed_at=now, content=None))
    await _renumber(tx, item.session_id, await _order(tx, item.session_id))
    await tx.audit("agenda.item_removed", item.assembly_id, object_id=item_id,
                   details={"session_id": str(item.session_id)})
    return item.session_id


async def add_expert(tx: Tx, assembly_id: uuid.UUID, *, kind: str, name: str, affiliation: str,
                     interests: str) -> uuid.UUID:
    expert_id = uuid.uuid4()
    await tx.session.execute(sa.insert(p.experts).values(id=expert_id, assembly_id=assembly_id, kind=kind, name=name,
                                                         affiliation=affiliation, interests=interests))
    await tx.audit("expert.added", assembly_id, object_id=expert_id, details={"kind": kind})
    return expert_id


async def update_expert(tx: Tx, expert_id: uuid.UUID, *, kind: str, name: str, affiliation: str,
                        interests: str) -> None:
    e = await pv.load_expert(tx, expert_id)
    await tx.session.execute(sa.update(p.experts).where(p.experts.c.id == expert_id).values(
        kind=kind, name=name, affiliation=affiliation, interests=interests))
    await tx.audit("expert.changed", e.assembly_id, object_id=expert_id, details={"kind": kind})


async def add_document(tx: Tx, item_id: uuid.UUID, *, kind: str, title: str, url: str | None = None,
                       filename: str | None = None, content: bytes | None = None) -> tuple[uuid.UUID, str]:
    """A link (url) or a file (filename + content) on an agenda item; (id, sha256)."""
    item = await pv.load_item(tx, item_id)
    if (url is None) == (content is None):
        raise invalid("give either a link or a file, not both and not neither",
                      [{"field": "url", "problem": "a link or a file"}])
    if url is not None:
        url = rules.web_link(url)
        values = {"url": url, "size": 0, "sha256": rules.link_checksum(url, title, kind)}
    else:
        rules.check_document_size(len(content))
        name = rules.safe_filename(filename or "")
        values = {"filename": name, "media_type": rules.media_type(name), "size": len(content),
                  "sha256": rules.file_checksum(content), "content": content}
    document_id = uuid.uuid4()
    await tx.session.execute(sa.insert(p.documents).values(id=document_id, assembly_id=item.assembly_id,
                                                           item_id=item_id, kind=kind, title=title, **values))
    await tx.audit("document.added", item.assembly_id, object_id=document_id,
                   details={"item_id": str(item_id), "kind": kind, "sha256": values["sha256"], "size": values["size"]})
    return document_id, values["sha256"]


async def delete_document(tx: Tx, document_id: uuid.UUID) -> uuid.UUID:
    """Remove a document; returns its item's session."""
    d = await pv.load_document(tx, document_id)
    item = await pv.load_item(tx, d.item_id)
    await tx.session.execute(sa.update(p.documents).where(p.documents.c.id == document_id)
                             .values(removed_at=datetime.now(timezone.utc), content=None))
    await tx.audit("document.removed", d.assembly_id, object_id=document_id, details={"sha256": d.sha256})
    return item.session_id


async def request_witness(tx: Tx, assembly_id: uuid.UUID, member_id: uuid.UUID, *, wanted: str, reason: str,
                          session_id: uuid.UUID | None = None) -> uuid.UUID:
    if session_id is not None:
        s = await load_session(tx, session_id)
        if s.assembly_id != assembly_id:
            raise invalid("the session is not one of this assembly's", [{"field": "session_id", "problem": "unknown"}])
    request_id = uuid.uuid4()
    await tx.session.execute(sa.insert(p.witness_requests).values(
        id=request_id, assembly_id=assembly_id, member_id=member_id, session_id=session_id, wanted=wanted,
        reason=reason))
    await tx.audit("witness.requested", assembly_id, object_id=request_id)
    return request_id


async def answer_witness(tx: Tx, request_id: uuid.UUID, *, status: str, answer: str) -> uuid.UUID:
    """Accept or decline a request, with a note to the member; returns its assembly."""
    r = await pv.load_witness_request(tx, request_id, lock=True)
    rules.check_answerable(r.status)
    await tx.session.execute(sa.update(p.witness_requests).where(p.witness_requests.c.id == request_id).values(
        status=status, answer=answer, answered_at=datetime.now(timezone.utc)))
    await tx.audit("witness.answered", r.assembly_id, object_id=request_id, details={"status": status})
    return r.assembly_id


async def publish(tx: Tx, session_id: uuid.UUID) -> int:
    """Publish the session's programme as it stands: `session-scheduled` v2 with the next revision."""
    s = await load_session(tx, session_id, lock=True)
    prog = await pv.session_programme(tx, session_id)
    if not prog["items"]:
        raise conflict("the agenda is empty: add at least one item before publishing the programme",
                       code="agenda_empty")
    revision = prog["revision"] + 1
    now = datetime.now(timezone.utc)
    await tx.session.execute(
        pg_insert(p.session_settings).values(session_id=session_id, revision=revision,
                                                                 published_at=now)
        .on_conflict_do_update(index_elements=["session_id"], set_={"revision": revision, "published_at": now}))
    await tx.emit(ev.SessionScheduledV2(
        assembly_id=s.assembly_id, session_id=session_id, revision=revision, title=s.title, starts_at=s.starts_at,
        mode=s.mode, phase=s.phase, duration_hours=s.duration_hours,
        venues=[ev.VenueV2(**v) for v in prog["venues"]], online=prog["online_url"] is not None,
        capacity=prog["capacity"],
        items=[ev.AgendaItemV2(
            item_id=i["id"], position=i["position"], phase=i["phase"], title=i["title"], minutes=i["minutes"],
            speakers=[ev.SpeakerV2(expert_id=x["id"], name=x["name"], affiliation=x["affiliation"], kind=x["kind"])
                      for x in i["speakers"]],
            documents=[ev.DocumentRefV2(document_id=d["id"], title=d["title"], kind=d["kind"], sha256=d["sha256"])
                       for d in i["documents"]]) for i in prog["items"]]), subject=s.assembly_id)
    await tx.audit("programme.published", s.assembly_id, object_id=session_id,
                   details={"revision": revision, "items": len(prog["items"])})
    return revision


