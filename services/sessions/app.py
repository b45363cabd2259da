"""Sessions: the roster from the panel, the agenda, attendance."""

from pathlib import Path

from services.sessions import models
from services.sessions.api import router
from services.sessions.api.checkin import router as checkin_api
from services.sessions.api.drafts import router as drafts_router
from services.sessions.api.dropout import router as dropout_api
from services.sessions.api.programme import router as programme_api
from services.sessions.api.tables import router as tables_api
from services.sessions.handlers import HANDLERS
from services.sessions.handlers.dropout import HANDLERS as DROPOUT_HANDLERS
from services.sessions.handlers.tables import HANDLERS as TABLE_HANDLERS
from services.sessions.pages import pages
from services.sessions.pages import router as page_router
from services.sessions.pages.checkin import router as checkin_pages
from services.sessions.pages.dropout import router as dropout_pages
from services.sessions.pages.tables import router as tables_pages
from services.sessions.pages.drafts import router as drafts_page_router
from services.sessions.pages.experts import router as experts_pages
from services.sessions.pages.my_programme import router as my_programme_pages
from services.sessions.pages.programme import router as programme_pages
from shared.runtime import ServiceSpec, main

SPEC = ServiceSpec(
    name="sessions",
    title="Borgerting sessions",
    metadata=models.metadata,
    outbox=models.outbox,
    inbox=models.inbox,
    migrations_dir=Path(__file__).parent / "migrations",
    routers=[router, drafts_router, programme_api, tables_api, checkin_api, dropout_api, page_router, tables_pages,
             drafts_page_router, programme_pages, experts_pages, my_programme_pages, checkin_pages, dropout_pages],
    pages=pages,
    handlers={**HANDLERS, **TABLE_HANDLERS, **DROPOUT_HANDLERS},
)

if __name__ == "__main__":
    main(SPEC)
