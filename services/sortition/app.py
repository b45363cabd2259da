"""Sortition: the pseudonymous pool from recruitment's events, the freeze, and the verifiable draw.

The API process (roles `api` and `all`) also runs the job worker (services/sortition/jobs.py)
that executes draws and replacements in the background.
"""

from pathlib import Path

from services.sortition import models
from services.sortition.api import JOB_WORKER, router
from services.sortition.handlers import HANDLERS
from services.sortition.pages import pages
from services.sortition.pages import router as page_router
from services.sortition.panel_pages import router as panel_router
from shared.runtime import ServiceSpec, Worker, main


SPEC = ServiceSpec(
    name="sortition",
    title="Borgerting sortition",
    metadata=models.metadata,
    outbox=models.outbox,
    inbox=models.inbox,
    migrations_dir=Path(__file__).parent / "migrations",
    routers=[router, page_router, panel_router],
    pages=pages,
    handlers=HANDLERS,
    resources=[JOB_WORKER],
    # Started with the API process and stopped with it (handing a running job back).
    workers=[Worker("sortition-jobs", lambda rt, stop: rt.use(JOB_WORKER).run(stop))],
)

if __name__ == "__main__":
    main(SPEC)
