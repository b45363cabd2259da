"""`borgerting dlq replay SERVICE`: send a service's dead letters back to their topics."""

from __future__ import annotations

import typer

from shared.bus.dlq import replay_sync
from shared.bus.kafka import kafka_security
from shared.settings import get_settings

app = typer.Typer(no_args_is_help=True)


@app.command("replay")
def replay_cmd(
    service: str = typer.Argument(..., help="The consuming service whose dead-letter topic to replay"),
    topic: str = typer.Option(None, help="Only replay messages that came from this topic"),
    idle: float = typer.Option(3.0, help="Stop after this many seconds without a new dead letter"),
) -> None:
    """Republish dead letters to their original topics (uses KAFKA_BOOTSTRAP_SERVERS)."""
    s = get_settings()
    report = replay_sync(s.kafka_bootstrap_servers, service, idle_seconds=idle, only_topic=topic,
                         progress=lambda n: typer.echo(f"\rreplayed {n}", nl=False, err=True),
                         security=kafka_security(s))
    typer.echo(f"replayed {report.replayed}, skipped {report.skipped}: {report.by_topic}")
