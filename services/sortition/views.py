"""Sortition's reads: the pool, seed contributions, the freeze and its CSV files, jobs, the panel,
its transcript and fairness report, replacements; also the row loaders the handlers reuse."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from services.sortition import models as m
from services.sortition.domain.freeze import frozen_csv
from services.sortition.domain.model import sha256_json
from shared.bus.outbox import Tx
from shared.db import load_or_404
from shared.problems import not_found

# ---- rows ------------------------------------------------------------------------------------


async def load_assembly(tx: Tx, assembly_id: uuid.UUID):
    return await load_or_404(tx, m.assemblies, "assembly (not yet known to sortition)", id=assembly_id)


async def load_pool(tx: Tx, assembly_id: uuid.UUID) -> list:
    return (
        await tx.session.execute(
            sa.select(m.pool).where(m.pool.c.assembly_id == assembly_id, m.pool.c.withdrawn.is_(False))
            .order_by(m.pool.c.respondent_id)
        )
    ).all()


async def freeze_row(tx: Tx, assembly_id: uuid.UUID):
    return (await tx.session.execute(sa.select(m.freezes).where(m.freezes.c.assembly_id == assembly_id))).first()


async def freeze_facts(tx: Tx, assembly_id: uuid.UUID):
    """The freeze without its snapshot of the pool (`people`, large): what pages and summaries show."""
    cols = [c for c in m.freezes.c if c.name != "people"]
    return (await tx.session.execute(sa.select(*cols).where(m.freezes.c.assembly_id == assembly_id))).first()


async def contribution_rows(tx: Tx, assembly_id: uuid.UUID) -> list:
    return (await tx.session.execute(
        sa.select(m.seed_contributions).where(m.seed_contributions.c.assembly_id == assembly_id)
        .order_by(m.seed_contributions.c.name))).all()


async def panel_row(tx: Tx, assembly_id: uuid.UUID):
    return (await tx.session.execute(sa.select(m.panels).where(m.panels.c.assembly_id == assembly_id))).first()


async def replacement_rows(tx: Tx, assembly_id: uuid.UUID) -> list:
    return (await tx.session.execute(
        sa.select(m.replacements).where(m.replacements.c.assembly_id == assembly_id)
        .order_by(m.replacements.c.number.nulls_first(), m.replacements.c.created_at))).all()


async def randomness_row(tx: Tx, assembly_id: uuid.UUID, number: int):
    return (await tx.session.execute(
        sa.select(m.replacement_randomness).where(m.replacement_randomness.c.assembly_id == assembly_id,
                                                  m.replacement_randomness.c.number == number))).first()


async def _withdrawn(tx: Tx, assembly_id: uuid.UUID) -> set[str]:
    return {str(r.respondent_id) for r in (await tx.session.execute(
        sa.select(m.pool.c.respondent_id).where(m.pool.c.assembly_id == assembly_id, m.pool.c.withdrawn.is_(True))
    )).all()}


async def withdrawn_from_frozen_pool(tx: Tx, assembly_id: uuid.UUID, f) -> list[str]:
    withdrawn = await _withdrawn(tx, assembly_id)
    return [p["id"] for p in f.people if p["id"] in withdrawn]


# ---- shapes ----------------------------------------------------------------------------------


def contribution_out(c, frozen: bool) -> dict:
    return {"name": c.name, "commitment": c.commitment, "committed_at": c.committed_at,
            "revealed": c.value is not None, "value": c.value if frozen else None, "revealed_at": c.revealed_at}


def freeze_out(f) -> dict:
    return {"assembly_id": f.assembly_id, "pool_hash": f.pool_hash, "quotas_hash": f.quotas_hash,
            "pool_size": f.pool_size, "panel_size": f.panel_size, "algorithm": f.algorithm, "engine": f.engine,
            "lottery_size": f.lottery_size, "reserves": f.reserves, "beacon": f.beacon, "frozen_at": f.frozen_at,
            "quotas": f.quotas, "excluded_count": None if f.excluded is None else len(f.excluded),
            "excluded_hash": None if f.excluded is None else sha256_json(f.excluded),
            "excluded_fixed_at": f.excluded_at}


def job_out(j) -> dict:
    return {"id": j.id, "assembly_id": j.assembly_id, "kind": j.kind, "status": j.status,
            "progress": j.progress, "message": j.message, "error": j.error, "attempts": j.attempts,
            "result": j.result, "created_at": j.created_at, "started_at": j.started_at,
            "finished_at": j.finished_at}


# ---- the pool, seed contributions and the freeze --------------------------------------------


async def pool_summary(tx: Tx, assembly_id: uuid.UUID) -> dict:
    a = await load_assembly(tx, assembly_id)
    people = await load_pool(tx, assembly_id)
    per_category = {
        s["category"]: {q["value"]: sum(1 for p in people if p.features.get(s["category"]) == q["value"]) for q in s["quotas"]}
        for s in a.strata
    }
    f = await freeze_facts(tx, assembly_id)
    return {"size": len(people), "panel_size": a.panel_size, "per_category": per_category,
            "frozen": f is not None, "frozen_size": f.pool_size if f else None}


async def list_contributions(tx: Tx, assembly_id: uuid.UUID) -> list[dict]:
    await load_assembly(tx, assembly_id)
    frozen = await freeze_facts(tx, assembly_id) is not None
    return [contribution_out(c, frozen) for c in await contribution_rows(tx, assembly_id)]


async def get_freeze(tx: Tx, assembly_id: uuid.UUID) -> dict:
    await load_assembly(tx, assembly_id)
    f = await freeze_facts(tx, assembly_id)
    if f is None:
        raise not_found("frozen pool")
    return {**freeze_out(f), "commitments": [{"name": c.name, "commitment": c.commitment}
                                             for c in await contribution_rows(tx, assembly_id)]}


async def frozen_pool_csv(tx: Tx, assembly_id: uuid.UUID, which: str) -> str:
    """The frozen pool's features.csv or people.csv, for `borgerting sortition verify`."""
    f = await freeze_row(tx, assembly_id)
    if f is None:
        raise not_found("frozen pool")
    return frozen_csv(f.quotas, f.people, which)


# ---- jobs ------------------------------------------------------------------------------------


async def get_job(tx: Tx, job_id: uuid.UUID) -> dict:
    row = (await tx.session.execute(sa.select(m.jobs).where(m.jobs.c.id == job_id))).first()
    if row is None:
        raise not_found("job")
    return job_out(row)


async def list_jobs(tx: Tx, assembly_id: uuid.UUID) -> list[dict]:
    await load_assembly(tx, assembly_id)
    rows = (await tx.session.execute(
        sa.select(m.jobs).where(m.jobs.c.assembly_id == assembly_id).order_by(m.jobs.c.created_at))).all()
    return [job_out(r) for r in rows]


# ---- the panel and what is published after the draw ------------------------------------------


# The panel's facts without its transcript and fairness report (large JSON): what the panel's
# readers need; the transcript and the report are read on their own.
_PANEL_FACTS = ("id", "algorithm", "seed", "pool_size", "members", "reserves", "min_probability", "transcript_hash",
                "alternates")


def alternates_out(record: dict | None) -> dict | None:
    """The alternates record as published on the panel (everything the service keeps of it)."""
    return None if record is None else dict(record)


async def get_panel(tx: Tx, assembly_id: uuid.UUID) -> dict:
    row = (await tx.session.execute(sa.select(*(m.panels.c[c] for c in _PANEL_FACTS))
                                    .where(m.panels.c.assembly_id == assembly_id))).first()
    if row is None:
        raise not_found("panel")
    withdrawn = await _withdrawn(tx, assembly_id)
    n_repl = (await tx.session.execute(
        sa.select(sa.func.count()).select_from(m.replacements).where(m.replacements.c.assembly_id == assembly_id)
    )).scalar_one()
    return {"panel_id": row.id, "algorithm": row.algorithm, "seed": row.seed, "pool_size": row.pool_size,
            "members": row.members, "reserves": row.reserves, "min_probability": row.min_probability,
            "transcript_hash": row.transcript_hash, "replacements": n_repl,
            "withdrawn_members": [x for x in row.members if x in withdrawn],
            "alternates": alternates_out(row.alternates)}


async def is_drawn(tx: Tx, assembly_id: uuid.UUID) -> bool:
    return (await tx.session.execute(sa.select(m.panels.c.id).where(m.panels.c.assembly_id == assembly_id))
            ).first() is not None


async def _panel_document(tx: Tx, assembly_id: uuid.UUID, column: str):
    return (await tx.session.execute(sa.select(m.panels.c[column]).where(m.panels.c.assembly_id == assembly_id))
            ).scalar()


async def get_transcript(tx: Tx, assembly_id: uuid.UUID) -> dict[str, Any]:
    t = await _panel_document(tx, assembly_id, "transcript")
    if t is None:
        raise not_found("transcript (published after the draw)")
    return t


async def get_fairness(tx: Tx, assembly_id: uuid.UUID) -> dict[str, Any]:
    f = await _panel_document(tx, assembly_id, "fairness")
    if f is None:
        raise not_found("fairness report (published after the draw)")
    return f


async def get_certificate(tx: Tx, assembly_id: uuid.UUID) -> dict[str, Any]:
    """The LEXIMIN result with its certificate of optimality (`borgerting sortition certify`)."""
    c = await _panel_document(tx, assembly_id, "certificate")
    if c is None:
        raise not_found("certificate (published after a LEXIMIN or GOLDILOCKS draw)")
    return c


async def list_replacements(tx: Tx, assembly_id: uuid.UUID) -> list[dict]:
    await load_assembly(tx, assembly_id)
    cols = [c for c in m.replacements.c if c.name != "transcript"]
    rows = (await tx.session.execute(
        sa.select(*cols).where(m.replacements.c.assembly_id == assembly_id)
        .order_by(m.replacements.c.number.nulls_first(), m.replacements.c.created_at))).all()
    return [{"id": r.id, "panel_id": r.panel_id, "job_id": r.job_id, "dropped": r.dropped, "added": r.added,
             "record": r.record, "created_at": r.created_at, "number": r.number, "transcript_hash": r.transcript_hash}
            for r in rows]


async def replacement_requests(tx: Tx, assembly_id: uuid.UUID, panel_members: list) -> list[dict]:
    """Requests from sessions and the portal, newest first, each with its state: `open` while some
    of its members are still on the panel and no job is under way for it (none could start, or it
    failed), `running` while its job runs, `done` once its members have left the panel."""
    on_panel = {str(x) for x in panel_members}
    rows = (await tx.session.execute(
        sa.select(m.replacement_requests, m.jobs.c.status.label("job_status"))
        .join(m.jobs, m.jobs.c.id == m.replacement_requests.c.job_id, isouter=True)
        .where(m.replacement_requests.c.assembly_id == assembly_id)
        .order_by(m.replacement_requests.c.received_at.desc()))).all()
    out = []
    for r in rows:
        still = [x for x in r.members if x in on_panel]
        state = ("done" if not still else "running" if r.job_status in ("pending", "running") else "open")
        out.append({"id": r.id, "source": r.source, "session_id": r.session_id, "missed_in_a_row": r.missed_in_a_row,
                    "members": r.members, "still": still, "job_id": r.job_id, "refusal": r.refusal,
                    "received_at": r.received_at, "state": state})
    return out


async def replacement_commitment(tx: Tx, assembly_id: uuid.UUID) -> dict:
    """The commitment to the next replacement's fresh randomness (public; the value stays secret
    until that replacement reveals it in its transcript)."""
    await load_assembly(tx, assembly_id)
    n = (await tx.session.execute(
        sa.select(sa.func.count()).select_from(m.replacements).where(m.replacements.c.assembly_id == assembly_id)
    )).scalar_one() + 1
    row = await randomness_row(tx, assembly_id, n)
    if row is None:
        raise not_found("replacement randomness commitment (made when the draw is requested)")
    return {"number": n, "commitment": row.commitment, "committed_at": row.committed_at}


async def replacement_transcripts(tx: Tx, assembly_id: uuid.UUID, number: int | None = None) -> list[dict[str, Any]]:
    """The public replacement transcripts in chain order (or just replacement ``number``)."""
    await load_assembly(tx, assembly_id)
    q = sa.select(m.replacements.c.transcript).where(m.replacements.c.assembly_id == assembly_id,
                                                     m.replacements.c.transcript.is_not(None))
    if number is not None:
        q = q.where(m.replacements.c.number == number)
    rows = (await tx.session.execute(q.order_by(m.replacements.c.number))).all()
    if number is not None and not rows:
        raise not_found(f"replacement {number} (or its transcript)")
    return [r.transcript for r in rows]
