"""Sortition's writes, each in one transaction: the pool from recruitment's events, seed
commitments, the freeze, reveals, requests for draw and replacement jobs, and the steps the job
worker (jobs.JobWorker, wired in app.py) calls to start and finish them."""

from __future__ import annotations

import asyncio
import uuid
from functools import partial
from typing import Callable

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError

from services.sortition import models as m
from services.sortition import views as v
from services.sortition.domain import (SortitionInputError, commitment, fresh_randomness, replacement_exclusions,
                                       runs)
from services.sortition.domain.alternates import alternates_record
from services.sortition.domain.draw import normalise_excluded
from services.sortition.domain.engine import ENGINE_VERSION, algorithm_spec, check_feasible
from services.sortition.domain.population import population_algorithm
from services.sortition.domain.goldilocks import check_cap
from services.sortition.domain.freeze import check_answers, frozen_instance, pool_snapshot, reserved_categories
from services.sortition.domain.model import sha256_json
from services.sortition.domain.runs import JobLost, JobRejected, Progress
from shared.bus.outbox import Tx
from shared.problems import DomainError, conflict, invalid, not_found
from shared.events import contracts as ev
from shared.events.envelope import Envelope


async def on_assembly_created(tx: Tx, event: Envelope, p: ev.AssemblyCreatedV1) -> None:
    await tx.session.execute(
        pg_insert(m.assemblies)
        .values(id=p.assembly_id, panel_size=p.panel_size, strata=[s.model_dump() for s in p.strata],
                regions=[r.model_dump() for r in p.regions])
        .on_conflict_do_nothing()
    )


async def on_respondent_registered(tx: Tx, event: Envelope, p: ev.RespondentRegisteredV1) -> None:
    await tx.session.execute(
        pg_insert(m.pool)
        .values(respondent_id=p.respondent_id, assembly_id=p.assembly_id, features=p.features, household=p.household)
        .on_conflict_do_nothing()
    )


async def on_respondent_withdrew(tx: Tx, event: Envelope, p: ev.RespondentWithdrewV1) -> None:
    # The withdrawal may arrive before the registration (different topics): leave a tombstone
    # that the later registration does not overwrite. A frozen pool keeps its snapshot; a
    # withdrawal received before the first seed reveal is left out of the draw (fixed at that
    # reveal, see reveal_seed); a later one is never a replacement candidate, and a panel member
    # who withdraws is shown in GET panel and replaced with POST replacements.
    await tx.session.execute(
        pg_insert(m.pool)
        .values(respondent_id=p.respondent_id, assembly_id=p.assembly_id, features={}, withdrawn=True)
        .on_conflict_do_update(index_elements=["respondent_id"], set_={"withdrawn": True, "features": {}})
    )


async def _requested(tx: Tx, event: Envelope, assembly_id: uuid.UUID, dropped: list[uuid.UUID], *, source: str,
                     actor: str, session_id: uuid.UUID | None = None, missed_in_a_row: int | None = None) -> None:
    """A replacement asked for by another service: drawn at once on the same verifiable path as
    POST replacements (from the whole frozen pool) when it can be; when it cannot (say, another job
    still runs), the request stays open on the replacements page with the refusal's code, and the
    audit trail says why. Either way the request is kept, for the secretariat to see."""
    job_id, refusal = None, None
    try:
        async with tx.session.begin_nested():  # nothing of a refused request stays
            job_id = (await request_replacement(tx, assembly_id, dropped=dropped, from_reserves=False,
                                                actor=actor))["id"]
    except DomainError as exc:
        refusal = exc.code
        await tx.audit("replacement.not-requested", assembly_id, details={
            "members": [str(x) for x in dropped], "code": exc.code, "reason": exc.message})
    await tx.session.execute(pg_insert(m.replacement_requests).values(
        id=event.id, assembly_id=assembly_id, source=source, session_id=session_id, missed_in_a_row=missed_in_a_row,
        members=[str(x) for x in dropped], job_id=job_id, refusal=refusal).on_conflict_do_nothing())


async def on_place_declined(tx: Tx, event: Envelope, p: ev.PlaceDeclinedV1) -> None:
    """A drawn member declined their place from the portal: out of the pool like a withdrawal, and
    a replacement is requested at once (as the organiser would with POST replacements)."""
    await on_respondent_withdrew(tx, event, ev.RespondentWithdrewV1(assembly_id=p.assembly_id,
                                                                    respondent_id=p.member_id))
    panel = await v.panel_row(tx, p.assembly_id)
    if panel is None or str(p.member_id) not in panel.members:
        return
    await _requested(tx, event, p.assembly_id, [p.member_id], source="portal", actor="recruitment:place-declined")


async def on_replacement_requested(tx: Tx, event: Envelope, p: ev.ReplacementRequestedV1) -> None:
    """Sessions' drop-out rule, confirmed there by the secretariat. Members no longer on the panel
    are skipped."""
    panel = await v.panel_row(tx, p.assembly_id)
    dropped = [x for x in p.members if panel is not None and str(x) in panel.members]
    if not dropped:
        return
    await _requested(tx, event, p.assembly_id, dropped, source="sessions", actor="sessions",
                     session_id=p.session_id, missed_in_a_row=p.missed_in_a_row)


HANDLERS = {
    "recruitment.assembly-created.v1": on_assembly_created,
    "recruitment.respondent-registered.v1": on_respondent_registered,
    "recruitment.respondent-withdrew.v1": on_respondent_withdrew,
    "recruitment.place-declined.v1": on_place_declined,
    "sessions.replacement-requested.v1": on_replacement_requested,
}


async def _lock(tx: Tx, assembly_id: uuid.UUID) -> None:
    await tx.session.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"sortition:{assembly_id}"})


# ---- seed contributions and the freeze -------------------------------------------------------


async def commit_seed(tx: Tx, assembly_id: uuid.UUID, *, name: str, commitment_hex: str) -> dict:
    await v.load_assembly(tx, assembly_id)
    await _lock(tx, assembly_id)
    if await v.freeze_row(tx, assembly_id) is not None:
        raise conflict("the pool is already frozen: seed contributions must be committed before the freeze")
    try:
        async with tx.session.begin_nested():
            row = (await tx.session.execute(
                sa.insert(m.seed_contributions)
                .values(assembly_id=assembly_id, name=name, commitment=commitment_hex.lower())
                .returning(*m.seed_contributions.c))).first()
    except IntegrityError:
        raise conflict(f"a seed contribution named '{name}' is already committed") from None
    await tx.audit("seed.committed", assembly_id, object_id=name, details={"commitment": commitment_hex.lower()})
    return v.contribution_out(row, False)


async def freeze_pool(tx: Tx, assembly_id: uuid.UUID, *, algorithm: str, lottery_size: int, reserves: int,
                      beacon: str | None, max_probability_multiple: float | None = None,
                      intersectional: list[dict] | None = None, population: list[dict] | None = None) -> dict:
    """``algorithm`` with ``max_probability_multiple`` (goldilocks only) is kept as the algorithm
    spec (``goldilocks:cap=3``), the name the transcript, the seed and pool-frozen carry; so is
    ``population`` with its figures (``population:counts=N1/N2/...`` in the quotas' order)."""
    if max_probability_multiple is not None and algorithm != "goldilocks":
        raise invalid("max_probability_multiple (a cap on the highest chance) belongs to the algorithm goldilocks")
    if bool(population) != (algorithm == "population"):
        raise invalid("the algorithm population needs population_figures (citizens per value of every quota "
                      "category), and population_figures belong to the algorithm population")
    if algorithm != "population":
        try:
            algorithm = algorithm_spec(algorithm, cap_multiple=max_probability_multiple)
        except SortitionInputError as exc:
            raise invalid(str(exc)) from None
    a = await v.load_assembly(tx, assembly_id)
    await _lock(tx, assembly_id)
    if await v.freeze_row(tx, assembly_id) is not None:
        raise conflict("the pool is already frozen")
    contribs = await v.contribution_rows(tx, assembly_id)
    if not contribs:
        raise conflict("commit at least one seed contribution (POST .../seed-commitments) before freezing the pool: "
                       "the draw's randomness comes from contributions committed before and revealed after the freeze")
    rows = await v.load_pool(tx, assembly_id)
    reserved = reserved_categories(a.strata)
    if reserved:  # the frozen pool's CSV columns for the verifier
        raise invalid(f"a category may not be called {' or '.join(reserved)} (a column of the published pool)")
    snapshot = pool_snapshot(a.strata, a.panel_size, rows, intersectional or ())
    people, quotas = snapshot["people"], snapshot["quotas"]
    try:
        check_answers(snapshot)
        inst = frozen_instance(snapshot)
        await asyncio.to_thread(check_feasible, inst)
        if max_probability_multiple is not None:  # refused now, not by a failed draw job later
            await asyncio.to_thread(check_cap, inst, max_probability_multiple * inst.k / inst.n)
        if population:  # the figures in the quotas' order, checked now (raking) and kept in the spec
            algorithm = population_algorithm(inst, population)
    except SortitionInputError as exc:
        raise invalid(f"this pool cannot be frozen for a draw: {exc}") from None
    if reserves > inst.n - inst.k:
        raise invalid(f"{reserves} reserves asked for, but only {inst.n - inst.k} volunteers are left after the panel")
    values = dict(assembly_id=assembly_id, pool_hash=inst.pool_hash(), quotas_hash=inst.quotas_hash(),
                  pool_size=inst.n, panel_size=inst.k, algorithm=algorithm, engine=ENGINE_VERSION,
                  lottery_size=lottery_size, reserves=reserves, beacon=beacon, people=people, quotas=quotas)
    f = (await tx.session.execute(sa.insert(m.freezes).values(**values).returning(*m.freezes.c))).first()
    commitments = [ev.SeedCommitmentV1(name=c.name, commitment=c.commitment) for c in contribs]
    await tx.emit(ev.PoolFrozenV1(assembly_id=assembly_id, pool_hash=f.pool_hash, quotas_hash=f.quotas_hash,
                                  pool_size=f.pool_size, panel_size=f.panel_size, algorithm=algorithm,
                                  engine=ENGINE_VERSION, lottery_size=lottery_size, reserves=reserves, beacon=beacon,
                                  commitments=commitments), subject=assembly_id)
    await tx.audit("pool.frozen", assembly_id, object_id=f.pool_hash,
               details={"pool_size": f.pool_size, "quotas_hash": f.quotas_hash, "algorithm": algorithm,
                        "lottery_size": lottery_size, "reserves": reserves, "beacon": beacon,
                        "commitments": [c.name for c in contribs]})
    return {**v.freeze_out(f), "commitments": [c.model_dump() for c in commitments]}


async def reveal_seed(tx: Tx, assembly_id: uuid.UUID, *, name: str, value: str) -> dict:
    await v.load_assembly(tx, assembly_id)
    await _lock(tx, assembly_id)
    if await v.freeze_row(tx, assembly_id) is None:
        raise conflict("reveal seed contributions only after the pool is frozen (until then they stay secret)")
    row = (await tx.session.execute(
        sa.select(m.seed_contributions).where(m.seed_contributions.c.assembly_id == assembly_id,
                                              m.seed_contributions.c.name == name))).first()
    if row is None:
        raise not_found(f"seed contribution '{name}'")
    if row.value is not None:
        if row.value == value:
            return v.contribution_out(row, True)
        raise conflict(f"seed contribution '{name}' is already revealed")
    if commitment(value) != row.commitment:
        raise invalid(f"the value does not match the commitment of '{name}' "
                      f"(sha256 of this value is {commitment(value)}, committed {row.commitment})")
    await _fix_exclusions(tx, assembly_id)
    row = (await tx.session.execute(
        sa.update(m.seed_contributions)
        .where(m.seed_contributions.c.assembly_id == assembly_id, m.seed_contributions.c.name == name)
        .values(value=value, revealed_at=sa.func.now()).returning(*m.seed_contributions.c))).first()
    await tx.audit("seed.revealed", assembly_id, object_id=name, details={"commitment": row.commitment})
    return v.contribution_out(row, True)


async def _fix_exclusions(tx: Tx, assembly_id: uuid.UUID) -> None:
    """At the first seed reveal, fix who is left out of the draw: the frozen pool's volunteers
    who have withdrawn by now. Until that reveal nobody can know the seed (every contribution is
    still secret to all but its holder), so nobody can pick exclusions that steer the draw; a
    withdrawal after it is handled by replacement."""
    f = await v.freeze_row(tx, assembly_id)
    if f.excluded is not None:
        return
    excluded = normalise_excluded(await v.withdrawn_from_frozen_pool(tx, assembly_id, f))
    await tx.session.execute(sa.update(m.freezes).where(m.freezes.c.assembly_id == assembly_id)
                             .values(excluded=excluded, excluded_at=sa.func.now()))
    await tx.audit("draw.exclusions_fixed", assembly_id, object_id=f.pool_hash,
               details={"excluded": len(excluded), "excluded_hash": sha256_json(excluded)})


# ---- jobs ----------------------------------------------------------------------------------


async def _no_active_job(tx: Tx, assembly_id: uuid.UUID) -> None:
    active = (await tx.session.execute(
        sa.select(m.jobs.c.id, m.jobs.c.kind).where(m.jobs.c.assembly_id == assembly_id,
                                                    m.jobs.c.status.in_(("pending", "running"))))).first()
    if active is not None:
        raise conflict(f"a {active.kind} job for this assembly is still running: /draw-jobs/{active.id}")


async def _new_job(tx: Tx, assembly_id: uuid.UUID, kind: str, params: dict, actor: str | None) -> dict:
    await _no_active_job(tx, assembly_id)
    job_id = uuid.uuid4()
    try:
        async with tx.session.begin_nested():
            row = (await tx.session.execute(
                sa.insert(m.jobs).values(id=job_id, assembly_id=assembly_id, kind=kind, status="pending",
                                         params=params, message="waiting for a worker", requested_by=actor)
                .returning(*m.jobs.c))).first()
    except IntegrityError:
        raise conflict("another job for this assembly was started at the same moment") from None
    await tx.audit(f"{kind}.requested", assembly_id, object_id=job_id, details={"job_id": str(job_id)})
    return v.job_out(row)


async def request_draw(tx: Tx, assembly_id: uuid.UUID, *, beacon_value: str | None, legacy_samples: int,
                       actor: str | None) -> dict:
    await v.load_assembly(tx, assembly_id)
    await _lock(tx, assembly_id)
    f = await v.freeze_row(tx, assembly_id)
    if f is None:
        raise conflict("freeze the pool first (POST .../pool/freeze); the draw uses the frozen pool")
    if await v.panel_row(tx, assembly_id) is not None:
        raise conflict("a panel has already been drawn for this assembly; use replacements for drop-outs")
    unrevealed = [c.name for c in await v.contribution_rows(tx, assembly_id) if c.value is None]
    if unrevealed:
        raise conflict(f"seed contribution(s) not yet revealed: {', '.join(unrevealed)} (POST .../seed-reveals)")
    if f.beacon and not beacon_value:
        raise invalid(f"the freeze named a beacon ({f.beacon}); give its value as beacon_value")
    if beacon_value and not f.beacon:
        raise invalid("no beacon was named at the freeze, so none can enter the seed now")
    job = await _new_job(tx, assembly_id, "draw", {"beacon_value": beacon_value, "legacy_samples": legacy_samples},
                         actor)
    await _commit_randomness(tx, assembly_id, 1)  # published in the draw's transcript
    return job


async def _commit_randomness(tx: Tx, assembly_id: uuid.UUID, number: int):
    """Replacement ``number``'s fresh randomness, made now if it does not exist yet: the value
    stays secret here until that replacement reveals it; the commitment is public (the draw's
    transcript for number 1, the previous replacement's next_commitment, GET .../commitment)."""
    fresh = fresh_randomness()
    row = (await tx.session.execute(
        pg_insert(m.replacement_randomness)
        .values(assembly_id=assembly_id, number=number, commitment=fresh["commitment"], value=fresh["value"])
        .on_conflict_do_nothing().returning(*m.replacement_randomness.c))).first()
    if row is None:  # made earlier (a draw or replacement requested again after a failed job)
        return await v.randomness_row(tx, assembly_id, number)
    await tx.audit("replacement.randomness_committed", assembly_id, object_id=str(number),
                   details={"number": number, "commitment": row.commitment})
    return row


async def _chain(tx: Tx, assembly_id: uuid.UUID, p, rows: list | None = None) -> tuple[dict | None, dict]:
    """The previous replacement transcript (None before the first) and the position of the next
    replacement in the chain: number, previous hash, panel and reserve list before."""
    rows = await v.replacement_rows(tx, assembly_id) if rows is None else rows
    last = rows[-1] if rows else None
    previous = last.transcript if last is not None else None
    previous_hash = previous["transcript_hash"] if previous else (None if rows else p.transcript["transcript_hash"])
    position = {"number": len(rows) + 1, "previous_hash": previous_hash, "panel_before": list(p.members),
                "reserves_before": list(p.reserves)}
    alt = p.alternates
    if alt and alt["after_replacements"] == len(rows):  # chosen since the last link: the transcript names them
        position["alternates"] = {key: alt[key] for key in ("ids", "scenarios", "seed", "dropout_rates", "hash")}
    return previous, position


async def request_replacement(tx: Tx, assembly_id: uuid.UUID, *, dropped: list[uuid.UUID], from_reserves: bool,
                              actor: str | None) -> dict:
    await v.load_assembly(tx, assembly_id)
    await _lock(tx, assembly_id)
    p = await v.panel_row(tx, assembly_id)
    if p is None:
        raise conflict("no panel has been drawn yet")
    ids = [str(x) for x in dropped]
    if len(set(ids)) != len(ids):
        raise invalid("a member is listed twice in dropped")
    strangers = [x for x in ids if x not in p.members]
    if strangers:
        raise invalid(f"not on the panel: {', '.join(strangers)}")
    if from_reserves and not p.reserves:
        raise conflict("the reserve list is empty; replace from the whole pool instead (from_reserves=false)")
    if p.transcript is None:
        raise conflict("this panel has no published transcript, so its replacements cannot be made verifiable")
    # Who may not be drawn is fixed now, with the request: earlier drop-outs, the draw's
    # exclusions and every withdrawal received so far (all in the replacement transcript).
    rows = await v.replacement_rows(tx, assembly_id)
    previous, position = await _chain(tx, assembly_id, p, rows)
    if await v.randomness_row(tx, assembly_id, position["number"]) is None:
        raise conflict(f"no randomness was committed for replacement {position['number']} before its drop-outs "
                       f"were known, so it cannot be drawn verifiably")
    await _commit_randomness(tx, assembly_id, position["number"] + 1)  # revealed by the next replacement
    f = await v.freeze_row(tx, assembly_id)
    excluded = replacement_exclusions(p.transcript, previous, panel_before=p.members,
                                      withdrawn=await v.withdrawn_from_frozen_pool(tx, assembly_id, f),
                                      dropped_earlier=[x for r in rows for x in r.dropped])
    return await _new_job(tx, assembly_id, "replacement",
                          {"dropped": ids, "from_reserves": from_reserves, "panel": p.members, "excluded": excluded},
                          actor)


async def choose_alternates(tx: Tx, assembly_id: uuid.UUID, *, count: int, rates: list[dict], scenarios: int,
                            actor: str | None) -> dict:
    """Alternates for drop-outs after the draw (domain/alternates.py): chosen by the scenario MIP
    for the panel now, given per-stratum drop-out rates, among the frozen pool's volunteers who
    may still be drawn (not on the panel, not excluded, not withdrawn, not dropped out); they
    become the reserve list (``from_reserves`` replacements draw from them) and the next
    replacement's transcript names them (ids, rates, seed, hash)."""
    await v.load_assembly(tx, assembly_id)
    await _lock(tx, assembly_id)
    p = await v.panel_row(tx, assembly_id)
    if p is None:
        raise conflict("no panel has been drawn yet")
    if p.transcript is None:
        raise conflict("this panel has no published transcript, so its replacements cannot be made verifiable")
    await _no_active_job(tx, assembly_id)  # a replacement job would overwrite the reserve list
    table: dict[tuple[str, str], float] = {}
    for r in rates:
        key = (r["category"].strip(), r["value"].strip())
        if key in table:
            raise invalid(f"the drop-out rate of {key[0]}={key[1]} is given twice")
        table[key] = float(r["rate"])
    rows = await v.replacement_rows(tx, assembly_id)
    previous, _ = await _chain(tx, assembly_id, p, rows)
    f = await v.freeze_row(tx, assembly_id)
    excluded = replacement_exclusions(p.transcript, previous, panel_before=p.members,
                                      withdrawn=await v.withdrawn_from_frozen_pool(tx, assembly_id, f),
                                      dropped_earlier=[x for r in rows for x in r.dropped])
    inst = frozen_instance({"people": f.people, "quotas": f.quotas, "panel_size": f.panel_size})
    seed = int(p.transcript["seed"][:8], 16)  # the draw's public seed: anyone can recompute the choice
    try:
        record = await asyncio.to_thread(alternates_record, inst, list(p.members), count, table,
                                         exclude_ids=[e["id"] for e in excluded], reserves_ids=list(p.reserves),
                                         seed=seed, scenarios=scenarios)
    except SortitionInputError as exc:
        raise invalid(f"no alternates can be chosen: {exc}") from None
    record["after_replacements"] = len(rows)
    await tx.session.execute(sa.update(m.panels).where(m.panels.c.id == p.id)
                             .values(alternates=record, reserves=record["ids"]))
    await tx.audit("alternates.chosen", assembly_id, object_id=p.id,
                   details={"count": record["count"], "hash": record["hash"], "scenarios": scenarios,
                            "dropout_rates": record["dropout_rates"], "replaced_reserves": len(p.reserves),
                            "after_replacements": len(rows)})
    return v.alternates_out(record)


async def job_inputs(tx: Tx, job: dict) -> Callable[[Progress], dict]:
    """Everything the engine needs, read now; returns the computation to run in a thread."""
    aid = job["assembly_id"]
    f = await v.freeze_row(tx, aid)
    if f is None:
        raise JobRejected("the pool is not frozen")
    freeze = {"people": f.people, "quotas": f.quotas, "panel_size": f.panel_size, "algorithm": f.algorithm,
              "lottery_size": f.lottery_size, "reserves": f.reserves, "beacon": f.beacon,
              "excluded": f.excluded or []}
    if job["kind"] == "draw":
        contribs = [{"name": c.name, "commitment": c.commitment, "value": c.value}
                    for c in await v.contribution_rows(tx, aid)]
        first = await _commit_randomness(tx, aid, 1)  # made at the request (this covers older requests)
        return partial(runs.run_draw, freeze, contribs, job["params"], replacement_commitment=first.commitment)
    p = await v.panel_row(tx, aid)
    if p is None:
        raise JobRejected("no panel has been drawn")
    if list(p.members) != list(job["params"]["panel"]):
        raise JobRejected("the panel changed since the replacement was requested; request it again")
    _, position = await _chain(tx, aid, p)
    now, after = (await v.randomness_row(tx, aid, position["number"]),
                  await v.randomness_row(tx, aid, position["number"] + 1))
    if now is None or after is None:
        raise JobRejected(f"no randomness committed for replacement {position['number']}; request it again")
    return partial(runs.run_replacement, freeze, p.transcript, position, job["params"],
                   randomness={"commitment": now.commitment, "value": now.value}, next_commitment=after.commitment)


async def _own_job(tx: Tx, job_id: uuid.UUID, worker: str):
    row = (await tx.session.execute(sa.select(m.jobs).where(m.jobs.c.id == job_id).with_for_update())).first()
    if row is None or row.status != "running" or row.worker != worker:
        raise JobLost()
    return row


async def job_succeeded(tx: Tx, job_id: uuid.UUID, worker: str, result: dict, *, seconds: float) -> None:
    job = await _own_job(tx, job_id, worker)
    aid = job.assembly_id
    await _lock(tx, aid)
    if job.kind == "draw":
        out = await _finish_draw(tx, job, result)
    else:
        out = await _finish_replacement(tx, job, result)
    await tx.session.execute(
        sa.update(m.jobs).where(m.jobs.c.id == job_id)
        .values(status="succeeded", progress=1.0, message="done", finished_at=sa.func.now(),
                result={**out, "seconds": round(seconds, 2)}))


async def _finish_draw(tx: Tx, job, result: dict) -> dict:
    aid = job.assembly_id
    if await v.panel_row(tx, aid) is not None:
        raise JobRejected("a panel has already been drawn for this assembly")
    t = result["transcript"]
    panel_id = uuid.uuid4()
    members = [uuid.UUID(x) for x in t["selected"]]
    reserves = [uuid.UUID(x) for x in t["reserves"]]
    await tx.session.execute(sa.insert(m.panels).values(
        id=panel_id, assembly_id=aid, algorithm=t["algorithm"], seed=t["seed"], pool_size=t["n"],
        members=t["selected"], reserves=t["reserves"], min_probability=result["min_probability"], transcript=t,
        transcript_hash=t["transcript_hash"], fairness=result["fairness"],
        certificate=result.get("certificate"), job_id=job.id))
    await tx.emit(ev.PanelDrawnV1(assembly_id=aid, panel_id=panel_id, algorithm=t["algorithm"], members=members,
                                  reserves=reserves, pool_size=t["n"], min_probability=result["min_probability"],
                                  transcript_hash=t["transcript_hash"]), subject=aid)
    await tx.audit("panel.drawn", aid, object_id=panel_id,
               details={"job_id": str(job.id), "transcript_hash": t["transcript_hash"], "seed": t["seed"],
                        "selected_index": t["selected_index"], "members": len(members), "reserves": len(reserves),
                        "replacement_commitment": t.get("replacement_commitment"),
                        "requested_by": job.requested_by})
    return {"panel_id": str(panel_id), "transcript_hash": t["transcript_hash"],
            "replacement_commitment": t.get("replacement_commitment"),
            "min_probability": result["min_probability"], "members": len(members), "reserves": len(reserves),
            "steps_seconds": result["seconds"]}


async def _finish_replacement(tx: Tx, job, result: dict) -> dict:
    aid = job.assembly_id
    p = await v.panel_row(tx, aid)
    if p is None or list(p.members) != list(job.params["panel"]):
        raise JobRejected("the panel changed while the replacement was computed; request it again")
    r = result["transcript"]
    _, position = await _chain(tx, aid, p)
    if r["number"] != position["number"] or r["previous_hash"] != position["previous_hash"]:
        raise JobRejected("another replacement was made meanwhile; request it again")
    committed = await v.randomness_row(tx, aid, r["number"])
    if committed is None or r.get("randomness", {}).get("commitment") != committed.commitment:
        raise JobRejected("the replacement does not reveal the randomness committed for it; request it again")
    await tx.session.execute(sa.update(m.replacement_randomness)
                             .where(m.replacement_randomness.c.assembly_id == aid,
                                    m.replacement_randomness.c.number == r["number"])
                             .values(revealed_at=sa.func.now()))
    await tx.session.execute(sa.update(m.panels).where(m.panels.c.id == p.id)
                             .values(members=r["panel_after"], reserves=r["reserves_after"]))
    rid = uuid.uuid4()
    record = {key: value for key, value in result.items() if key != "transcript"}
    await tx.session.execute(sa.insert(m.replacements).values(
        id=rid, assembly_id=aid, panel_id=p.id, job_id=job.id, dropped=result["dropped"], added=result["added"],
        record=record, number=r["number"], transcript=r, transcript_hash=r["transcript_hash"]))
    await tx.emit(ev.ReplacementDrawnV1(assembly_id=aid, panel_id=p.id, dropped=[uuid.UUID(x) for x in result["dropped"]],
                                        added=[uuid.UUID(x) for x in result["added"]]), subject=aid)
    await tx.audit("replacement.drawn", aid, object_id=rid,
               details={"job_id": str(job.id), "panel_id": str(p.id), "dropped": result["dropped"],
                        "added": result["added"], "seed": result["seed"], "index": result["index"],
                        "m": result["m"], "number": r["number"], "transcript_hash": r["transcript_hash"],
                        "excluded": len(r["excluded"]), "randomness_commitment": r["randomness"]["commitment"],
                        "next_commitment": r["next_commitment"], "requested_by": job.requested_by})
    return {"replacement_id": str(rid), "panel_id": str(p.id), "dropped": result["dropped"], "added": result["added"],
            "seed": result["seed"], "index": result["index"], "m": result["m"], "number": r["number"],
            "transcript_hash": r["transcript_hash"], "next_commitment": r["next_commitment"]}


async def job_failed(tx: Tx, job_id: uuid.UUID, worker: str, error: str) -> None:
    row = (await tx.session.execute(
        sa.update(m.jobs).where(m.jobs.c.id == job_id, m.jobs.c.worker == worker, m.jobs.c.status == "running")
        .values(status="failed", error=error[:2000], finished_at=sa.func.now())
        .returning(m.jobs.c.assembly_id, m.jobs.c.kind))).first()
    if row is not None:
        await tx.audit(f"{row.kind}.failed", row.assembly_id, object_id=job_id, details={"error": error[:500]})
