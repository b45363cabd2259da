"""`borgerting auth ...`: the development issuer (never for production)."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import typer

from shared.auth.principal import ROLES
from shared.settings import get_settings

app = typer.Typer(no_args_is_help=True)
KEY = typer.Option(Path(".state/dev-issuer.pem"), "--key", help="The development issuer's key file (created if missing)")


def _issuer(key: Path, url: str):
    from shared.auth.dev_issuer import DevIssuer

    s = get_settings()
    if not s.auth_dev_issuer or s.env == "production":
        typer.echo("the development issuer is off: set BORGERTING_AUTH_DEV_ISSUER=true (never in production)", err=True)
        raise typer.Exit(2)
    return DevIssuer(key, base_url=url)


@app.command("token")
def token_cmd(role: str = typer.Argument(..., help=f"One of {', '.join(ROLES)}"),
              assembly: uuid.UUID = typer.Option(None, help="The assembly the role holds in (all but operator)"),
              member: uuid.UUID = typer.Option(None, help="The member id (role member)"),
              minutes: float = typer.Option(60, min=1), key: Path = KEY,
              url: str = typer.Option("http://127.0.0.1:8900", help="The issuer's base URL (as services trust it)")) -> None:
    """Print a development token for a role in an assembly."""
    try:
        typer.echo(_issuer(key, url).token(role, assembly, member_id=member, minutes=minutes))
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2)


@app.command("dev-issuer")
def serve_cmd(port: int = typer.Option(8900), key: Path = KEY) -> None:
    """Serve the development issuer's JWKS and token endpoint; prints the settings services need."""
    issuer = _issuer(key, f"http://127.0.0.1:{port}").serve_in_thread(port=port)
    for k, v in issuer.settings_env().items():
        typer.echo(f"{k}='{v}'")
    typer.echo(f"tokens: POST {issuer.issuer}/token {{\"role\": ..., \"assembly_id\": ...}}; Ctrl-C stops", err=True)
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        issuer.stop()
