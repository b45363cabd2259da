"""Writes of assemblies: creating one, what its letters say, the quota values' names."""

from __future__ import annotations

import uuid
from datetime import date

import sqlalchemy as sa

from services.recruitment import models as m
from services.recruitment.domain.answers import check_strata
from services.recruitment.domain.letter_details import LETTER_FIELDS
from shared.bus.outbox import Tx
from shared.db import load_or_404
from shared.events import contracts as ev
from shared.problems import invalid


async def create_assembly(tx: Tx, *, name: str, panel_size: int, regions: list[dict], strata: list[dict],
                          **letter: object) -> uuid.UUID:
    """`letter`: what the invitation letters say (fields of LETTER_FIELDS; optional)."""
    problems = check_strata(regions, strata, panel_size)
    if problems:
        raise invalid("the mandate cannot be met: " + "; ".join(problems), [{"field": "strata", "problem": p} for p in problems])
    assembly_id = uuid.uuid4()
    details = _letter_columns({k: letter[k] for k in LETTER_FIELDS if letter.get(k) is not None})
    await tx.session.execute(
        sa.insert(m.assemblies).values(id=assembly_id, name=name, panel_size=panel_size, regions=regions, strata=strata,
                                       **details)
    )
    quotas = [{"category": s["category"], "quotas": [{k: q[k] for k in ("value", "min", "max")} for q in s["quotas"]]}
              for s in strata]  # the names in labels stay here: the event's contract has the codes and numbers
    await tx.emit(
        ev.AssemblyCreatedV1(assembly_id=assembly_id, name=name, panel_size=panel_size, regions=regions, strata=quotas),
        subject=assembly_id,
    )
    await tx.audit("assembly.created", assembly_id, object_id=assembly_id, details={"panel_size": panel_size})
    return assembly_id


def _letter_columns(details: dict) -> dict:
    """Dates as the columns take them (the API's JSON gives ISO text)."""
    out = dict(details)
    if isinstance(out.get("reply_by"), str):
        out["reply_by"] = date.fromisoformat(out["reply_by"])
    if out.get("session_dates"):
        out["session_dates"] = sorted({str(d) for d in out["session_dates"]})
    return out


async def set_letter_details(tx: Tx, assembly_id: uuid.UUID, details: dict) -> None:
    """What the invitation letters say about the assembly (commissioner, remit, session dates,
    stipend, reply-by date). Only recruitment prints letters, so no event is sent."""
    await load_or_404(tx, m.assemblies, "assembly", lock=True, id=assembly_id)
    values = _letter_columns({k: details.get(k) for k in LETTER_FIELDS})
    values["session_dates"] = values["session_dates"] or []
    await tx.session.execute(sa.update(m.assemblies).where(m.assemblies.c.id == assembly_id).values(**values))
    await tx.audit("assembly.letter-details-set", assembly_id, object_id=assembly_id,
                   details={"filled": sorted(k for k, x in values.items() if x)})


async def name_values(tx: Tx, assembly_id: uuid.UUID, names: list[dict]) -> list[dict]:
    """Give the assembly's quota values their names per language (`[{category, value, labels: {da,
    en}}]`; an empty name removes it). Only what people read changes: the codes, the numbers and
    so the draw stay as they are, and no other service keeps these names, so no event is sent."""
    assembly = await load_or_404(tx, m.assemblies, "assembly", lock=True, id=assembly_id)
    strata = [dict(s, quotas=[dict(q) for q in s["quotas"]]) for s in assembly.strata]
    quotas = {(s["category"], q["value"]): q for s in strata for q in s["quotas"]}
    unknown = [f"{n['category']}={n['value']}" for n in names if (n["category"], n["value"]) not in quotas]
    if unknown:
        raise invalid("these are not quota values of the assembly: " + ", ".join(unknown[:10]),
                      [{"field": "names", "problem": f"{u} is not a quota value"} for u in unknown[:20]])
    for n in names:
        q = quotas[(n["category"], n["value"])]
        labels = {lang: text.strip() for lang, text in (n.get("labels") or {}).items() if text and text.strip()}
        if labels:
            q["labels"] = labels
        else:
            q.pop("labels", None)
    await tx.session.execute(sa.update(m.assemblies).where(m.assemblies.c.id == assembly_id).values(strata=strata))
    await tx.audit("assembly.values-named", assembly_id, object_id=assembly_id, details={"values": len(names)})
    return strata
