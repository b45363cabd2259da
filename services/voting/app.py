"""Voting: the electorate from the panel, check-ins from sessions, secret ballots with anonymous
tokens, the public bulletin board, officials' entries, and the count."""

from pathlib import Path

from services.voting import models
from services.voting.api import configure, router
from services.voting.handlers import HANDLERS
from shared.runtime import ServiceSpec, main

SPEC = ServiceSpec(
    name="voting",
    title="Borgerting voting",
    metadata=models.metadata,
    outbox=models.outbox,
    inbox=models.inbox,
    migrations_dir=Path(__file__).parent / "migrations",
    routers=[router],
    handlers=HANDLERS,
    configure_app=configure,
)

if __name__ == "__main__":
    main(SPEC)
