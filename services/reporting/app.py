"""Reporting: read models from every event; the summary and the handover report."""

from pathlib import Path

from services.reporting import models
from services.reporting.api import router
from services.reporting.handlers import HANDLERS
from services.reporting.pages import pages
from services.reporting.pages import router as page_router
from shared.runtime import ServiceSpec, main

SPEC = ServiceSpec(
    name="reporting",
    title="Borgerting reporting",
    metadata=models.metadata,
    outbox=models.outbox,
    inbox=models.inbox,
    migrations_dir=Path(__file__).parent / "migrations",
    routers=[router, page_router],
    pages=pages,
    handlers=HANDLERS,
)

if __name__ == "__main__":
    main(SPEC)
