"""`borgerting audit verify EXPORT`: check an exported audit trail; `borgerting auth token`:
mint a development token."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from shared.audit import verify

app = typer.Typer(no_args_is_help=True)


@app.callback()
def _group() -> None:
    """Audit trails."""


@app.command("verify")
def verify_cmd(export: Path = typer.Argument(..., exists=True, dir_okay=False,
                                             help="A file saved from GET /assemblies/{id}/audit")) -> None:
    """Exit 0 if the chain is intact; otherwise exit 1 and name the first altered entry."""
    try:
        doc = json.loads(export.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        typer.echo(f"FAIL: {export} is not a JSON audit export: {exc}", err=True)
        raise typer.Exit(2)
    problems = verify(doc) if isinstance(doc, dict) else ["not an audit export (expected a JSON object)"]
    if problems:
        typer.echo(f"FAIL: {problems[0]}", err=True)
        raise typer.Exit(1)
    n = len(doc["entries"])
    typer.echo(f"OK: {doc['service']} audit trail of assembly {doc['assembly_id']}: {n} entries, head {doc['head'][:16]}")
