"""Voting: the electorate from the panel, check-ins from sessions, secret ballots with anonymous
tokens, the public bulletin board, officials' entries, and the count."""

from pathlib import Path

from services.voting import models
from services.voting.api import ballot_box, router
from services.voting.handlers import HANDLERS
from services.voting.ingest import INGEST
from services.voting.pages import pages
from services.voting.pages import router as page_router
from shared.runtime import ServiceSpec, main

HERE = Path(__file__).parent

SPEC = ServiceSpec(
    name="voting",
    title="Borgerting voting",
    metadata=models.metadata,
    outbox=models.outbox,
    inbox=models.inbox,
    migrations_dir=HERE / "migrations",
    routers=[router, page_router],
    pages=pages,
    priority_routers=[ballot_box],  # the vote route, matched first: nearly every request under load
    handlers=HANDLERS,
    resources=[INGEST],  # the ballot box's group commit and fast path (one per API process)
    static={"/voting-static": HERE / "static"},  # the ballot page's script
)

if __name__ == "__main__":
    main(SPEC)
