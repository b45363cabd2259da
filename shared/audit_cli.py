"""`borgerting audit verify EXPORT`: check an exported audit trail; `borgerting auth token`:
mint a development token."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from shared.audit import anchored_heads, parse_head, verify

app = typer.Typer(no_args_is_help=True)


@app.callback()
def _group() -> None:
    """Audit trails."""


@app.command("verify")
def verify_cmd(export: Path = typer.Argument(..., exists=True, dir_okay=False,
                                             help="A file saved from GET /assemblies/{id}/audit"),
               expected_head: list[str] = typer.Option(
                   [], "--expected-head", help="A head published outside the service: SEQ:HASH (the trail must "
                   "have that entry) or HASH (the trail's last entry). Repeatable."),
               anchors: list[Path] = typer.Option(
                   [], "--anchors", exists=True, dir_okay=False,
                   help="A file that publishes heads: the report summary (GET reporting /assemblies/{id}/summary) "
                        "or the voting board (export or GET voting /assemblies/{id}/board). Repeatable.")) -> None:
    """Exit 0 if the chain is intact (and reaches every published head given); otherwise exit 1
    and name the first problem."""
    try:
        doc = json.loads(export.read_text())
        pins = [parse_head(h) for h in expected_head]
        published = [json.loads(a.read_text()) for a in anchors]
    except (ValueError, UnicodeDecodeError) as exc:
        typer.echo(f"FAIL: cannot read the input: {exc}", err=True)
        raise typer.Exit(2)
    if not isinstance(doc, dict):
        typer.echo("FAIL: not an audit export (expected a JSON object)", err=True)
        raise typer.Exit(1)
    for path, anchor in zip(anchors, published, strict=True):
        found = anchored_heads(anchor, str(doc.get("service")), str(doc.get("assembly_id")))
        if not found:
            typer.echo(f"FAIL: {path} publishes no head of the {doc.get('service')} trail of assembly "
                       f"{doc.get('assembly_id')}", err=True)
            raise typer.Exit(1)
        pins += found
    problems = verify(doc, pins)
    if problems:
        typer.echo(f"FAIL: {problems[0]}", err=True)
        raise typer.Exit(1)
    n = len(doc["entries"])
    typer.echo(f"OK: {doc['service']} audit trail of assembly {doc['assembly_id']}: {n} entries, head {doc['head'][:16]}")
    for seq, h in sorted(set(pins), key=lambda p: (p[0] is None, p[0] or 0)):
        where = f"entry {seq}" if seq is not None else "the last entry"
        typer.echo(f"anchored: {where} is the published head {h[:16]}")
    if not pins:
        typer.echo("not anchored: give --expected-head or --anchors to check the trail against a head published "
                   "outside the service")
