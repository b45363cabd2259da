"""`borgerting sortition ...`: select, draw, verify, replace, verify-replacement, commit (offline tools)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from .certify import CertificateError, certify, read_pool
from .domain import (Contribution, SortitionInputError, VerificationError, commitment, draw_replacement,
                     eligible_instance, replacement_exclusions, verify_replacements, verify_transcript)
from .domain.alternates import choose_alternates, dropout_rates, simulate
from .domain.api import final_draw
from .domain.engine import algorithm_spec, select
from .domain.highs_util import new_highs
from .domain.io_formats import read_peer_format, read_replication
from .domain.lottery import make_lottery
from .domain.population import counts_in_order, parse_population, population_spec

app = typer.Typer(no_args_is_help=True, help="Fair selection: select, draw, verify, replace.")
err = Console(stderr=True)


def _fail(msg: str, code: int = 2) -> None:
    err.print(f"[bold red]error:[/] {msg}", highlight=False)
    raise typer.Exit(code)


def _load(categories, respondents, features, people, k, id_column, address_columns):
    if categories or respondents:
        if not (categories and respondents):
            _fail("--categories and --respondents go together")
        if features or people:
            _fail("give either --categories/--respondents or --features/--people, not both")
        return read_replication(categories, respondents, k)
    if features and people:
        addr = [a.strip() for a in address_columns.split(",")] if address_columns else None
        return read_peer_format(features, people, k, id_column=id_column, address_columns=addr)
    _fail("give the pool: --categories C --respondents R, or --features F --people P")


class _Progress:
    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.t0 = time.perf_counter()
        self.last = 0.0

    def __call__(self, msg: str, frac: float) -> None:
        now = time.perf_counter()
        if self.quiet or now - self.last < 1.0:
            return
        self.last = now
        err.print(f"[dim]{now - self.t0:7.1f}s[/] {msg}", highlight=False)


def _read_json(path: Path, what: str) -> dict:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        _fail(f"cannot read {what} {path}: {exc}")


def _write_json(obj, path: Optional[Path]) -> None:
    text = json.dumps(obj, indent=1, ensure_ascii=False)
    if path is None or str(path) == "-":
        sys.stdout.write(text + "\n")
    else:
        Path(path).write_text(text + "\n", encoding="utf-8")


_opt = dict(
    categories=typer.Option(None, "--categories", help="replication format: categories.csv"),
    respondents=typer.Option(None, "--respondents", help="replication format: respondents.csv"),
    features=typer.Option(None, "--features", help="sortition-algorithms format: features CSV"),
    people=typer.Option(None, "--people", help="sortition-algorithms format: people CSV"),
    id_column=typer.Option(None, "--id-column", help="people CSV id column (default: first column)"),
    address_columns=typer.Option(None, "--address-columns",
                                 help="comma-separated people CSV columns; one member per address"),
    cap=typer.Option(None, "--cap", help="goldilocks: no one's chance above CAP x k/n (default: the cap "
                                         "that minimises the GOLDILOCKS objective)"),
    gamma=typer.Option(None, "--gamma", help="goldilocks: weight of the minimum in the objective (default 1)"),
    population=typer.Option(None, "--population",
                            help="-a population: CSV category,value,count (citizens per quota value: the "
                                 "register's composition); the end-to-end chances are made as equal as possible"),
)


def _algorithm(algorithm: str, cap: Optional[float], gamma: Optional[float],
               population: Optional[Path] = None) -> str:
    """The algorithm spec (``goldilocks:cap=3``) from -a and its options (``-a population`` with
    ``--population``: finished by ``_with_population`` once the pool is read)."""
    try:
        name = algorithm.lower().partition(":")[0]
        if (cap is not None or gamma is not None) and name != "goldilocks":
            raise SortitionInputError("--cap and --gamma belong to -a goldilocks")
        if (population is not None) != (name == "population" and ":" not in algorithm):
            raise SortitionInputError("-a population needs --population FILE (CSV category,value,count), and "
                                      "--population belongs to -a population")
        if population is not None:
            return "population"
        return algorithm_spec(algorithm, cap_multiple=cap, gamma=gamma) if ":" not in algorithm else \
            algorithm_spec(algorithm)
    except SortitionInputError as exc:
        _fail(str(exc))


def _with_population(spec: str, inst, population: Optional[Path]) -> str:
    """``-a population --population FILE``: the spec with the file's counts in the quotas' order."""
    if population is None:
        return spec
    try:
        text = Path(population).read_text(encoding="utf-8-sig")
    except OSError as exc:
        _fail(f"cannot read the population figures {population}: {exc}")
    return population_spec(counts_in_order(inst, parse_population(text)))


def _report_population(res) -> None:
    p = res.stats.get("population")
    if p:
        e, lx = p["end_to_end"], p["leximin_end_to_end"]
        err.print(f"whole population: {p['population']} citizens, k/N = {p['share']:.3g}; end-to-end chance "
                  f"{e['min_multiple']:.3f}..{e['max_multiple']:.3f} x k/N (LEXIMIN: {lx['min_multiple']:.3f}.."
                  f"{lx['max_multiple']:.3f}), population within 10 % of k/N {e['population_within_10_percent']:.1%} "
                  f"(LEXIMIN {lx['population_within_10_percent']:.1%})", highlight=False)


def _report_goldilocks(res) -> None:
    g = res.stats.get("goldilocks")
    if g:
        err.print(f"goldilocks: LEXIMIN would give min {g['leximin_min']:.5f} max {g['leximin_max']:.5f} "
                  f"({g['leximin_max_multiple']:.2f} x k/n); cap {g['cap']:.5f} ({g['cap_multiple']:.2f} x k/n, "
                  f"{'given' if g['cap_given'] else 'chosen'}): min {g['min']:.5f} max {g['max']:.5f}, "
                  f"price in the minimum {g['price_in_minimum']:.5f}", highlight=False)


@app.command("select")
def select_cmd(
    panel_size: int = typer.Option(..., "--panel-size", "-k", help="number of panel members"),
    algorithm: str = typer.Option("leximin", "--algorithm", "-a",
                                  help="leximin | maximin | nash | legacy | goldilocks | population"),
    cap: Optional[float] = _opt["cap"],
    gamma: Optional[float] = _opt["gamma"],
    population: Optional[Path] = _opt["population"],
    json_out: Optional[Path] = typer.Option(None, "--json", help="write the result JSON here (default stdout)"),
    categories: Optional[Path] = _opt["categories"],
    respondents: Optional[Path] = _opt["respondents"],
    features: Optional[Path] = _opt["features"],
    people: Optional[Path] = _opt["people"],
    id_column: Optional[str] = _opt["id_column"],
    address_columns: Optional[str] = _opt["address_columns"],
    max_panels: int = typer.Option(200_000, help="cap on concrete panels written to the JSON"),
    legacy_samples: int = typer.Option(1000, help="LEGACY: number of simulated draws"),
    seed: int = typer.Option(0, help="LEGACY: simulation seed"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress on stderr"),
) -> None:
    """Compute the selection distribution and fairness report."""
    algorithm = _algorithm(algorithm, cap, gamma, population)
    try:
        inst = _load(categories, respondents, features, people, panel_size, id_column, address_columns)
        algorithm = _with_population(algorithm, inst, population)
        res = select(inst, algorithm, progress=_Progress(quiet), legacy_samples=legacy_samples, seed=seed)
    except SortitionInputError as exc:
        _fail(str(exc))
    if json_out is None or str(json_out) == "-":  # streamed: a large pool's panels never sit in memory whole
        res.write_json(sys.stdout, max_panels=max_panels)
    else:
        with open(json_out, "w", encoding="utf-8") as fp:
            res.write_json(fp, max_panels=max_panels)
    if not quiet:
        err.print(f"{res.algorithm}: n={inst.n} k={inst.k} min={res.min_probability:.5f} "
                  f"max={res.max_probability:.5f} gini={res.gini:.5f} in {res.seconds:.2f}s", highlight=False)
        _report_goldilocks(res)
        _report_population(res)


def _parse_contributions(commitments: Optional[Path], reveal: list[str]) -> list[Contribution]:
    committed: dict[str, str] = {}
    if commitments:
        try:
            data = json.loads(Path(commitments).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            _fail(f"cannot read commitments file {commitments}: {exc}")
        committed = {str(k): str(v) for k, v in data.items()}
    revealed: dict[str, str] = {}
    for r in reveal:
        if "=" not in r:
            _fail(f"--reveal expects NAME=VALUE, got '{r}'")
        name, value = r.split("=", 1)
        revealed[name.strip()] = value
    if not revealed:
        _fail("at least one seed contribution is needed (--reveal NAME=VALUE)")
    missing = sorted(set(committed) - set(revealed))
    if missing:
        _fail(f"committed contributions not revealed: {', '.join(missing)}")
    out = []
    for name, value in revealed.items():
        if committed and name not in committed:
            _fail(f"contribution '{name}' was never committed")
        out.append(Contribution(name, committed.get(name, commitment(value)), value))
    if not committed:
        err.print("[yellow]warning:[/] no --commitments file: commitments are computed from the revealed "
                  "values, which proves nothing about when they were chosen", highlight=False)
    return out


@app.command("draw")
def draw_cmd(
    panel_size: int = typer.Option(..., "--panel-size", "-k"),
    transcript: Path = typer.Option(..., "--transcript", help="write the transcript JSON here"),
    reveal: list[str] = typer.Option([], "--reveal", help="revealed seed contribution NAME=VALUE (repeat)"),
    commitments: Optional[Path] = typer.Option(None, "--commitments",
                                               help='JSON {"name": "sha256 hex"} published before the pool froze'),
    beacon: Optional[str] = typer.Option(None, "--beacon", help="public beacon value (optional)"),
    algorithm: str = typer.Option("leximin", "--algorithm", "-a",
                                  help="leximin | maximin | nash | legacy | goldilocks | population"),
    cap: Optional[float] = _opt["cap"],
    gamma: Optional[float] = _opt["gamma"],
    population: Optional[Path] = _opt["population"],
    lottery_size: int = typer.Option(1000, "--lottery-size", "-m", help="panels in the uniform lottery"),
    reserves: int = typer.Option(0, "--reserves", help="length of the ordered reserve list"),
    exclude: list[str] = typer.Option([], "--exclude",
                                      help="id of a volunteer who withdrew before the seed was known (repeat); "
                                           "left out of the draw, listed in the transcript"),
    categories: Optional[Path] = _opt["categories"],
    respondents: Optional[Path] = _opt["respondents"],
    features: Optional[Path] = _opt["features"],
    people: Optional[Path] = _opt["people"],
    id_column: Optional[str] = _opt["id_column"],
    address_columns: Optional[str] = _opt["address_columns"],
    quiet: bool = typer.Option(False, "--quiet", "-q"),
) -> None:
    """Select, round to an m-panel lottery, draw verifiably, write the transcript."""
    contribs = _parse_contributions(commitments, reveal)
    algorithm = _algorithm(algorithm, cap, gamma, population)
    try:
        pool = _load(categories, respondents, features, people, panel_size, id_column, address_columns)
        algorithm = _with_population(algorithm, pool, population)
        inst = eligible_instance(pool, exclude)
        res = select(inst, algorithm, progress=_Progress(quiet))
        lot = make_lottery(inst, res.distribution, lottery_size)
        t = final_draw(inst, res, contribs, beacon=beacon, n_reserves=reserves, lottery=lot, excluded=exclude,
                       frozen_pool=pool)
    except SortitionInputError as exc:
        _fail(str(exc))
    _write_json(t, transcript)
    err.print(f"drew lottery panel {t['selected_index']} of {lot.m} (largest probability change "
              f"{lot.max_deviation:.5f}); seed {t['seed']}", highlight=False)
    sys.stdout.write(json.dumps({"selected": t["selected"], "reserves": t["reserves"]}) + "\n")


@app.command("verify")
def verify_cmd(
    transcript: Path = typer.Argument(..., help="transcript JSON written by `draw`"),
    categories: Optional[Path] = _opt["categories"],
    respondents: Optional[Path] = _opt["respondents"],
    features: Optional[Path] = _opt["features"],
    people: Optional[Path] = _opt["people"],
    id_column: Optional[str] = _opt["id_column"],
    address_columns: Optional[str] = _opt["address_columns"],
) -> None:
    """Replay a draw from its transcript and the input files (exit 1 if anything differs)."""
    t = _read_json(transcript, "transcript")
    try:
        inst = _load(categories, respondents, features, people, int(t.get("k", 0)), id_column, address_columns)
        out = verify_transcript(t, inst)
    except SortitionInputError as exc:
        _fail(f"verification failed: {exc}", 1)
    except VerificationError as exc:
        _fail(f"verification failed: {exc}", 1)
    err.print("[green]verified[/]: the transcript replays bit for bit", highlight=False)
    sys.stdout.write(json.dumps(out) + "\n")


def _replacement_algorithm(draw: dict) -> str:
    """What the service uses for replacements: the draw's algorithm, LEXIMIN instead of LEGACY."""
    return draw.get("algorithm") if draw.get("algorithm") in ("leximin", "maximin", "nash") else "leximin"


@app.command("replace")
def replace_cmd(
    transcript: Path = typer.Option(..., "--transcript", help="transcript of the original draw"),
    dropped: list[str] = typer.Option(..., "--dropped", help="id of a member who dropped out (repeat)"),
    previous: Optional[Path] = typer.Option(None, "--previous",
                                            help="transcript of the previous replacement (for the second and later)"),
    exclude: list[str] = typer.Option([], "--exclude", help="id of a volunteer who withdrew (repeat); earlier "
                                                            "drop-outs and the draw's exclusions are added by themselves"),
    from_reserves: bool = typer.Option(False, "--from-reserves", help="draw only from the reserve list"),
    lottery_size: Optional[int] = typer.Option(None, "--lottery-size", "-m",
                                               help="panels in the lottery (default: the draw's m)"),
    json_out: Optional[Path] = typer.Option(None, "--json", help="write the replacement transcript here"),
    randomness: Optional[str] = typer.Option(None, "--randomness", help="the replacement's fresh random value "
                                             "(64 hex), committed before the drop-outs were known; revealed in "
                                             "the transcript"),
    next_commitment: Optional[str] = typer.Option(None, "--next-commitment",
                                                  help="commitment to the next replacement's random value"),
    categories: Optional[Path] = _opt["categories"],
    respondents: Optional[Path] = _opt["respondents"],
    features: Optional[Path] = _opt["features"],
    people: Optional[Path] = _opt["people"],
    id_column: Optional[str] = _opt["id_column"],
    address_columns: Optional[str] = _opt["address_columns"],
) -> None:
    """Replace drop-outs by a fair (LEXIMIN) draw conditioned on the members who stay; writes the
    replacement transcript (the service's, bit for bit, from the same inputs and the revealed
    randomness). Without --randomness the transcript is version 1: seeded by the draw's public
    seed alone, so anyone could have computed it in advance."""
    t = _read_json(transcript, "transcript")
    prev = _read_json(previous, "previous replacement transcript") if previous else None
    try:
        inst = _load(categories, respondents, features, people, int(t["k"]), id_column, address_columns)
        before = prev["panel_after"] if prev else t["selected"]
        excluded = replacement_exclusions(t, prev, panel_before=before, withdrawn=exclude)
        fresh = None if randomness is None else {"commitment": commitment(randomness.strip().lower()),
                                                 "value": randomness.strip().lower()}
        r = draw_replacement(inst, t, dropped, previous=prev, excluded=excluded, from_reserves=from_reserves,
                             algorithm=_replacement_algorithm(t), m=lottery_size or int(t["lottery"]["m"]),
                             randomness=fresh, next_commitment=next_commitment and next_commitment.strip().lower())
    except (SortitionInputError, VerificationError) as exc:
        _fail(str(exc))
    except (ValueError, KeyError, TypeError) as exc:
        _fail(f"cannot use transcript {previous or transcript}: {exc!r}")
    _write_json(r, json_out)
    err.print(f"replacement {r['number']}: drew lottery panel {r['selected_index']} of {r['lottery']['m']} "
              f"from {r['n_candidates']} candidates; added {', '.join(r['added'])}", highlight=False)


@app.command("verify-replacement")
def verify_replacement_cmd(
    transcripts: list[Path] = typer.Argument(..., help="replacement transcript(s), in order (1, 2, 3, ...)"),
    draw: Optional[Path] = typer.Option(None, "--draw", help="the draw's transcript: also replay it and check "
                                                             "that replacement 1 starts from its panel"),
    recompute: bool = typer.Option(False, "--recompute", help="also run each replacement again (LEXIMIN over the "
                                                              "completions, rounding, draw) and compare"),
    first_commitment: Optional[str] = typer.Option(None, "--commitment", help="the randomness commitment published "
                                                   "for the first transcript given, before its drop-outs were known "
                                                   "(GET .../replacements/commitment at the draw, or the previous "
                                                   "transcript's next_commitment)"),
    categories: Optional[Path] = _opt["categories"],
    respondents: Optional[Path] = _opt["respondents"],
    features: Optional[Path] = _opt["features"],
    people: Optional[Path] = _opt["people"],
    id_column: Optional[str] = _opt["id_column"],
    address_columns: Optional[str] = _opt["address_columns"],
) -> None:
    """Replay replacement transcripts from the frozen pool files and check their chain: each panel
    before is the previous panel after (exit 1, naming what differs, if anything does)."""
    chain = [_read_json(p, "replacement transcript") for p in transcripts]
    t = _read_json(draw, "draw transcript") if draw else None
    try:
        inst = _load(categories, respondents, features, people, int(chain[0].get("k", 0)), id_column, address_columns)
        out = verify_replacements(chain, inst, draw=t, recompute=recompute, first_commitment=first_commitment)
    except (SortitionInputError, VerificationError) as exc:
        _fail(f"verification failed: {exc}", 1)
    first = chain[0]["number"]
    if t is None or first != 1:
        err.print(f"[yellow]note:[/] the chain before replacement {first} was not checked "
                  f"(give --draw and the transcripts from replacement 1 on)", highlight=False)
    for o in out:
        c = o["randomness_commitment"]
        err.print(f"replacement {o['number']}: " + (f"fresh randomness revealed under commitment {c}" if c else
                  "[yellow]no fresh randomness (version 1): seeded by the draw's public seed alone[/]"), highlight=False)
    if t is not None and first == 1 and t.get("replacement_commitment"):
        err.print(f"replacement 1 reveals the randomness committed in the draw's transcript "
                  f"({t['replacement_commitment']})", highlight=False)
    elif first_commitment is None and out[0]["randomness_commitment"]:
        err.print(f"[yellow]note:[/] compare replacement {first}'s commitment with the one published before it "
                  f"(or give --commitment)", highlight=False)
    err.print(f"[green]verified[/]: replacement(s) {', '.join(str(o['number']) for o in out)} replay bit for bit",
              highlight=False)
    sys.stdout.write(json.dumps(out) + "\n")


@app.command("certify")
def certify_cmd(
    result: Path = typer.Argument(..., help="the result JSON of `borgerting sortition select`"),
    levels: Optional[int] = typer.Option(None, "--levels", help="check only the first N levels (default: all)"),
    categories: Optional[Path] = _opt["categories"],
    respondents: Optional[Path] = _opt["respondents"],
    features: Optional[Path] = _opt["features"],
    people: Optional[Path] = _opt["people"],
    id_column: Optional[str] = _opt["id_column"],
    address_columns: Optional[str] = _opt["address_columns"],
) -> None:
    """Check a LEXIMIN result without the engine: every panel against the pool file's quotas and
    households, the marginals against the published probabilities, and each level's certificate
    with one LP of its own (exit 1, naming what fails, if anything does)."""
    res = _read_json(result, "result")
    try:
        pool = read_pool(categories=categories, respondents=respondents, features=features, people=people,
                         id_column=id_column,
                         address_columns=[a.strip() for a in address_columns.split(",")] if address_columns else None)
        new_highs()  # HiGHS prints its banner once per process, to stdout: swallowed here, stdout stays JSON
        out = certify(res, pool, levels=levels)
    except (CertificateError, OSError, KeyError, ValueError) as exc:
        _fail(f"not certified: {exc}", 1)
    err.print(f"[green]certified[/]: {out['panels_checked']} panels meet every quota, the marginals are the "
              f"published probabilities, {out['levels_proved']} of {out['levels']} levels proved optimal "
              f"(minimum {out['min_probability']:.6f}); certificate {out['certificate_hash']}", highlight=False)
    sys.stdout.write(json.dumps(out) + "\n")


def _read_rates(path: Path) -> dict[tuple[str, str], float]:
    """CSV ``category,value,rate`` (a drop-out rate per stratum)."""
    import csv

    try:
        rows = list(csv.DictReader(Path(path).read_text(encoding="utf-8-sig").splitlines()))
        return {(r["category"].strip(), r["value"].strip()): float(r["rate"]) for r in rows}
    except (OSError, KeyError, ValueError, AttributeError) as exc:
        _fail(f"cannot read the drop-out rates {path} (columns category,value,rate): {exc!r}")


@app.command("alternates")
def alternates_cmd(
    transcript: Path = typer.Option(..., "--transcript", help="the draw's transcript (its panel and reserves)"),
    dropout: Path = typer.Option(..., "--dropout", help="CSV category,value,rate: drop-out rate per stratum"),
    count: int = typer.Option(..., "--count", "-n", help="number of alternates"),
    scenarios: int = typer.Option(40, help="drop-out scenarios the choice optimises over"),
    trials: int = typer.Option(200, help="simulated drop-out trials for the comparison"),
    seed: int = typer.Option(0, help="seed of the scenarios, the choice within a profile and the trials"),
    time_limit: float = typer.Option(20.0, help="seconds for the choice's MIP"),
    json_out: Optional[Path] = typer.Option(None, "--json", help="write the result JSON here (default stdout)"),
    categories: Optional[Path] = _opt["categories"],
    respondents: Optional[Path] = _opt["respondents"],
    features: Optional[Path] = _opt["features"],
    people: Optional[Path] = _opt["people"],
    id_column: Optional[str] = _opt["id_column"],
    address_columns: Optional[str] = _opt["address_columns"],
) -> None:
    """Choose alternates for the drawn panel so that, under the drop-out rates, the panel after
    replacement still meets the quotas; compare them in a simulation with the draw's reserves."""
    t = _read_json(transcript, "transcript")
    rates = _read_rates(dropout)
    try:
        inst = _load(categories, respondents, features, people, int(t["k"]), id_column, address_columns)
        index = {p.id: i for i, p in enumerate(inst.people)}
        panel = [index[x] for x in t["selected"]]
        r = dropout_rates(inst, rates)
        chosen = choose_alternates(inst, panel, count, r, scenarios=scenarios, seed=seed, time_limit=time_limit)
        reserves = [index[x] for x in t.get("reserves", [])][:count]
        out = {"alternates": [inst.people[i].id for i in chosen], "dropout_rates": [[c, v, d] for (c, v), d in rates.items()],
               "simulation": {"alternates": simulate(inst, panel, chosen, r, trials=trials, seed=seed),
                              "draw_reserves": simulate(inst, panel, reserves, r, trials=trials, seed=seed),
                              "none": simulate(inst, panel, [], r, trials=trials, seed=seed)},
               "draw_reserves_used": len(reserves)}
    except KeyError as exc:
        _fail(f"the transcript's volunteer {exc} is not in the pool files")
    except SortitionInputError as exc:
        _fail(str(exc))
    for name, sim in out["simulation"].items():
        err.print(f"{name:14s} full and within quotas {sim['full_and_within_quotas']:.3f}, seats short "
                  f"{sim['mean_seats_short']:.3f}, quota violation {sim['mean_quota_violation']:.3f} "
                  f"({sim['trials']} trials)", highlight=False)
    _write_json(out, json_out)


@app.command("commit")
def commit_cmd(value: str = typer.Argument(..., help="your secret seed contribution")) -> None:
    """Print the commitment (sha256 hex) to publish before the pool is frozen."""
    sys.stdout.write(commitment(value) + "\n")
