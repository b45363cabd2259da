"""`make demo`: a whole simulated assembly on the embedded stack, through the HTTP APIs only.

Writes out/summary.json (as the reporting service counted it from events) and out/report.html,
checks the counts against what the driver did, and exits 0 when they agree.
`--keep` leaves everything running (Ctrl-C stops it) and prints the URLs.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import time
import traceback
from dataclasses import asdict
from pathlib import Path

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from borgerting.cluster import Cluster
from borgerting.scenario import Params, run
from shared.audit import anchored_heads
from shared.audit import verify as verify_audit

CHECKED = ("invitations_sent", "registrations", "panel_size", "sessions_held", "votes_cast", "recommendations",
           "recommendations_passed", "trial_votes_cast", "replacements", "responses_recorded",
           "recommendations_answered")
# Figures of the report that the summary holds in lists: (the driver's name, how to read it from the summary)
DERIVED = {
    "present_per_session": lambda s: [x["present"] for x in s["sessions"]],
    "programme_heard": lambda s: [s["programme"][k] for k in ("experts_heard", "stakeholders_heard", "agenda_items")],
    "votes_per_recommendation": lambda s: [[q["yes"], q["no"], q["abstain"]] for q in s["results"] if q["is_recommendation"]],
}
# The evaluation pack's figures (reporting's evaluation.json) against the driver's
EVALUATION = {
    "survey_respondents": lambda p: {stage: x["respondents"] for stage, x in p["surveys"].items()},
    "fair_agree": lambda p: (p["perceived_fairness"] or {}).get("agree"),
    "speak_agree": lambda p: (p["freedom_to_speak"] or {}).get("agree"),
    "hours_learning": lambda p: p["hours"]["learning"],
    "hours_deliberation": lambda p: p["hours"]["deliberation"],
    "answered_by_due": lambda p: p["response"]["answered_by_due"],
}
console = Console(stderr=True)


def export_audit_trails(urls: dict[str, str], assembly_id: str, auditor: dict, folder: Path, summary: dict) -> dict:
    """An auditor exports every service's audit trail of the assembly; each is verified against
    the head the report publishes (`anchors.audit_heads`)."""
    folder.mkdir(parents=True, exist_ok=True)
    result = {}
    for service, url in urls.items():
        doc = httpx.get(f"{url}/assemblies/{assembly_id}/audit", headers=auditor, timeout=30).json()
        (folder / f"{service}.json").write_text(json.dumps(doc, indent=1) + "\n")
        pins = anchored_heads(summary, service, assembly_id)
        problems = verify_audit(doc, pins) or ([] if pins else ["the report publishes no head of this trail"])
        result[service] = (len(doc.get("entries", [])), max((s for s, _ in pins), default=0), problems)
    return result


def check_pdfs(reporting: str, assembly_id: str, summary: dict, folder: Path, evaluation: dict) -> list[str]:
    """Anyone downloads the published PDF in Danish and English: its text (extracted) carries the
    assembly, the figures, the evaluation pack's members' view and the anchors the verify commands
    need. Returns the problems."""
    import pypdfium2
    from babel.numbers import format_decimal

    from shared.ui.i18n import Formats

    problems = []
    folder.mkdir(parents=True, exist_ok=True)
    for lang in ("da", "en"):
        body = httpx.get(f"{reporting}/assemblies/{assembly_id}/report/published.pdf?lang={lang}", timeout=60).content
        (folder / f"report-{lang}.pdf").write_bytes(body)
        doc = pypdfium2.PdfDocument(body)
        text = "".join("".join(page.get_textpage().get_text_range() for page in doc).split())
        doc.close()
        wanted = {"name": summary["name"], "invitations": format_decimal(summary["invitations_sent"], locale=lang),
                  "votes": format_decimal(summary["votes_cast"], locale=lang),
                  "transcript hash": (summary["selection"] or {}).get("transcript_hash") or "",
                  "board key": (summary["anchors"]["board"] or {}).get("board_key_fingerprint") or "",
                  "share finding the process fair": Formats(lang).percent(
                      (evaluation["perceived_fairness"] or {}).get("agree"))}
        problems += [f"report-{lang}.pdf lacks the {k} ({v})" for k, v in wanted.items() if "".join(v.split()) not in text]
    return problems


def letters_ok(tally, letters_dir: Path) -> bool:
    """The targeted wave's letters as printed: one PDF page per row of the merge file, each page
    with its row's code (read back from the PDF's text)."""
    import csv
    import io

    import pypdfium2

    if not tally.second_wave:
        console.print(f"letters: {tally.reminders} reminders; no second wave was needed")
        return True
    pdf = next(letters_dir.glob("letters-*.pdf"))
    rows = list(csv.DictReader(io.StringIO(next(letters_dir.glob("merge-*.csv")).read_text("utf-8-sig"))))
    doc = pypdfium2.PdfDocument(pdf.read_bytes())
    try:
        ok = len(doc) == len(rows) and all(r["code"] in doc[int(r["page"]) - 1].get_textpage().get_text_range()
                                           for r in rows[:50])
    finally:
        doc.close()
    w = tally.second_wave
    console.print(f"letters: {tally.reminders} reminders; a targeted second wave of {w['letters']} letters "
                  f"(pool factor {w['pool_factor']}) printed to {pdf} ({len(rows)} pages"
                  f"{'' if ok else ', [red]NOT one page per letter with its code'}); the pool's gap to what the "
                  f"quotas need: {w['gap_before']} -> {w['gap_after']} registrations")
    return ok


def main(
    keep: bool = typer.Option(False, "--keep", help="Leave the stack and services running; print the URLs"),
    out: Path = typer.Option(Path("out"), help="Folder for report.html and summary.json"),
    state: Path = typer.Option(Path(".state/demo"), help="Folder for the servers' data and the services' logs"),
    seed: int = typer.Option(2027, help="Seed of the whole simulation"),
    invitations: int = typer.Option(20_000, min=1),
    panel_size: int = typer.Option(60, min=1),
) -> None:
    """Run a whole simulated multi-region assembly end to end."""
    started = time.monotonic()
    if state.exists():
        shutil.rmtree(state)  # a demo starts from empty databases
    # The driver plays every citizen from one address, so the per-address limit is lifted here.
    # The one origin (as the Ingress): the report is published through it and prints its addresses.
    cluster = Cluster(state, extra_env={"BORGERTING_REGISTER_LIMIT_PER_IP": "1000000"}, proxy=True)
    with Progress(TextColumn("{task.description:<32}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=False) as bar:
        tasks: dict[str, int] = {}

        def progress(step: str, done: int, total: int) -> None:
            if step not in tasks:
                tasks[step] = bar.add_task(step, total=total)
            bar.update(tasks[step], completed=done, total=total)

        progress("start stack and services", 0, 1)
        try:
            urls = cluster.start(progress=lambda msg: bar.update(tasks["start stack and services"], description=msg[:32]))
        except Exception as exc:
            console.print(f"[red]could not start: {exc}")
            raise typer.Exit(2)
        bar.update(tasks["start stack and services"], completed=1, description="start stack and services")
        try:
            params = Params(seed=seed, invitations=invitations, register_size=max(3 * invitations, 1000),
                            panel_size=panel_size)
            assembly_id, tally = asyncio.run(run(urls, params, progress, cluster.issuer, cluster.origin))
            organiser = cluster.issuer.headers("organiser", assembly_id)
            summary = httpx.get(f"{urls['reporting']}/assemblies/{assembly_id}/summary", headers=organiser,
                                timeout=30).json()
            evaluation = httpx.get(f"{urls['reporting']}/assemblies/{assembly_id}/evaluation.json", headers=organiser,
                                   timeout=60).json()
            report = httpx.get(f"{urls['reporting']}/assemblies/{assembly_id}/report/published",
                               timeout=30).text
            pdf_problems = check_pdfs(urls["reporting"], assembly_id, summary, out, evaluation)
            audits = export_audit_trails(urls, assembly_id, cluster.issuer.headers("auditor", assembly_id),
                                         out / "audit", summary)
        except Exception as exc:
            cluster.stop()
            where = next((f"{Path(f.filename).name}:{f.lineno}" for f in reversed(traceback.extract_tb(exc.__traceback__))
                          if f.filename.startswith(str(Path(__file__).resolve().parent))), "?")
            # the kind of failure and where the demo was: a timeout or a bare assertion says nothing by itself
            console.print(f"[red]demo failed at {where}: {type(exc).__name__}: {exc}\nservice logs: {state}/logs/")
            raise typer.Exit(1)

    time.sleep(2)  # let the services settle, then measure them at rest
    memory = cluster.memory_mib()
    out.mkdir(parents=True, exist_ok=True)
    (out / "measurements.json").write_text(json.dumps(
        {"seconds_total": round(time.monotonic() - started, 1), "seconds_per_step": tally.seconds,
         "rss_mib_at_rest": memory}, indent=2) + "\n")
    (out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    letters_dir = out / "letters"  # the targeted wave as the print house gets it (named by batch id only)
    shutil.rmtree(letters_dir, ignore_errors=True)
    letters_dir.mkdir()
    for name, data in tally.letter_files.items():
        (letters_dir / name).write_bytes(data)
    (out / "report.html").write_text(report)
    table = Table(title="Reporting (from events) vs the driver")
    for col in ("figure", "reporting", "driver", ""):
        table.add_column(col)
    driver = asdict(tally)
    mismatches = 0
    for key in CHECKED:
        same = summary[key] == driver[key]
        mismatches += not same
        table.add_row(key, str(summary[key]), str(driver[key]), "ok" if same else "MISMATCH")
    for key, read in DERIVED.items():
        same = read(summary) == driver[key]
        mismatches += not same
        table.add_row(key, _short(read(summary)), _short(driver[key]), "ok" if same else "MISMATCH")
    for key, read in EVALUATION.items():
        same = read(evaluation) == driver[key]
        mismatches += not same
        table.add_row(f"evaluation: {key}", _short(read(evaluation)), _short(driver[key]), "ok" if same else "MISMATCH")
    same = evaluation["retention"]["present_last_session"] == (tally.present_per_session or [None])[-1]
    mismatches += not same
    table.add_row("evaluation: present at the last session", str(evaluation["retention"]["present_last_session"]),
                  str((tally.present_per_session or [None])[-1]), "ok" if same else "MISMATCH")
    console.print(table)
    (out / "evaluation.json").write_text(json.dumps(evaluation, indent=2, ensure_ascii=False) + "\n")
    mismatches += not letters_ok(tally, letters_dir)
    console.print(f"registration: questionnaire version {tally.questionnaire_version} (da/en, saved before the "
                  f"letters); {tally.registered_by_form} citizens registered on the public page in Danish with "
                  f"nothing pre-selected, {tally.withdrawn_by_form} withdrew on the withdrawal page with their code")
    st = tally.stipends

    def _kr(ore: int) -> str:  # øre stay integers: no float on the way to the screen
        return f"{ore // 100:,}.{ore % 100:02d}"
    console.print(f"places: {tally.places.get('confirmed')} confirmed, {tally.places.get('declined')} declined and "
                  f"replaced by sortition; stipends after {st['sessions_held']} sessions at {_kr(st['rate_ore'])} "
                  f"kr. each (docs/stipends.md): payment 1 pays {st['payees']} members {_kr(st['paid_ore'])} kr. "
                  f"for {st['sessions_paid']} sessions attended and {_kr(st['claims_ore'])} kr. of approved "
                  f"claims; {st['absences_unpaid']} absences paid nothing ({st['never_present']} members never present)")
    console.print(f"check-ins: {tally.check_ins['code']} by personal code at the door, {tally.check_ins['online']} "
                  f"online; drop-out rule (missed {tally.dropouts.get('rule')} in a row): "
                  f"{tally.dropouts.get('dropouts')} drop-outs, {tally.dropouts.get('at_risk')} at risk")
    console.print(f"steps (s): {tally.seconds}; total {time.monotonic() - started:.1f} s")
    console.print("memory at rest (RSS, MiB): " + ", ".join(f"{k} {v}" for k, v in memory.items()))
    for service, (entries, anchored, problems) in audits.items():
        mismatches += bool(problems)
        console.print(f"audit trail of {service}: {entries} entries, "
                      + (f"[red]FAILS: {problems[0]}" if problems else
                         f"verifies, up to entry {anchored} against the head published in the report"))
    for problem in pdf_problems:
        console.print(f"[red]{problem}")
    mismatches += len(pdf_problems)
    if not pdf_problems:
        console.print(f"the published report (version {tally.report['version']}) in Danish and English, HTML and PDF: "
                      "each matches its sha256; the PDFs' text names the assembly, the figures, the members' view "
                      "of the evaluation and the anchors")
    console.print(f"wrote {out / 'summary.json'}, {out / 'report.html'}, {out / 'report-da.pdf'}, {out / 'report-en.pdf'} "
                  f"and {out / 'audit'}/*.json "
                  f"(check one with `borgerting audit verify FILE --anchors {out / 'summary.json'}`)")
    if keep:
        cluster.issuer.assemblies[assembly_id] = summary.get("name", "the demo's assembly")
        o = cluster.origin
        lines = [f"  console      {o}/reporting/   (one origin for every page; pick the language at the top)",
                 f"  staff        {o}/reporting/signin -> 'Sign in with your agency account' -> the development",
                 "               sign-in page: pick organiser, registrar, facilitator, auditor or operator and the assembly",
                 "               (an assembly made in the console: type its id, from the operator's assemblies page)",
                 f"  member       {o}/recruitment/member/signin  code {tally.member_code}",
                 f"  citizen      {o}/recruitment/register?assembly={assembly_id}",
                 f"  dashboard    {o}/reporting/assemblies/{assembly_id}/dashboard",
                 f"  report       {o}/reporting/assemblies/{assembly_id}/report/published   (the published report, for anyone)",
                 f"  report PDF   {o}/reporting/assemblies/{assembly_id}/report/published.pdf   (?lang=en for English)",
                 f"  versions     {o}/reporting/assemblies/{assembly_id}/report/versions   (every version with its sha256)",
                 f"  follow-up    {o}/reporting/assemblies/{assembly_id}/followup   (the authority's responses, for anyone)",
                 "", "  each service's own port, for its API docs:"]
        lines += [f"  {name:<12} {url}   (API docs: {url}/docs)" for name, url in urls.items()]
        print("\n".join(lines), flush=True)  # plain print: long URLs must not be wrapped
        console.print("everything is running; Ctrl-C (or SIGTERM) stops it")
        signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started in the background
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        try:
            while True:
                time.sleep(1)
                for message in cluster.check():  # a killed or crashed service is restarted
                    console.print(f"[yellow]{message}")
        except KeyboardInterrupt:
            pass
        except RuntimeError as exc:  # one that keeps dying: stop everything and say why
            cluster.stop()
            console.print(f"[red]stopped: {exc}")
            raise typer.Exit(1)
    cluster.stop()
    if mismatches:
        console.print(f"[red]{mismatches} figure(s) differ between reporting and the driver")
        raise typer.Exit(1)


def _short(value, n: int = 60) -> str:
    text = str(value)
    return text if len(text) <= n else text[: n - 1] + "…"


if __name__ == "__main__":
    typer.run(main)
