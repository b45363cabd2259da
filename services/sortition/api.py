"""Sortition's HTTP API: the pool, seed commitments and reveals, the freeze, the draw and
replacements as background jobs, and the published transcript and fairness report.

The order of a verifiable draw (docs/sortition.md, "The service"):
commit seed contributions -> freeze the pool -> reveal the contributions -> POST draws (202, a
job) -> poll GET /draw-jobs/{id} -> GET panel / transcript / fairness.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Response
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from services.sortition import handlers as h
from services.sortition import models as m
from services.sortition import views as v
from services.sortition.jobs import JobSteps, JobWorker
from shared.auth import AUDITOR, FACILITATOR, ORGANISER, PUBLIC, Principal, allow, scope_from
from shared.openapi import errors
from shared.problems import not_found
from shared.runtime import Resource, Runtime, RuntimeDep

router = APIRouter(tags=["sortition"])

NAME = r"^[A-Za-z0-9][A-Za-z0-9 _.\-]{0,63}$"


class In(BaseModel):
    model_config = ConfigDict(extra="forbid")  # e.g. the old draw's "seed" is refused, not ignored


class CommitIn(In):
    name: str = Field(pattern=NAME, description="Who contributes (a party or office, e.g. 'organiser', 'ombudsman')")
    commitment: str = Field(pattern=r"^[0-9a-fA-F]{64}$",
                            description="sha256 hex of the secret value (`borgerting sortition commit SECRET`)")


class RevealIn(In):
    name: str = Field(pattern=NAME)
    value: str = Field(min_length=1, max_length=1000, description="The secret value committed before the freeze")


class ContributionOut(BaseModel):
    name: str
    commitment: str
    committed_at: datetime
    revealed: bool
    value: str | None = Field(None, description="Shown once the pool is frozen and the value revealed")
    revealed_at: datetime | None = None


class IntersectionalQuotaIn(In):
    category: str = Field(min_length=1, max_length=100, description="e.g. gender")
    value: str = Field(min_length=1, max_length=100, description="e.g. female")
    within: str = Field(pattern=r"^[^=]+=[^=]+$", max_length=201,
                        description="The other category's value, CATEGORY=VALUE, e.g. age=18-39")
    min: int = Field(ge=0, le=100_000)
    max: int = Field(ge=0, le=100_000)


class PopulationFigureIn(In):
    category: str = Field(min_length=1, max_length=100, description="e.g. age")
    value: str = Field(min_length=1, max_length=100, description="e.g. 18-39")
    count: int = Field(ge=0, le=10_000_000_000, description="Citizens with this value (the register's composition)")


class FreezeIn(In):
    algorithm: Literal["leximin", "maximin", "nash", "legacy", "goldilocks", "population"] = Field(
        "leximin", description="population: the end-to-end chances (volunteering x selection) as equal as possible; "
                               "needs population_figures")
    max_probability_multiple: float | None = Field(
        None, gt=0, le=1000, description="goldilocks only: no volunteer's chance above this many times k/n (e.g. 3); "
                                         "without it the cap where the GOLDILOCKS objective is smallest")
    intersectional_quotas: list[IntersectionalQuotaIn] = Field(
        default_factory=list, max_length=500,
        description="Quotas on pairs of categories, on top of the assembly's: e.g. 1-3 women within age=18-39")
    population_figures: list[PopulationFigureIn] = Field(
        default_factory=list, max_length=1000,
        description="population only: citizens per value of every quota category (e.g. from the register), from "
                    "which each volunteer's chance of having volunteered is estimated")
    lottery_size: int = Field(1000, ge=1, le=10000, description="Panels in the uniform lottery (m)")
    reserves: int = Field(0, ge=0, le=10000, description="Length of the ordered reserve list")
    beacon: str | None = Field(None, min_length=1, max_length=200,
                               description="A public beacon round whose value, once published, enters the seed "
                                           "(e.g. 'drand quicknet round 123456')")


class CommitmentOut(BaseModel):
    name: str
    commitment: str


class FreezeOut(BaseModel):
    assembly_id: uuid.UUID
    pool_hash: str
    quotas_hash: str
    pool_size: int
    panel_size: int
    algorithm: str
    engine: str
    lottery_size: int
    reserves: int
    beacon: str | None
    frozen_at: datetime
    quotas: list[dict]
    commitments: list[CommitmentOut]
    excluded_count: int | None = Field(None, description="Volunteers left out of the draw because they withdrew "
                                                         "before the first seed reveal (null until that reveal)")
    excluded_hash: str | None = Field(None, description="sha256 of that list (canonical JSON); the list itself is "
                                                        "in the transcript after the draw")
    excluded_fixed_at: datetime | None = None


class DrawIn(In):
    beacon_value: str | None = Field(None, min_length=1, max_length=1000,
                                     description="The value of the beacon named at the freeze")
    legacy_samples: int = Field(500, ge=0, le=5000,
                                description="Simulated LEGACY draws for the fairness report's comparison (0 = none)")


class ReplaceIn(In):
    dropped: list[uuid.UUID] = Field(min_length=1, max_length=1000, description="Members who dropped out")
    from_reserves: bool = Field(False, description="Draw only from the reserve list (default: the whole frozen pool)")


class JobOut(BaseModel):
    id: uuid.UUID
    assembly_id: uuid.UUID
    kind: Literal["draw", "replacement"]
    status: Literal["pending", "running", "succeeded", "failed"]
    progress: float = Field(description="0..1")
    message: str | None
    error: str | None
    attempts: int
    result: dict[str, Any] | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class PanelOut(BaseModel):
    panel_id: uuid.UUID
    algorithm: str
    seed: str
    pool_size: int
    members: list[uuid.UUID] = Field(description="The panel now (after replacements)")
    reserves: list[uuid.UUID] = Field(description="The ordered reserve list not yet used")
    min_probability: float | None
    transcript_hash: str | None
    replacements: int
    withdrawn_members: list[uuid.UUID] = Field(description="Members who withdrew since: replace them")
    alternates: "AlternatesOut | None" = Field(None, description="Alternates chosen for drop-outs (POST .../alternates)")


class DropoutRateIn(In):
    category: str = Field(min_length=1, max_length=100, description="e.g. age")
    value: str = Field(min_length=1, max_length=100, description="e.g. 18-39")
    rate: float = Field(ge=0, lt=1, description="The share of such members expected to drop out, e.g. 0.15")


class AlternatesIn(In):
    count: int = Field(ge=1, le=1000, description="How many alternates")
    dropout_rates: list[DropoutRateIn] = Field(min_length=1, max_length=1000,
                                               description="Drop-out rates per group; groups without one: 0")
    scenarios: int = Field(40, ge=5, le=200, description="Drop-out scenarios the choice optimises over")


class SimulationOut(BaseModel):
    trials: int
    full_and_within_quotas: float = Field(description="Share of trials that end with a full panel within every quota")
    mean_seats_short: float
    mean_quota_violation: float


class AlternatesOut(BaseModel):
    ids: list[uuid.UUID] = Field(description="The alternates in order; they are the reserve list now")
    count: int
    dropout_rates: list[tuple[str, str, float]]
    scenarios: int
    seed: int = Field(description="The scenarios' seed, from the draw's public seed")
    hash: str = Field(description="sha256 of ids, rates, scenarios and seed; the next replacement transcript names it")
    expected_dropouts: float = Field(description="Expected drop-outs from the panel at these rates")
    after_replacements: int = Field(description="Replacements made before the alternates were chosen")
    simulation: dict[str, SimulationOut] = Field(
        description="Simulated drop-outs replaced from the alternates, from the reserve list they replaced, and from none")


PanelOut.model_rebuild()


class ReplacementOut(BaseModel):
    id: uuid.UUID
    panel_id: uuid.UUID
    job_id: uuid.UUID | None
    dropped: list[uuid.UUID]
    added: list[uuid.UUID]
    record: dict[str, Any]
    created_at: datetime
    number: int | None = Field(None, description="1, 2, ... (null: made before replacement transcripts)")
    transcript_hash: str | None = None


job_scope = scope_from(m.jobs, "job_id", "job")


# The API process's job worker (a resource of app.py's ServiceSpec); a new job wakes it. It runs
# the handlers' steps, handed to it here: the worker imports no handler, so the worker and the
# writes it triggers form no import circle.
JOB_STEPS = JobSteps(inputs=h.job_inputs, succeeded=h.job_succeeded, failed=h.job_failed)
JOB_WORKER = Resource("sortition.job-worker", lambda rt: JobWorker(rt, JOB_STEPS))


def _wake(rt: Runtime) -> None:
    rt.use(JOB_WORKER).wake()


async def _may_see_unpublished(rt: Runtime, who: Principal, assembly_id: uuid.UUID) -> None:
    """Public after the draw; before it, organisers and auditors of the assembly only."""
    async with rt.transaction() as tx:
        if await v.is_drawn(tx, assembly_id):
            return
    if who.global_roles or who.roles_in(assembly_id) & {ORGANISER, AUDITOR}:
        return
    raise not_found("frozen pool (published after the draw)")


@router.get("/assemblies/{assembly_id}/pool", summary="Pool size and counts per category value")
async def pool(assembly_id: uuid.UUID, rt: RuntimeDep,
               who: Principal = Depends(allow(ORGANISER, AUDITOR))) -> dict:
    async with rt.transaction() as tx:
        return await v.pool_summary(tx, assembly_id)


@router.post("/assemblies/{assembly_id}/seed-commitments", status_code=201, response_model=ContributionOut,
             summary="Commit a seed contribution (before the freeze)")
async def commit_seed(assembly_id: uuid.UUID, body: CommitIn, rt: RuntimeDep,
                      who: Principal = Depends(allow(ORGANISER))) -> dict:
    async with rt.transaction() as tx:
        return await h.commit_seed(tx, assembly_id, name=body.name, commitment_hex=body.commitment)


@router.get("/assemblies/{assembly_id}/seed-contributions", response_model=list[ContributionOut],
            summary="Commitments (public), and the values once revealed after the freeze")
async def contributions(assembly_id: uuid.UUID, rt: RuntimeDep,
                        who: Principal = Depends(allow(PUBLIC))) -> list[dict]:
    async with rt.transaction() as tx:
        return await v.list_contributions(tx, assembly_id)


@router.post("/assemblies/{assembly_id}/pool/freeze", status_code=201, response_model=FreezeOut,
             summary="Freeze the pool for the draw; publishes its hash (event pool-frozen)")
async def freeze(assembly_id: uuid.UUID, body: FreezeIn, rt: RuntimeDep,
                 who: Principal = Depends(allow(ORGANISER))) -> dict:
    async with rt.transaction() as tx:
        return await h.freeze_pool(tx, assembly_id, algorithm=body.algorithm, lottery_size=body.lottery_size,
                                   reserves=body.reserves, beacon=body.beacon,
                                   max_probability_multiple=body.max_probability_multiple,
                                   intersectional=[q.model_dump() for q in body.intersectional_quotas],
                                   population=[f.model_dump() for f in body.population_figures])


@router.get("/assemblies/{assembly_id}/pool/freeze", response_model=FreezeOut,
            summary="The frozen pool's hashes, size, quotas and draw parameters")
async def frozen(assembly_id: uuid.UUID, rt: RuntimeDep,
                 who: Principal = Depends(allow(PUBLIC))) -> dict:
    async with rt.transaction() as tx:
        return await v.get_freeze(tx, assembly_id)


VERIFY_HELP = ("`borgerting sortition verify transcript.json --features features.csv --people people.csv "
               "--address-columns household`. Pseudonymous ids and answers only; public after the draw.")


async def _frozen_csv(rt: Runtime, who: Principal, assembly_id: uuid.UUID, which: str) -> Response:
    await _may_see_unpublished(rt, who, assembly_id)
    async with rt.transaction() as tx:
        text = await v.frozen_pool_csv(tx, assembly_id, which)
    return PlainTextResponse(text, media_type="text/csv")


@router.get("/assemblies/{assembly_id}/pool/frozen/features.csv", response_class=PlainTextResponse,
            summary="The quotas of the frozen pool as CSV, for `borgerting sortition verify`", description=VERIFY_HELP)
async def frozen_features(assembly_id: uuid.UUID, rt: RuntimeDep,
                          who: Principal = Depends(allow(PUBLIC))) -> Response:
    return await _frozen_csv(rt, who, assembly_id, "features")


@router.get("/assemblies/{assembly_id}/pool/frozen/people.csv", response_class=PlainTextResponse,
            summary="The frozen pool as CSV, for `borgerting sortition verify`", description=VERIFY_HELP)
async def frozen_people(assembly_id: uuid.UUID, rt: RuntimeDep,
                        who: Principal = Depends(allow(PUBLIC))) -> Response:
    return await _frozen_csv(rt, who, assembly_id, "people")


@router.post("/assemblies/{assembly_id}/seed-reveals", response_model=ContributionOut,
             summary="Reveal a seed contribution (after the freeze); it must match its commitment")
async def reveal_seed(assembly_id: uuid.UUID, body: RevealIn, rt: RuntimeDep,
                      who: Principal = Depends(allow(ORGANISER))) -> dict:
    async with rt.transaction() as tx:
        return await h.reveal_seed(tx, assembly_id, name=body.name, value=body.value)


@router.post("/assemblies/{assembly_id}/draws", status_code=202, response_model=JobOut,
             summary="Start the draw (a background job); poll GET /draw-jobs/{id}")
async def draw(assembly_id: uuid.UUID, body: DrawIn, response: Response, rt: RuntimeDep,
               who: Principal = Depends(allow(ORGANISER))) -> dict:
    async with rt.transaction() as tx:
        job = await h.request_draw(tx, assembly_id, beacon_value=body.beacon_value,
                                   legacy_samples=body.legacy_samples, actor=who.actor)
    _wake(rt)
    response.headers["Location"] = f"/draw-jobs/{job['id']}"
    return job


@router.post("/assemblies/{assembly_id}/replacements", status_code=202, response_model=JobOut,
             summary="Replace drop-outs by a fair draw conditioned on the stayers (a background job)")
async def replace(assembly_id: uuid.UUID, body: ReplaceIn, response: Response, rt: RuntimeDep,
                  who: Principal = Depends(allow(ORGANISER))) -> dict:
    async with rt.transaction() as tx:
        job = await h.request_replacement(tx, assembly_id, dropped=body.dropped, from_reserves=body.from_reserves,
                                          actor=who.actor)
    _wake(rt)
    response.headers["Location"] = f"/draw-jobs/{job['id']}"
    return job


@router.post("/assemblies/{assembly_id}/alternates", status_code=201, response_model=AlternatesOut,
             summary="Choose alternates for drop-outs (per-group drop-out rates); they become the reserve list")
async def alternates(assembly_id: uuid.UUID, body: AlternatesIn, rt: RuntimeDep,
                     who: Principal = Depends(allow(ORGANISER))) -> dict:
    async with rt.transaction() as tx:
        return await h.choose_alternates(tx, assembly_id, count=body.count, scenarios=body.scenarios,
                                         rates=[r.model_dump() for r in body.dropout_rates], actor=who.actor)


@router.get("/assemblies/{assembly_id}/replacements", response_model=list[ReplacementOut])
async def replacements(assembly_id: uuid.UUID, rt: RuntimeDep,
                       who: Principal = Depends(allow(ORGANISER, AUDITOR))) -> list[dict]:
    async with rt.transaction() as tx:
        return await v.list_replacements(tx, assembly_id)


REPLACEMENT_HELP = ("Replay with `borgerting sortition verify-replacement R1.json [R2.json ...] --draw transcript.json "
                    "--features features.csv --people people.csv --address-columns household` (the frozen pool files "
                    "and the draw's transcript from this service). Pseudonymous ids only.")


@router.get("/assemblies/{assembly_id}/replacements/transcripts", summary="Every replacement's transcript (public), "
            "in order: each one's panel before is the previous one's panel after", description=REPLACEMENT_HELP)
async def replacement_transcripts(assembly_id: uuid.UUID, rt: RuntimeDep,
                                  who: Principal = Depends(allow(PUBLIC))) -> list[dict]:
    async with rt.transaction() as tx:
        return await v.replacement_transcripts(tx, assembly_id)


class RandomnessCommitmentOut(BaseModel):
    number: int = Field(description="The replacement this randomness is for (1, 2, ...)")
    commitment: str = Field(description="sha256 hex of its random value, which that replacement's transcript reveals")
    committed_at: datetime


@router.get("/assemblies/{assembly_id}/replacements/commitment", response_model=RandomnessCommitmentOut,
            summary="The commitment to the next replacement's fresh randomness (public, before its drop-outs are "
                    "known)",
            description="Keep it: `borgerting sortition verify-replacement Rn.json ... --commitment HEX` checks that "
                        "replacement n reveals the value committed here. Replacement 1's is also in the draw's "
                        "transcript (replacement_commitment), each later one in the transcript before it "
                        "(next_commitment).")
async def replacement_commitment(assembly_id: uuid.UUID, rt: RuntimeDep,
                                 who: Principal = Depends(allow(PUBLIC))) -> dict:
    async with rt.transaction() as tx:
        return await v.replacement_commitment(tx, assembly_id)


@router.get("/assemblies/{assembly_id}/replacements/{number}/transcript",
            summary="Replacement number n's transcript (public)", description=REPLACEMENT_HELP)
async def replacement_transcript(rt: RuntimeDep, assembly_id: uuid.UUID, number: int = Path(ge=1, le=1_000_000), who: Principal = Depends(allow(PUBLIC))) -> dict:
    async with rt.transaction() as tx:
        [t] = await v.replacement_transcripts(tx, assembly_id, number)
        return t


@router.get("/draw-jobs/{job_id}", response_model=JobOut, summary="A draw or replacement job: status, progress, errors")
async def job(job_id: uuid.UUID, rt: RuntimeDep,
              who: Principal = Depends(allow(ORGANISER, AUDITOR, scope=job_scope))) -> dict:
    async with rt.transaction() as tx:
        return await v.get_job(tx, job_id)


@router.get("/assemblies/{assembly_id}/draw-jobs", response_model=list[JobOut])
async def jobs(assembly_id: uuid.UUID, rt: RuntimeDep,
               who: Principal = Depends(allow(ORGANISER, AUDITOR))) -> list[dict]:
    async with rt.transaction() as tx:
        return await v.list_jobs(tx, assembly_id)


@router.get("/assemblies/{assembly_id}/panel", response_model=PanelOut)
async def panel(assembly_id: uuid.UUID, rt: RuntimeDep,
                who: Principal = Depends(allow(ORGANISER, FACILITATOR, AUDITOR))) -> dict:
    async with rt.transaction() as tx:
        return await v.get_panel(tx, assembly_id)


@router.get("/assemblies/{assembly_id}/transcript",
            summary="The draw's transcript (public): replay it with `borgerting sortition verify`")
async def transcript(assembly_id: uuid.UUID, rt: RuntimeDep,
                     who: Principal = Depends(allow(PUBLIC))) -> dict:
    async with rt.transaction() as tx:
        return await v.get_transcript(tx, assembly_id)


@router.get("/assemblies/{assembly_id}/fairness",
            summary="The fairness report (public): selection probabilities, quota check, LEGACY comparison")
async def fairness(assembly_id: uuid.UUID, rt: RuntimeDep,
                   who: Principal = Depends(allow(PUBLIC))) -> dict:
    async with rt.transaction() as tx:
        return await v.get_fairness(tx, assembly_id)


CERTIFY_HELP = ("The LEXIMIN result behind the draw (its type panels and selection probabilities) with its "
                "certificate of optimality; its hash is the transcript's certificate_hash. Check it with "
                "`borgerting sortition certify certificate.json --features features.csv --people people.csv "
                "--address-columns household`. Pseudonymous ids only; public after the draw.")


@router.get("/assemblies/{assembly_id}/certificate", responses=errors(404),
            summary="The draw's certificate of optimality (public): check it with `borgerting sortition certify`",
            description=CERTIFY_HELP)
async def certificate(assembly_id: uuid.UUID, rt: RuntimeDep,
                      who: Principal = Depends(allow(PUBLIC))) -> dict:
    async with rt.transaction() as tx:
        return await v.get_certificate(tx, assembly_id)
