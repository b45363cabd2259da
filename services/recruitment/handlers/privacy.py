"""Personal data over time (writes): the retention schedule's start dates from sortition's and
reporting's events, the retention job that erases (crypto-shreds) people when their time is up,
and a person's right-of-access export. docs/privacy.md has the schedule."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
import structlog
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.recruitment import models as m
from services.recruitment import vault
from services.recruitment import views as v
from services.recruitment.domain.codes import code_hash, normalise
from shared.bus.outbox import Tx, transaction
from shared.events import contracts as ev
from shared.events.envelope import Envelope
from shared.problems import not_found

log = structlog.get_logger()


def _when(event: Envelope | None) -> datetime:
    return event.time if event is not None else datetime.now(timezone.utc)


async def _set_date(tx: Tx, assembly_id: uuid.UUID, column: str, at: datetime) -> None:
    """The first date counts: a redelivered or later event (a correction, a re-draw) never moves it."""
    stmt = pg_insert(m.privacy_dates).values(assembly_id=assembly_id, **{column: at})
    await tx.session.execute(stmt.on_conflict_do_update(
        index_elements=["assembly_id"],
        set_={column: sa.func.coalesce(getattr(m.privacy_dates.c, column), getattr(stmt.excluded, column))}))


def with_dates(handlers: dict) -> dict:
    """The service's event handlers plus the retention schedule's: the draw's date from
    panel-drawn (after the membership handler) and the handover's from report-published."""
    membership = handlers["sortition.panel-drawn.v1"]

    async def on_panel_drawn(tx: Tx, event: Envelope, p: ev.PanelDrawnV1) -> None:
        await membership(tx, event, p)
        await _set_date(tx, p.assembly_id, "drawn_at", _when(event))

    async def on_report_published(tx: Tx, event: Envelope, p) -> None:
        await _set_date(tx, p.assembly_id, "handed_over_at", _when(event))

    return {**handlers, "sortition.panel-drawn.v1": on_panel_drawn,
            "reporting.report-published.v1": on_report_published,
            "reporting.report-published.v2": on_report_published}


# ---- the retention job ---------------------------------------------------------------------------


def _selected(assembly_id: uuid.UUID):
    """The register entries of the panel's members (also those replaced since: they may still be
    owed a stipend until the handover)."""
    return (sa.select(m.invitations.c.register_entry_id)
            .join(m.respondents, m.respondents.c.invitation_id == m.invitations.c.id)
            .join(m.members, sa.and_(m.members.c.member_id == m.respondents.c.id,
                                     m.members.c.assembly_id == assembly_id)))


async def due(tx: Tx, now: datetime, unselected_days: int, member_days: int) -> list[tuple[uuid.UUID, str]]:
    """(assembly, reason) whose erasure is due: `unselected` once the draw is `unselected_days`
    old, `handover` once the handover is `member_days` old; only where someone is left to erase."""
    d = m.privacy_dates.c
    rows = (await tx.session.execute(sa.select(d.assembly_id, d.drawn_at, d.handed_over_at).where(sa.or_(
        d.drawn_at <= now - timedelta(days=unselected_days),
        d.handed_over_at <= now - timedelta(days=member_days))))).all()
    out = []
    for r in rows:
        if r.handed_over_at is not None and r.handed_over_at <= now - timedelta(days=member_days):
            out.append((r.assembly_id, "handover"))
        elif r.drawn_at is not None:
            out.append((r.assembly_id, "unselected"))
    return out


async def erase_due(tx: Tx, assembly_id: uuid.UUID, reason: str, *, dry_run: bool = False) -> int:
    """Erase one assembly's people whose time is up: after the handover everyone left, after the
    draw everyone of the register extract who is not on the panel."""
    await tx.session.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"retention:{assembly_id}"})
    q = sa.select(m.identities.c.entry_id).where(m.identities.c.assembly_id == assembly_id,
                                                 m.identities.c.erased_at.is_(None))
    if reason == "unselected":
        q = q.where(m.identities.c.entry_id.not_in(_selected(assembly_id)))
    ids = list((await tx.session.execute(q)).scalars().all())
    if dry_run:
        return len(ids)
    return await vault.erase(tx, assembly_id, ids, reason, actor="system:retention")


async def run_retention(sessionmaker, now: datetime, unselected_days: int, member_days: int, *,
                        dry_run: bool = False) -> list[dict]:
    """One pass of the retention job: each assembly due in its own transaction. Returns what was
    (or, dry, would be) erased: [{assembly_id, reason, count}] (counts only)."""
    async with transaction(sessionmaker, m.outbox, m.audit) as tx:
        todo = await due(tx, now, unselected_days, member_days)
    done = []
    for assembly_id, reason in todo:
        async with transaction(sessionmaker, m.outbox, m.audit) as tx:
            n = await erase_due(tx, assembly_id, reason, dry_run=dry_run)
        if n:
            done.append({"assembly_id": str(assembly_id), "reason": reason, "count": n})
            log.info("retention", assembly_id=str(assembly_id), reason=reason, erased=n, dry_run=dry_run)
    return done


async def retention_worker(rt, stop: asyncio.Event) -> None:
    """The periodic retention job of recruitment's consumer process (every
    retention_interval_seconds; several processes are safe: each erasure locks its assembly)."""
    s = rt.settings
    while not stop.is_set():
        try:
            await run_retention(rt.sessionmaker, datetime.now(timezone.utc), s.retention_unselected_days,
                                s.retention_member_days)
        except Exception as exc:  # a database hiccup: try again next round, do not kill the consumer
            log.warning("retention pass failed", error=type(exc).__name__)
        try:
            await asyncio.wait_for(stop.wait(), timeout=s.retention_interval_seconds)
        except asyncio.TimeoutError:
            pass


# ---- right of access: everything recruitment holds about one person ---------------------------


async def find_person(tx: Tx, assembly_id: uuid.UUID, *, code: str | None = None,
                      person_id: str | None = None) -> int:
    """The register entry of the person a letter's code (first letter or reminder) or a register
    id names; NotFound when there is none in this assembly."""
    await v.load_assembly(tx, assembly_id)
    if code is not None:
        norm = normalise(code)
        entry = None if norm is None else (await tx.session.execute(
            sa.select(m.invitations.c.register_entry_id)
            .where(m.invitations.c.assembly_id == assembly_id, v.code_matches(code_hash(norm))))).scalar()
    else:
        entry = (await tx.session.execute(sa.select(m.register_entries.c.id).where(
            m.register_entries.c.assembly_id == assembly_id,
            m.register_entries.c.person_key == vault.person_keys(assembly_id, [person_id or ""])[0]))).scalar()
    if entry is None:
        raise not_found("person with this code or register id in this assembly")
    return entry


def _iso(x) -> str | None:
    return x.isoformat() if x is not None else None


async def access_export(tx: Tx, assembly_id: uuid.UUID, entry_id: int, *, found_by: str) -> dict:
    """Everything recruitment holds about the person (their identity opened from the vault, or
    when it was erased; their letters, registration, panel seat and the audit entries about them),
    and an audit entry that says an export was made (how the person was found, nothing else)."""
    assembly = await v.load_assembly(tx, assembly_id)
    entry = (await tx.session.execute(sa.select(m.register_entries).where(m.register_entries.c.id == entry_id))).one()
    person = (await vault.read(tx, [entry_id]))[entry_id]
    erased = (await tx.session.execute(sa.select(m.identities.c.erased_at, m.identities.c.erasure)
                                       .where(m.identities.c.entry_id == entry_id))).first()
    inv, b = m.invitations.c, m.invitation_batches.c
    letters = (await tx.session.execute(
        sa.select(inv.id, inv.region, inv.used_at, inv.reminded_at, inv.undeliverable_at, inv.undeliverable_reason,
                  b.kind, b.created_at).join(m.invitation_batches, b.id == inv.batch_id)
        .where(inv.register_entry_id == entry_id).order_by(b.created_at))).all()
    resp = (await tx.session.execute(sa.select(m.respondents).where(
        m.respondents.c.invitation_id == sa.any_(sa.bindparam(None, [x.id for x in letters], type_=ARRAY(UUID(as_uuid=True))))
    ))).first() if letters else None
    member = code = None
    if resp is not None:
        member = (await tx.session.execute(sa.select(m.members).where(
            m.members.c.assembly_id == assembly_id, m.members.c.member_id == resp.id))).first()
        code = (await tx.session.execute(sa.select(m.member_codes.c.issued_at, m.member_codes.c.last_login_at)
                                         .where(m.member_codes.c.member_id == resp.id))).first()
    objects = [str(x.id) for x in letters] + ([str(resp.id)] if resp is not None else [])
    trail = (await tx.session.execute(
        sa.select(m.audit.c.seq, m.audit.c.at, m.audit.c.actor, m.audit.c.action, m.audit.c.details)
        .where(m.audit.c.assembly_id == assembly_id, m.audit.c.object_id.in_(objects))
        .order_by(m.audit.c.seq))).all() if objects else []
    await tx.audit("person.access-exported", assembly_id, object_id=str(resp.id) if resp is not None else None,
                   details={"found_by": found_by})
    return {
        "assembly": {"id": str(assembly_id), "name": assembly.name},
        "exported_at": datetime.now(timezone.utc).isoformat(),
        "identity": person.as_dict() if person is not None else None,
        "erased": {"at": _iso(erased.erased_at), "reason": erased.erasure} if person is None and erased else None,
        "register": {"region": entry.region, "age_band": entry.age_band, "gender": entry.gender,
                     "invited": entry.invited},
        "letters": [{"letter_id": str(x.id), "kind": x.kind, "sent_at": _iso(x.created_at), "region": x.region,
                     "reminded_at": _iso(x.reminded_at), "registered_at": _iso(x.used_at),
                     "returned_at": _iso(x.undeliverable_at), "returned_reason": x.undeliverable_reason}
                    for x in letters],
        "registration": None if resp is None else {
            "respondent_id": str(resp.id), "region": resp.region, "answers": resp.features,
            "attitudes": resp.attitudes, "questionnaire_version": resp.questionnaire_version,
            "consented_at": _iso(resp.consented_at), "withdrawn_at": _iso(resp.withdrawn_at)},
        "panel": None if member is None else {
            "member_id": str(member.member_id), "on_the_panel": member.active,
            "login_code_issued_at": _iso(code.issued_at) if code else None,
            "last_login_at": _iso(code.last_login_at) if code else None},
        "audit": [{"seq": x.seq, "at": x.at, "actor": x.actor if x.actor.startswith(("member:", "public", "system"))
                   else "staff", "action": x.action, "details": x.details} for x in trail],
    }
