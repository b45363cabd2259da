"""Sortition: the pseudonymous pool from recruitment's events, and the panel draw."""

from pathlib import Path

from services.sortition import models
from services.sortition.api import router
from services.sortition.handlers import HANDLERS
from shared.runtime import ServiceSpec, main

SPEC = ServiceSpec(
    name="sortition",
    title="Borgerting sortition",
    metadata=models.metadata,
    outbox=models.outbox,
    inbox=models.inbox,
    migrations_dir=Path(__file__).parent / "migrations",
    routers=[router],
    handlers=HANDLERS,
)

if __name__ == "__main__":
    main(SPEC)
