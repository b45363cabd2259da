"""Voting: eligibility from the panel, ballots on recommendations, votes and the tally."""

from pathlib import Path

from services.voting import models
from services.voting.api import router
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
)

if __name__ == "__main__":
    main(SPEC)
