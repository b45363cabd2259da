"""Reporting: read models from every event; the summary and the handover report; the evaluation
(member surveys, the evaluation pack) and the secretariat's live figures and business metrics."""

from pathlib import Path

from services.reporting import models
from services.reporting.api import router
from services.reporting.api.dashboard import router as dashboard_api
from services.reporting.api.evaluation import router as evaluation_api
from services.reporting.api.followup import router as followup_api
from services.reporting.api.publication import router as publication_api
from services.reporting.handlers import HANDLERS
from services.reporting.jobs import business_metrics
from services.reporting.pages import pages
from services.reporting.pages import router as page_router
from services.reporting.pages.dashboard import router as dashboard_pages
from services.reporting.pages.evaluation import router as evaluation_pages
from services.reporting.pages.followup import router as followup_pages
from services.reporting.pages.publication import router as publication_pages
from services.reporting.pages.report import router as report_pages
from shared.runtime import ServiceSpec, Worker, main

SPEC = ServiceSpec(
    name="reporting",
    title="Borgerting reporting",
    metadata=models.metadata,
    outbox=models.outbox,
    inbox=models.inbox,
    migrations_dir=Path(__file__).parent / "migrations",
    routers=[router, publication_api, followup_api, page_router, dashboard_pages, report_pages, publication_pages,
             followup_pages, evaluation_api, dashboard_api, evaluation_pages],
    pages=pages,
    handlers=HANDLERS,
    # The business metrics come from the consumer's process: one series per figure, not one per API replica.
    workers=[Worker("business-metrics", business_metrics.run, frozenset({"consumer", "all"}))],
)

if __name__ == "__main__":
    main(SPEC)
