"""`borgerting privacy ...`: recruitment's retention job run by hand (or from a CronJob), one
person's erasure on request, and the vault's key rotation (docs/privacy.md)."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime, timedelta, timezone

import typer

from services.recruitment import models as m
from services.recruitment import vault
from services.recruitment.handlers import privacy
from services.recruitment.keystore import close_key_store
from shared.bus.outbox import transaction
from shared.db import make_engine, make_sessionmaker
from shared.settings import get_settings

app = typer.Typer(no_args_is_help=True, help="Personal data: the retention job, the vault's key rotation.")


async def _with_db(job):
    s = get_settings()
    engine = make_engine(s.database_url, pool_size=1, max_overflow=0, pgbouncer=s.db_pgbouncer)
    try:
        return await job(make_sessionmaker(engine), s)
    finally:
        await close_key_store()
        await engine.dispose()


@app.command()
def retention(dry_run: bool = typer.Option(False, "--dry-run", help="Count who would be erased; erase nobody"),
              unselected_days: int = typer.Option(None, min=0, max=3650, help="Default: BORGERTING_RETENTION_UNSELECTED_DAYS"),
              member_days: int = typer.Option(None, min=0, max=3650, help="Default: BORGERTING_RETENTION_MEMBER_DAYS")) -> None:
    """Erase the personal data whose time is up: everyone not on the panel N days after the draw,
    the members M days after the handover. Prints what was erased per assembly (counts only)."""
    async def job(sessionmaker, s):
        return await privacy.run_retention(
            sessionmaker, datetime.now(timezone.utc),
            s.retention_unselected_days if unselected_days is None else unselected_days,
            s.retention_member_days if member_days is None else member_days, dry_run=dry_run)
    done = asyncio.run(_with_db(job))
    typer.echo(json.dumps({"dry_run": dry_run, "erased": done}, indent=2))


@app.command()
def rewrap() -> None:
    """Key rotation: wrap every data key held under an older key-encryption key with the current
    one (BORGERTING_VAULT_KEY_ID). Then the old key can be removed from BORGERTING_VAULT_KEYS."""
    async def job(sessionmaker, s):
        total = 0
        while True:
            n = await vault.rewrap()
            total += n
            if n == 0:
                return total
    typer.echo(json.dumps({"rewrapped": asyncio.run(_with_db(job)), "key_id": vault.keyring().current}))


@app.command()
def reconcile(orphan_hours: float = typer.Option(24, min=1, max=24 * 365,
                                                 help="Keys without a record are deleted once this old")) -> None:
    """After restoring the recruitment database or the key store from a backup (docs/deploy.md,
    "Backup and restore"): delete again the keys of everyone marked erased, delete keys whose record
    does not exist, and mark erased the records whose key is gone. Prints the counts."""
    async def job(sessionmaker, s):
        return await vault.reconcile(sessionmaker, orphans_before=datetime.now(timezone.utc) - timedelta(hours=orphan_hours))
    typer.echo(json.dumps(asyncio.run(_with_db(job))))


@app.command()
def erase(assembly_id: str = typer.Argument(..., help="The assembly's id"),
          code: str = typer.Option(None, help="A code from the person's letter"),
          person_id: bool = typer.Option(False, "--person-id",
                                         help="Read the person's register id from standard input (not the command line)")) -> None:
    """Erase one person now (a request to be forgotten): their data key is deleted, so their name,
    address, register id and contact can no longer be read anywhere. Audited without the data."""
    if (code is None) == (not person_id):
        typer.echo("give either --code or --person-id (the register id on standard input)", err=True)
        raise typer.Exit(2)
    ref = input().strip() if person_id else None
    aid = uuid.UUID(assembly_id)

    async def job(sessionmaker, s):
        async with transaction(sessionmaker, m.outbox, m.audit) as tx:
            entry = await privacy.find_person(tx, aid, code=code, person_id=ref)
            return await vault.erase(tx, aid, [entry], "request", actor="system:cli")
    typer.echo(json.dumps({"erased": asyncio.run(_with_db(job))}))
