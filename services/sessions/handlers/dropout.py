"""The drop-out rule's writes, one transaction each: the panel's quotas from recruitment's
assembly-created, when a replacement joined (sortition's replacement-drawn, beside the roster's own
handler), the assembly's rule, and the secretariat's confirmed replacement requests to sortition
(replacement-requested; sortition draws the replacement on the existing, verifiable path)."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.sessions.domain.dropout import MAX_MISSED_IN_A_ROW, dropouts
from services.sessions.handlers import HANDLERS as ROSTER_HANDLERS
from services.sessions.models import checkin as mc
from services.sessions.views import active_roster
from services.sessions.views.dropout import member_histories, requested, rule
from shared.bus.outbox import Tx
from shared.events import contracts as ev
from shared.events.envelope import Envelope
from shared.problems import InvalidInput, conflict, invalid


async def on_assembly_created(tx: Tx, event: Envelope, p: ev.AssemblyCreatedV1) -> None:
    values = {"panel_size": p.panel_size, "strata": [s.model_dump() for s in p.strata],
              "regions": [r.model_dump() for r in p.regions]}
    await tx.session.execute(pg_insert(mc.assembly_quotas).values(assembly_id=p.assembly_id, **values)
                             .on_conflict_do_update(index_elements=["assembly_id"], set_=values))


_roster_on_replacement = ROSTER_HANDLERS["sortition.replacement-drawn.v1"]


async def on_replacement_drawn(tx: Tx, event: Envelope, p: ev.ReplacementDrawnV1) -> None:
    await _roster_on_replacement(tx, event, p)
    if p.added:
        at = event.time if event is not None else datetime.now(timezone.utc)
        await tx.session.execute(pg_insert(mc.member_joined).values(
            [{"assembly_id": p.assembly_id, "member_id": x, "at": at} for x in p.added]).on_conflict_do_nothing())


HANDLERS = {"recruitment.assembly-created.v1": on_assembly_created,
            "sortition.replacement-drawn.v1": on_replacement_drawn}


async def set_rule(tx: Tx, assembly_id: uuid.UUID, missed_in_a_row: int) -> None:
    if not 1 <= missed_in_a_row <= MAX_MISSED_IN_A_ROW:
        raise invalid(f"the rule's number of sessions missed in a row must be 1 to {MAX_MISSED_IN_A_ROW}")
    await tx.session.execute(pg_insert(mc.dropout_rules).values(assembly_id=assembly_id, missed_in_a_row=missed_in_a_row)
                             .on_conflict_do_update(index_elements=["assembly_id"],
                                                    set_={"missed_in_a_row": missed_in_a_row}))
    await tx.audit("dropout-rule.set", assembly_id, details={"missed_in_a_row": missed_in_a_row})


async def request_replacements(tx: Tx, assembly_id: uuid.UUID, members: list[uuid.UUID]) -> dict:
    """The secretariat confirms that these drop-outs (by the assembly's rule) are to be replaced."""
    await tx.session.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"),
                             {"k": f"sessions-replacements:{assembly_id}"})
    if not members or len(set(members)) != len(members):
        raise invalid("name each member to replace once")
    n = await rule(tx, assembly_id)
    held, history = await member_histories(tx, assembly_id, await active_roster(tx, assembly_id))
    out = {h.member_id: h for h in dropouts(history, n)}
    strangers = [x for x in members if x not in out]
    if strangers:
        raise InvalidInput(f"{len(strangers)} of these members are not drop-outs by the assembly's rule (missed {n} "
                           f"held sessions in a row)", code="not_a_dropout",
                           details=[{"field": "members", "problem": f"{x} is not a drop-out"} for x in strangers[:20]])
    already = [x for x in members if x in await requested(tx, assembly_id)]
    if already:
        raise conflict(f"a replacement was already requested for {len(already)} of these members",
                       code="already_requested")
    now = datetime.now(timezone.utc)
    last = held[-1].id
    await tx.session.execute(sa.insert(mc.replacement_requests).values([
        {"assembly_id": assembly_id, "member_id": x, "missed_in_a_row": out[x].missed_in_a_row, "session_id": last,
         "requested_at": now} for x in members]))
    await tx.emit(ev.ReplacementRequestedV1(assembly_id=assembly_id, session_id=last, members=members,
                                            missed_in_a_row=n), subject=assembly_id)
    await tx.audit("replacement.requested", assembly_id, object_id=last,
                   details={"members": [str(x) for x in members], "missed_in_a_row": n})
    return {"members": members, "missed_in_a_row": n}
