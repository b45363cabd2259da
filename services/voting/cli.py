"""``borgerting voting ...``: the independent verifier, and an example board to try it on."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from services.voting.domain.board import Receipt, key_fingerprint
from services.voting.domain.errors import BoardError
from services.voting.domain.verifier import normalise_fingerprint, verify_export

app = typer.Typer(no_args_is_help=True, help="Secret, verifiable ballots: verify a board export.")


@app.callback()
def _group() -> None:
    """Secret, verifiable ballots."""


def _result_rows(result: dict) -> list[tuple[str, str, str]]:
    rows = []
    for qid, q in result["questions"].items():
        counts = ", ".join(f"{k}={v}" for k, v in q["counts"].items())
        if "support" in q:
            outcome = f"support {q['support']}/{q['base']} ({q['threshold']}): " + (
                "PASSED" if q["passed"] else "not passed")
        elif q["type"] == "approval":
            outcome = "passed: " + (", ".join(q["passed"]) or "none")
        else:
            outcome = "order: " + " > ".join("=".join(g) for g in q["order"])
        rows.append((qid, counts, outcome))
    return rows


@app.command()
def verify(
    board_export: Path = typer.Argument(..., help="The board export (JSON) to check."),
    receipt: list[str] = typer.Option([], "--receipt", "-r", help="A receipt POSITION:HASH to look up (repeatable)."),
    fingerprint: str | None = typer.Option(None, "--fingerprint", help="The board key's sha256 fingerprint as "
                                           "published outside the board (the report, the ballot-opened record)."),
    key: str | None = typer.Option(None, "--key", help="The board's Ed25519 public key (hex) from a trusted source."),
    report: Path | None = typer.Option(None, "--report", help="The report summary (JSON, reporting's "
                                       "GET /assemblies/{id}/summary) that publishes the fingerprint."),
    unpinned: bool = typer.Option(False, "--unpinned", help="Trust whatever key the file names (checks only "
                                  "that the file is consistent: a re-signed board passes)."),
) -> None:
    """Check a board export: the board key against its published fingerprint, chain, token
    signatures, token uniqueness, votes <= tokens issued, checkpoints, and a recount against the
    published result. Exit 0 if honest; otherwise exit 1 and name the first problem; exit 2 when
    the input cannot be read or no key is pinned."""
    out = Console(soft_wrap=True)
    err = Console(stderr=True)
    try:
        doc = json.loads(board_export.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        err.print(f"[red]cannot read {board_export}: {exc}[/red]")
        raise typer.Exit(2) from None
    try:
        receipts = [(r.position, r.hash) for r in (Receipt.parse(c) for c in receipt)]
        pins = _pins(fingerprint, key, report, doc)
    except (BoardError, ValueError, OSError) as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    if len(set(pins.values())) > 1:
        err.print("[red]the fingerprints given differ: " + ", ".join(f"{k} {v}" for k, v in pins.items()) + "[/red]")
        raise typer.Exit(2)
    if not pins and not unpinned:
        err.print("[red]no board key pinned: give --fingerprint (published in the report and the ballot-opened "
                  "record), --key or --report; or --unpinned to check only that the file is consistent[/red]")
        raise typer.Exit(2)
    pinned = next(iter(pins.values()), None)

    result = verify_export(doc, receipts=receipts, fingerprint=pinned)
    if not result.ok:
        out.print(f"[bold red]FAILED[/bold red]: {result.problem}")
        raise typer.Exit(1)

    s = result.summary
    out.print(f"[bold green]OK[/bold green]: board {s['board_id']} is consistent")
    if pinned:
        out.print(f"trusted board key fingerprint {pinned} (from {', '.join(pins)})")
    else:
        out.print(f"[bold yellow]UNPINNED[/bold yellow]: trusted the key the file names, fingerprint "
                  f"{s['board_key_fingerprint']}; compare it with the published one")
    out.print(f"entries: {s['entries']}, head: {s['head']['position']}:{s['head']['hash']}")
    out.print(f"checkpoints verified: {s['checkpoints']}; receipts found: {s['receipts_checked']}")
    for bid, b in s["ballots"].items():
        v, i = b["votes"], b["issued"]
        out.print(f"\nballot [bold]{bid}[/bold] {b['title']}: "
                  + ", ".join(f"{k} {v[k]}/{i[k]} issued" for k in v))
        if b["result"] is None:
            out.print("  no result published (ballot open or not yet tallied)")
            continue
        r = b["result"]
        out.print(f"  recount equals the published result: ballots cast {r['ballots_cast']} of "
                  f"{r['members']} members, quorum {'met' if r['quorum_met'] else 'NOT met'}")
        t = Table("question", "counts", "outcome")
        for row in _result_rows(r):
            t.add_row(*row)
        out.print(t)


def _pins(fingerprint: str | None, key: str | None, report: Path | None, doc) -> dict[str, str]:
    """The fingerprints given, by where they came from."""
    pins: dict[str, str] = {}
    if fingerprint:
        pins["--fingerprint"] = normalise_fingerprint(fingerprint)
    if key:
        try:
            raw = bytes.fromhex(key.strip())
        except ValueError:
            raw = b""
        if len(raw) != 32:
            raise ValueError(f"--key {key!r} is not an Ed25519 public key (64 hex digits)")
        pins["--key"] = key_fingerprint(raw.hex())
    if report:
        summary = json.loads(report.read_text(encoding="utf-8"))
        board = ((summary.get("anchors") or {}).get("board") if isinstance(summary, dict) else None) or {}
        if not board.get("board_key_fingerprint"):
            raise ValueError(f"{report} publishes no board key fingerprint (anchors.board)")
        if isinstance(doc, dict) and board.get("board_id") != doc.get("board_id"):
            raise ValueError(f"{report} is about board {board.get('board_id')}, the export is board {doc.get('board_id')}")
        pins["--report"] = normalise_fingerprint(board["board_key_fingerprint"])
    return pins


@app.command("example-board")
def example_board(
    out_file: Path = typer.Argument(..., help="Where to write the example export (JSON)."),
    online: int = typer.Option(12, help="Online votes."),
    paper: int = typer.Option(2, help="Paper votes entered by officials."),
    seed: int = typer.Option(1, help="Seed for the example's choices."),
) -> None:
    """Write the export of a small honest election, to try the verifier on (and to tamper with)."""
    from services.voting.domain.example import run_example

    ex = run_example(online=online, paper=paper, postal=0, seed=seed)
    out_file.write_text(json.dumps(ex.export, indent=1, ensure_ascii=False), encoding="utf-8")
    Console(soft_wrap=True).print(f"wrote {out_file}: {len(ex.board)} entries; first receipt {ex.receipts[0].code}")
