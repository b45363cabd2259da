"""Reporting: read models from every event; the summary and the handover report; the evaluation
(member surveys, the evaluation pack) and the secretariat's live figures and business metrics."""

from pathlib import Path

from services.reporting import business_metrics, models
from services.reporting.api import router
from services.reporting.evaluation_pages import router as evaluation_router
from services.reporting.handlers import HANDLERS
from services.reporting.pages import pages
from services.reporting.pages import router as page_router
from shared.runtime import ServiceSpec, Worker, main

SPEC = ServiceSpec(
    name="reporting",
    title="Borgerting reporting",
    metadata=models.metadata,
    outbox=models.outbox,
    inbox=models.inbox,
    migrations_dir=Path(__file__).parent / "migrations",
    routers=[router, page_router, evaluation_router],
    pages=pages,
    handlers=HANDLERS,
    # The business metrics come from the consumer's process: one series per figure, not one per API replica.
    workers=[Worker("business-metrics", business_metrics.run, frozenset({"consumer", "all"}))],
)

if __name__ == "__main__":
    main(SPEC)
