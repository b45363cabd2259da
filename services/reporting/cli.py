"""`borgerting reporting ...`: reporting's offline tools (the rebuild of its read models)."""

from __future__ import annotations

import asyncio
import json

import typer

from services.reporting.handlers.rebuild import rebuild
from shared.bus.kafka import kafka_security, make_producer, make_reader
from shared.db import make_engine, make_sessionmaker
from shared.settings import Settings, get_settings

app = typer.Typer(no_args_is_help=True, help="Reporting: rebuild the read models from the events.")


async def run_rebuild(settings: Settings) -> dict:
    """The rebuild with the service's settings (DATABASE_URL, the Kafka connection); returns what
    it did. Also used by tests/integration/test_rebuild.py and benchmarks/reporting.py."""
    s = settings
    engine = make_engine(s.database_url, pool_size=2, pgbouncer=s.db_pgbouncer)
    reader = make_reader(s.kafka_bootstrap_servers, "reporting-rebuild", **kafka_security(s))
    dlq = make_producer(s.kafka_bootstrap_servers, "reporting-rebuild-dlq", **kafka_security(s))
    await reader.start()
    await dlq.start()
    try:
        done = await rebuild("reporting", make_sessionmaker(engine), reader, dlq)
    finally:
        await reader.stop()
        await dlq.stop()
        await engine.dispose()
    return {"events_read": done.events, "events_applied": done.applied, "seconds": round(done.seconds, 1),
            "tables": list(done.tables)}


@app.command("rebuild")
def rebuild_cmd() -> None:
    """Empty the read models and apply every event again from offset 0.

    Stop the reporting consumer first. The published reports, the surveys and the audit trail are
    kept; the summaries come out byte for byte as they were (tests/integration/test_rebuild.py)."""
    typer.echo(json.dumps(asyncio.run(run_rebuild(get_settings())), indent=2))
