"""Sortition: the pseudonymous pool from recruitment's events, the freeze, and the verifiable draw.

The API process (roles `api` and `all`) also runs the job worker (services/sortition/jobs.py)
that executes draws and replacements in the background.
"""

import asyncio
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from services.sortition import models
from services.sortition.api import router
from services.sortition.handlers import HANDLERS
from services.sortition.jobs import JobWorker
from shared.runtime import ServiceSpec, main


def run_job_worker(app: FastAPI) -> None:
    """Start the job worker with the app and stop it (handing a running job back) with it."""
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: FastAPI):
        async with inner(a) as state:
            rt = a.state.rt
            rt.job_worker = worker = JobWorker(rt)
            stop = asyncio.Event()
            task = asyncio.create_task(worker.run(stop), name="sortition-jobs")
            try:
                yield state
            finally:
                stop.set()
                await asyncio.wait([task], timeout=10)
                task.cancel()

    app.router.lifespan_context = lifespan


SPEC = ServiceSpec(
    name="sortition",
    title="Borgerting sortition",
    metadata=models.metadata,
    outbox=models.outbox,
    inbox=models.inbox,
    migrations_dir=Path(__file__).parent / "migrations",
    routers=[router],
    handlers=HANDLERS,
    configure_app=run_job_worker,
)

if __name__ == "__main__":
    main(SPEC)
