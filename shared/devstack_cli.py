"""`borgerting stack up`: run the embedded stack in the foreground and print its URLs."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import typer

from shared.devstack import DevStack

app = typer.Typer(no_args_is_help=True)


@app.command()
def up(state: Path = typer.Option(Path(".state/stack"), help="Folder for the servers' data and logs")) -> None:
    """Start PostgreSQL, Valkey and Tansu; print the settings; stop cleanly on Ctrl-C."""
    stack = DevStack(state)
    env = stack.start()
    for key, value in env.items():
        typer.echo(f"export {key}={value}")
    typer.echo("# embedded stack running; Ctrl-C stops it", err=True)
    stopping = False

    def _stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _stop)
    try:
        while not stopping:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()
