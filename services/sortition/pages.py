"""Sortition's pages: the public draw (product.md, journey 4) — seed commitments from named
contributors, the freeze with its parameters, the reveals, the draw with live progress (a page that
refreshes itself, no script needed), the panel and reserves, the public fairness page with a chart
of selection chances, the transcript and pool files with the exact verify command, and
replacements (request, list, transcripts, the commitment to the next one's randomness).

Writes go through the handlers the API uses; a refusal of the domain (already frozen, a value that
does not match its commitment, ...) is shown on the page, in the chosen language, with the
service's own words beside it."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse, Response

from services.sortition import handlers as h
from services.sortition import views as v
from services.sortition.api import NAME, _frozen_csv, _wake
from services.sortition.domain import SortitionInputError
from services.sortition.domain.chart import selection_chart
from services.sortition.domain.freeze import parse_intersectional
from services.sortition.domain.population import parse_population
from shared.auth import AUDITOR, ORGANISER, PUBLIC, Principal, allow
from shared.openapi import errors
from shared.problems import DomainError, NotFound
from shared.runtime import Runtime, RuntimeDep
from shared.ui import N_, Pages, service_url
from shared.ui.commands import download_command
from shared.ui.pages import forwarded_prefix
from shared.ui.signin import public_base

pages = Pages("sortition", Path(__file__).parent / "templates")
router = APIRouter(tags=["pages"])

ALGORITHMS = {"leximin": N_("LEXIMIN: the lowest chance as high as possible, then the next (recommended)"),
              "maximin": N_("MAXIMIN: the lowest chance as high as possible"),
              "nash": N_("NASH: the product of the chances as high as possible"),
              "legacy": N_("LEGACY: the greedy draw used before (for comparison)"),
              "goldilocks": N_("GOLDILOCKS: no chance too low and none too high (the highest chance capped)"),
              "population": N_("Whole population: every citizen's chance from invitation to panel as equal as "
                               "possible (needs the population's figures)")}
STEP_NAMES = {"commit": N_("Seed commitments"), "freeze": N_("Freeze the pool"), "reveal": N_("Reveal the seeds"),
              "draw": N_("Draw"), "drawn": N_("Panel drawn")}
JOB_STATES = {"pending": N_("Waiting to start"), "running": N_("Running"), "succeeded": N_("Finished"),
              "failed": N_("Failed")}
HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")
NAME_RE = re.compile(NAME)
PROBLEMS = {
    "name": N_("Enter a name of 1-64 letters, digits, spaces, dots, dashes or underscores, starting with a letter or digit"),
    "commitment": N_("Enter the commitment: 64 hexadecimal characters (the output of `borgerting sortition commit SECRET`)"),
    "reveal_name": N_("Choose whose seed you reveal"),
    "value": N_("Enter the secret value (1-1000 characters) that was committed"),
    "algorithm": N_("Choose an algorithm"),
    "cap": N_("Enter a number above 0 (for example 3), and only with GOLDILOCKS"),
    "intersectional": N_("Write one quota per line as category,value,category=value,minimum,maximum"),
    "population": N_("Write one line per group as category,value,number of citizens, and only with Whole population"),
    "lottery_size": N_("Enter a whole number from 1 to 10,000"),
    "reserves": N_("Enter a whole number from 0 to 10,000"),
    "beacon": N_("The beacon's name can have at most 200 characters"),
    "confirm": N_("Tick the box to confirm"),
    "beacon_value": N_("Enter the beacon's value (1-1000 characters)"),
    "legacy_samples": N_("Enter a whole number from 0 to 5,000"),
    "dropped": N_("Choose at least one member who dropped out"),
}


def _problem(request: Request, field: str) -> dict:
    return {"field": field, "message": pages.gettext(request)(PROBLEMS[field])}


def _int(form, field: str, low: int, high: int, default: int) -> int | None:
    raw = str(form.get(field, "")).strip().replace(".", "").replace(",", "")
    if raw == "":
        return default
    return int(raw) if raw.isdigit() and low <= int(raw) <= high else None


def is_organiser(who: Principal, assembly_id: uuid.UUID) -> bool:
    return bool(who.global_roles) or ORGANISER in who.roles_in(assembly_id)


def links(request: Request, assembly_id: uuid.UUID) -> dict:
    base = f"/assemblies/{assembly_id}/draw"
    return {k: service_url(request, base + p) for k, p in (
        ("draw", ""), ("panel", "/panel"), ("fairness", "/fairness"), ("replacements", "/replacements"),
        ("transcript", "/transcript.json"), ("certificate", "/certificate.json"), ("features", "/features.csv"), ("people", "/people.csv"))}


# ---- the draw: commitments, freeze, reveals, start ----------------------------------------------


async def _state(rt: Runtime, assembly_id: uuid.UUID) -> dict:
    async with rt.transaction() as tx:
        a = await v.load_assembly(tx, assembly_id)
        pool = await v.pool_summary(tx, assembly_id)
        freeze = await v.freeze_facts(tx, assembly_id)
        contributions = await v.list_contributions(tx, assembly_id)
        panel = await v.is_drawn(tx, assembly_id)
        jobs = await v.list_jobs(tx, assembly_id)
    unrevealed = [c["name"] for c in contributions if not c["revealed"]]
    active = next((j for j in reversed(jobs) if j["kind"] == "draw" and j["status"] in ("pending", "running")), None)
    if panel:
        step = "drawn"
    elif freeze is None:
        step = "commit" if not contributions else "freeze"
    elif unrevealed:
        step = "reveal"
    else:
        step = "draw"
    return {"assembly": a, "pool": pool, "freeze": None if freeze is None else v.freeze_out(freeze),
            "contributions": contributions, "unrevealed": unrevealed, "panel": panel, "step": step,
            "active_job": active, "jobs": [j for j in jobs if j["kind"] == "draw"]}


async def _draw_page(request: Request, rt: Runtime, who: Principal, assembly_id: uuid.UUID, *,
                     errors_: list | None = None, refused: dict | None = None, form: dict | None = None,
                     status: int = 200) -> Response:
    state = await _state(rt, assembly_id)
    errors_ = errors_ or []
    order = list(STEP_NAMES)
    current = order.index(state["step"])
    steps = [{"name": STEP_NAMES[s], "state": "done" if i < current or s == state["step"] == "drawn" else
              ("current" if i == current else "todo")} for i, s in enumerate(order)]
    return pages.render(request, "draw.html", {
        **state, "steps": steps, "regions": state["assembly"].regions, "errors": errors_, "by_field": {e["field"]: e["message"] for e in errors_},
        "refused": refused, "form": form or {}, "organiser": is_organiser(who, assembly_id),
        "reveal_options": [(n, n) for n in state["unrevealed"]], "job_states": JOB_STATES,
        "algorithms": [(k, pages.gettext(request)(t)) for k, t in ALGORITHMS.items()],
        "links": links(request, assembly_id), "assembly_id": assembly_id}, who=who, status=refused and refused["status"] or status)


@router.get("/assemblies/{assembly_id}/draw", summary="The draw: seeds, freeze, reveals, start (HTML)",
            responses=errors(404))
async def draw_page(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                    who: Principal = Depends(allow(ORGANISER, AUDITOR, page=True))) -> Response:
    return await _draw_page(request, rt, who, assembly_id)


async def _write(request: Request, rt: Runtime, who: Principal, assembly_id: uuid.UUID, form: dict, write) -> Response:
    """Run a write of the handlers; back to the draw page, or the page with the refusal on it."""
    try:
        async with rt.transaction() as tx:
            await write(tx)
    except DomainError as exc:
        if isinstance(exc, NotFound) and "assembly" in exc.message:
            raise
        return await _draw_page(request, rt, who, assembly_id, refused=pages.refusal(request, exc), form=form)
    return pages.redirect(request, service_url(request, f"/assemblies/{assembly_id}/draw"))


async def _form(request: Request) -> dict:
    return {k: str(x) for k, x in (await request.form()).items() if k != "csrf_token"}


@router.post("/assemblies/{assembly_id}/draw/commitments", summary="Commit a seed contribution (HTML form)",
             responses=errors(404, 409, 422))
async def commit_form(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                      who: Principal = Depends(allow(ORGANISER, page=True))) -> Response:
    form = await _form(request)
    name, commitment = form.get("name", "").strip(), form.get("commitment", "").strip().lower()
    problems = [_problem(request, f) for f, ok in (("name", NAME_RE.match(name)), ("commitment", HEX64.match(commitment)))
                if not ok]
    if problems:
        return await _draw_page(request, rt, who, assembly_id, errors_=problems, form=form, status=422)
    return await _write(request, rt, who, assembly_id, form,
                        lambda tx: h.commit_seed(tx, assembly_id, name=name, commitment_hex=commitment))


@router.post("/assemblies/{assembly_id}/draw/freeze", summary="Freeze the pool (HTML form)",
             responses=errors(404, 409, 422))
async def freeze_form(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                      who: Principal = Depends(allow(ORGANISER, page=True))) -> Response:
    form = await _form(request)
    algorithm = form.get("algorithm", "")
    lottery_size, reserves = _int(form, "lottery_size", 1, 10000, 1000), _int(form, "reserves", 0, 10000, 0)
    beacon = form.get("beacon", "").strip() or None
    cap = _cap(form)
    try:
        intersectional = parse_intersectional(str(form.get("intersectional", "")))
    except SortitionInputError:
        intersectional = None
    population = _population(form)
    problems = [_problem(request, f) for f, ok in (
        ("intersectional", intersectional is not None),
        ("population", population != "bad" and bool(population) == (algorithm == "population")),
        ("algorithm", algorithm in ALGORITHMS), ("cap", cap != "bad" and (cap is None or algorithm == "goldilocks")),
        ("lottery_size", lottery_size is not None),
        ("reserves", reserves is not None), ("beacon", beacon is None or len(beacon) <= 200),
        ("confirm", form.get("confirm") == "true")) if not ok]
    if problems:
        return await _draw_page(request, rt, who, assembly_id, errors_=problems, form=form, status=422)
    return await _write(request, rt, who, assembly_id, form, lambda tx: h.freeze_pool(
        tx, assembly_id, algorithm=algorithm, lottery_size=lottery_size, reserves=reserves, beacon=beacon,
        max_probability_multiple=cap, intersectional=intersectional, population=population))


def _population(form) -> list[dict] | str:
    """The whole-population figures, lines ``category,value,count`` ([] when empty; "bad")."""
    text = str(form.get("population", ""))
    if not text.strip():
        return []
    try:
        return [{"category": c, "value": v, "count": n} for (c, v), n in parse_population(text).items()]
    except SortitionInputError:
        return "bad"


def _cap(form) -> float | None | str:
    """GOLDILOCKS' cap as a multiple of k/n (empty: none; "bad": not a number above 0, up to 1000)."""
    raw = str(form.get("cap", "")).strip().replace(",", ".")
    if raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        return "bad"
    return value if 0 < value <= 1000 else "bad"


@router.post("/assemblies/{assembly_id}/draw/reveals", summary="Reveal a seed contribution (HTML form)",
             responses=errors(404, 409, 422))
async def reveal_form(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                      who: Principal = Depends(allow(ORGANISER, page=True))) -> Response:
    form = await _form(request)
    name, value = form.get("reveal_name", ""), form.get("value", "")
    problems = [_problem(request, f) for f, ok in (("reveal_name", NAME_RE.match(name)),
                                                   ("value", 1 <= len(value) <= 1000)) if not ok]
    if problems:
        return await _draw_page(request, rt, who, assembly_id, errors_=problems, form=form, status=422)
    return await _write(request, rt, who, assembly_id, form,
                        lambda tx: h.reveal_seed(tx, assembly_id, name=name, value=value))


@router.post("/assemblies/{assembly_id}/draw/start", summary="Start the draw (HTML form); then its progress page",
             responses=errors(404, 409, 422))
async def start_form(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                     who: Principal = Depends(allow(ORGANISER, page=True))) -> Response:
    form = await _form(request)
    beacon_value = form.get("beacon_value", "").strip() or None
    samples = _int(form, "legacy_samples", 0, 5000, 500)
    problems = [_problem(request, f) for f, ok in (
        ("beacon_value", beacon_value is None or len(beacon_value) <= 1000), ("legacy_samples", samples is not None),
        ("confirm", form.get("confirm") == "true")) if not ok]
    if problems:
        return await _draw_page(request, rt, who, assembly_id, errors_=problems, form=form, status=422)
    try:
        async with rt.transaction() as tx:
            job = await h.request_draw(tx, assembly_id, beacon_value=beacon_value, legacy_samples=samples,
                                       actor=who.actor)
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        return await _draw_page(request, rt, who, assembly_id, refused=pages.refusal(request, exc), form=form)
    _wake(rt)
    return pages.redirect(request, service_url(request, f"/assemblies/{assembly_id}/draw/jobs/{job['id']}"))


# ---- a job's live progress ------------------------------------------------------------------------


@router.get("/assemblies/{assembly_id}/draw/jobs/{job_id}", summary="A draw or replacement job's progress (HTML)",
            responses=errors(404))
async def job_page(assembly_id: uuid.UUID, job_id: uuid.UUID, rt: RuntimeDep, request: Request,
                   who: Principal = Depends(allow(ORGANISER, AUDITOR, page=True))) -> Response:
    async with rt.transaction() as tx:
        job = await v.get_job(tx, job_id)
    if job["assembly_id"] != assembly_id:
        raise NotFound("job not found")
    running = job["status"] in ("pending", "running")
    return pages.render(request, "job.html", {
        "job": job, "running": running, "state_name": JOB_STATES[job["status"]],
        "links": links(request, assembly_id), "assembly_id": assembly_id,
        "still": request.query_params.get("still") == "1"},
        who=who, headers={"refresh": "2"} if running and request.query_params.get("still") != "1" else None)


# ---- the public fairness page and the files to verify the draw ---------------------------------


def verify_commands(request: Request, assembly_id: uuid.UUID) -> str:
    base = public_base(request) + forwarded_prefix(request) + f"/assemblies/{assembly_id}/draw"
    return ("".join(download_command(f"{base}/{name}", name) + "\n"
                    for name in ("transcript.json", "features.csv", "people.csv"))
            + "borgerting sortition verify transcript.json --features features.csv --people people.csv "
            "--address-columns household")


def certify_command(request: Request, assembly_id: uuid.UUID) -> str:
    """After verify_commands (the same pool files): check the certificate of optimality."""
    base = public_base(request) + forwarded_prefix(request) + f"/assemblies/{assembly_id}/draw"
    return (download_command(f"{base}/certificate.json", "certificate.json") + "\n"
            "borgerting sortition certify certificate.json --features features.csv --people people.csv "
            "--address-columns household")


@router.get("/assemblies/{assembly_id}/draw/fairness", summary="The fairness report with a chart (HTML, public)",
            responses=errors(404))
async def fairness_page(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                        who: Principal = Depends(allow(PUBLIC, page=True))) -> Response:
    async with rt.transaction() as tx:
        a = await v.load_assembly(tx, assembly_id)
        report = await v.get_fairness(tx, assembly_id)
    chart = selection_chart(report["profiles"], n=report["n"], k=report["k"])
    return pages.render(request, "fairness.html", {
        "f": report, "chart": chart, "regions": a.regions, "strata": a.strata, "links": links(request, assembly_id),
        "verify": verify_commands(request, assembly_id),
        "certify": certify_command(request, assembly_id) if report.get("certificate") else None,
        "assembly_id": assembly_id}, who=who)


def _download(body, name: str) -> JSONResponse:
    return JSONResponse(body, headers={"content-disposition": f'attachment; filename="{name}"'})


@router.get("/assemblies/{assembly_id}/draw/transcript.json", summary="The draw's transcript (public download)",
            responses=errors(404))
async def transcript_download(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                              who: Principal = Depends(allow(PUBLIC, page=True))) -> Response:
    async with rt.transaction() as tx:
        return _download(await v.get_transcript(tx, assembly_id), "transcript.json")


@router.get("/assemblies/{assembly_id}/draw/certificate.json",
            summary="The draw's certificate of optimality (public download, for `borgerting sortition certify`)",
            responses=errors(404))
async def certificate_download(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                               who: Principal = Depends(allow(PUBLIC, page=True))) -> Response:
    async with rt.transaction() as tx:
        return _download(await v.get_certificate(tx, assembly_id), "certificate.json")


@router.get("/assemblies/{assembly_id}/draw/features.csv", summary="The frozen pool's quotas (public after the draw)",
            responses=errors(404))
async def features_download(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                            who: Principal = Depends(allow(PUBLIC, page=True))) -> Response:
    return await _frozen_csv(rt, who, assembly_id, "features")


@router.get("/assemblies/{assembly_id}/draw/people.csv", summary="The frozen pool (public after the draw)",
            responses=errors(404))
async def people_download(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                          who: Principal = Depends(allow(PUBLIC, page=True))) -> Response:
    return await _frozen_csv(rt, who, assembly_id, "people")


# ---- replacements -------------------------------------------------------------------------------


async def _replacements_page(request: Request, rt: Runtime, who: Principal, assembly_id: uuid.UUID, *,
                             errors_: list | None = None, refused: dict | None = None, form=None,
                             status: int = 200) -> Response:
    async with rt.transaction() as tx:
        await v.load_assembly(tx, assembly_id)
        panel = await v.get_panel(tx, assembly_id) if await v.is_drawn(tx, assembly_id) else None
        done = await v.list_replacements(tx, assembly_id)
        try:
            commitment = await v.replacement_commitment(tx, assembly_id)
        except NotFound:
            commitment = None
        jobs = [j for j in await v.list_jobs(tx, assembly_id) if j["kind"] == "replacement"]
        requests = await v.replacement_requests(tx, assembly_id, panel["members"] if panel else [])
    errors_ = errors_ or []
    chosen = next((r for r in requests if str(r["id"]) == request.query_params.get("request")), None)
    if form is None and chosen is not None:  # "Replace these members": the request's members ticked
        form = {"dropped": chosen["still"]}
    base = public_base(request) + forwarded_prefix(request) + f"/assemblies/{assembly_id}/draw"
    numbers = [r["number"] for r in done if r["number"] and r["transcript_hash"]]
    verify = None
    if numbers:
        files = " ".join(f"r{n}.json" for n in numbers)
        verify = ("".join(download_command(f"{base}/replacements/{n}/transcript.json", f"r{n}.json") + "\n"
                          for n in numbers)
                  + f"borgerting sortition verify-replacement {files} --draw transcript.json "
                  "--features features.csv --people people.csv --address-columns household")
    return pages.render(request, "replacements.html", {
        "panel": panel, "withdrawn": set(map(str, panel["withdrawn_members"])) if panel else set(),
        "replacements": done, "commitment": commitment, "jobs": jobs, "verify": verify, "requests": requests,
        "open_requests": [r for r in requests if r["state"] == "open"], "chosen": chosen,
        "errors": errors_, "by_field": {e["field"]: e["message"] for e in errors_}, "refused": refused,
        "form": form or {}, "organiser": is_organiser(who, assembly_id), "links": links(request, assembly_id),
        "assembly_id": assembly_id}, who=who, status=refused and refused["status"] or status)


@router.get("/assemblies/{assembly_id}/draw/replacements", summary="Replacements: request, list, commitment (HTML)",
            responses=errors(404))
async def replacements_page(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                            who: Principal = Depends(allow(ORGANISER, AUDITOR, page=True))) -> Response:
    return await _replacements_page(request, rt, who, assembly_id)


@router.post("/assemblies/{assembly_id}/draw/replacements", summary="Replace drop-outs (HTML form)",
             responses=errors(404, 409, 422))
async def replace_form(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                       who: Principal = Depends(allow(ORGANISER, page=True))) -> Response:
    raw = await request.form()
    dropped_raw = [str(x) for x in raw.getlist("dropped")]
    form = {"dropped": dropped_raw, "from_reserves": raw.get("from_reserves") == "true"}
    try:
        dropped = [uuid.UUID(x) for x in dropped_raw]
    except ValueError:
        dropped = []
    problems = [_problem(request, f) for f, ok in (("dropped", 1 <= len(dropped) <= 1000),
                                                   ("confirm", raw.get("confirm") == "true")) if not ok]
    if problems:
        return await _replacements_page(request, rt, who, assembly_id, errors_=problems, form=form, status=422)
    try:
        async with rt.transaction() as tx:
            job = await h.request_replacement(tx, assembly_id, dropped=dropped, from_reserves=form["from_reserves"],
                                              actor=who.actor)
    except DomainError as exc:
        if isinstance(exc, NotFound) and "assembly" in exc.message:
            raise
        return await _replacements_page(request, rt, who, assembly_id, refused=pages.refusal(request, exc), form=form)
    _wake(rt)
    return pages.redirect(request, service_url(request, f"/assemblies/{assembly_id}/draw/jobs/{job['id']}"))


@router.get("/assemblies/{assembly_id}/draw/replacements/{number}/transcript.json",
            summary="Replacement n's transcript (public download)", responses=errors(404))
async def replacement_download(assembly_id: uuid.UUID, rt: RuntimeDep, request: Request,
                               number: int = PathParam(ge=1, le=1_000_000),
                               who: Principal = Depends(allow(PUBLIC, page=True))) -> Response:
    async with rt.transaction() as tx:
        [t] = await v.replacement_transcripts(tx, assembly_id, number)
    return _download(t, f"replacement-{number}.json")
