"""Table plans' writes, one transaction each: members' strata from recruitment's
respondent-registered, the seating needs staff set, making (and re-making at live check-in) a
session's plan, and publishing it (table-plan-published: pseudonymous ids only)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import asdict
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.sessions.domain.tables import TableMember, TableRules, plan_figures, plan_tables
from services.sessions.models import tables as mt
from services.sessions.views import active_roster, attendance_marks, load_session
from services.sessions.views.tables import load_plan, needs_of, strata_of
from shared.bus.outbox import Tx
from shared.events import contracts as ev
from shared.events.envelope import Envelope
from shared.problems import InvalidInput, conflict, invalid, not_found


async def on_respondent_registered(tx: Tx, event: Envelope, p: ev.RespondentRegisteredV1) -> None:
    features = {"region": p.region, **p.features}
    stmt = pg_insert(mt.member_strata).values(assembly_id=p.assembly_id, member_id=p.respondent_id, features=features)
    await tx.session.execute(stmt.on_conflict_do_update(index_elements=["assembly_id", "member_id"],
                                                        set_={"features": features}))


HANDLERS = {"recruitment.respondent-registered.v1": on_respondent_registered}


async def set_needs(tx: Tx, assembly_id: uuid.UUID, needs: dict[uuid.UUID, tuple[str | None, bool]]) -> int:
    """Replace the assembly's seating needs (members without a need are left out)."""
    roster = await active_roster(tx, assembly_id)
    unknown = [mid for mid in needs if mid not in roster]
    if unknown:
        raise invalid(f"{len(unknown)} member id(s) are not on this assembly's roster",
                      [{"field": "needs.member_id", "problem": f"{u} is not a panel member"} for u in unknown[:20]])
    await tx.session.execute(sa.delete(mt.table_needs).where(mt.table_needs.c.assembly_id == assembly_id))
    rows = [{"assembly_id": assembly_id, "member_id": mid, "language": lang, "accessible": acc}
            for mid, (lang, acc) in needs.items() if lang or acc]
    if rows:
        await tx.session.execute(sa.insert(mt.table_needs).values(rows))
    # The audit says how many, never who needs what (accessibility can be health data).
    await tx.audit("table-needs.set", assembly_id, details={"members": len(rows)})
    return len(rows)


async def make_plan(tx: Tx, session_id: uuid.UUID, *, rounds: int, table_size: int, min_size: int, max_size: int,
                    facilitators: int | None, accessible_tables: int | None, seat: str, seed: int,
                    keep_apart: list[tuple[uuid.UUID, uuid.UUID]], priority: str = "no_repeats") -> dict:
    """Plan (or re-plan) a session's tables for the members checked in (`seat="checked_in"`, the
    attendance marks so far) or the whole roster; the plan is stored, not yet published.
    `priority`: "no_repeats" (as few repeat meetings as possible) or "mix" (the tables' mix first)."""
    s = await load_session(tx, session_id, lock=True)
    if s.held_at is not None:
        raise conflict("this session is closed; its table plan can no longer change", code="session_held")
    roster = await active_roster(tx, s.assembly_id)
    if not roster:
        raise conflict("the assembly has no panel yet; draw the panel before planning tables", code="no_panel")
    if seat == "checked_in":
        marks = await attendance_marks(tx, session_id)
        present = {mid for mid in roster if marks.get(mid) is True}
        if not present:
            raise InvalidInput("nobody is checked in to this session yet: check members in, or plan for the whole "
                               "roster", code="nobody_checked_in",
                               details=[{"field": "seat", "problem": "no member is checked in"}])
    else:
        present = set(roster)
    strata = await strata_of(tx, s.assembly_id, present)
    needs = await needs_of(tx, s.assembly_id)
    members = [TableMember(id=str(mid), strata=strata.get(mid, {}), language=needs.get(mid, (None, False))[0],
                           accessible=needs.get(mid, (None, False))[1]) for mid in present]
    rules = TableRules(rounds=rounds, table_size=table_size, min_size=min_size, max_size=max_size,
                       facilitators=facilitators, accessible_tables=accessible_tables, seed=seed,
                       keep_apart=tuple((str(a), str(b)) for a, b in keep_apart), priority=priority)
    # The search takes up to ~2 s of CPU: off the event loop, so other requests go on meanwhile.
    plan = await asyncio.to_thread(plan_tables, members, rules)
    rounds_ = [[list(t) for t in tables] for tables in plan.rounds]
    figures = asdict(plan_figures(rounds_, {m.id: m.strata for m in members}, {m.id: m.language for m in members}))
    settings = {"rounds": rounds, "table_size": table_size, "min_size": min_size, "max_size": max_size,
                "facilitators": facilitators, "accessible_tables": accessible_tables, "seat": seat, "seed": seed,
                "priority": priority, "keep_apart": [[str(a), str(b)] for a, b in keep_apart]}
    old = await load_plan(tx, session_id, lock=True)
    version = (old.version + 1) if old else 1
    values = {"version": version, "settings": settings, "rounds": rounds_, "figures": figures,
              "made_at": datetime.now(timezone.utc)}
    if old:
        await tx.session.execute(sa.update(mt.table_plans).where(mt.table_plans.c.session_id == session_id)
                                 .values(**values))
        plan_id = old.plan_id
    else:
        plan_id = uuid.uuid4()
        await tx.session.execute(sa.insert(mt.table_plans).values(session_id=session_id, plan_id=plan_id,
                                                                  assembly_id=s.assembly_id, **values))
    await tx.audit("table-plan.made", s.assembly_id, object_id=session_id, details={
        "version": version, "seated": len(members), "tables": figures["tables"], "rounds": rounds, "seat": seat,
        "repeats": figures["repeats"], "mean_deviation": round(figures["mean_deviation"], 4)})
    return {"plan_id": plan_id, "version": version, "seated": len(members), **figures}


async def publish_plan(tx: Tx, session_id: uuid.UUID) -> dict:
    """Publish the session's current plan to facilitators and members (table-plan-published)."""
    s = await load_session(tx, session_id)
    row = await load_plan(tx, session_id, lock=True)
    if row is None:
        raise not_found("table plan (make one first)")
    if row.published_version == row.version:
        raise conflict(f"version {row.version} of this plan is already published", code="plan_published")
    now = datetime.now(timezone.utc)
    await tx.session.execute(sa.update(mt.table_plans).where(mt.table_plans.c.session_id == session_id).values(
        published_version=row.version, published_rounds=row.rounds, published_at=now))
    f = row.figures
    await tx.emit(ev.TablePlanPublishedV1(
        assembly_id=s.assembly_id, session_id=session_id, plan_id=row.plan_id, version=row.version,
        rounds=[[[uuid.UUID(i) for i in table] for table in tables] for tables in row.rounds],
        unique_pairs=f["unique_pairs"], repeats=f["repeats"], mean_deviation=f["mean_deviation"],
        worst_deviation=f["worst_deviation"]), subject=s.assembly_id)
    await tx.audit("table-plan.published", s.assembly_id, object_id=session_id, details={"version": row.version})
    return {"plan_id": row.plan_id, "version": row.version, "published_at": now}
