"""Recruitment: assemblies, the register extract, invitations with single-use codes, registration,
and the identity vault with its retention schedule."""

from pathlib import Path

from services.recruitment import models, privacy
from services.recruitment.api import router
from services.recruitment.handlers import HANDLERS
from services.recruitment.mailapi import router as mail_api_router
from services.recruitment.mailpages import router as mail_router
from services.recruitment.pages import pages
from services.recruitment.pages import router as page_router
from services.recruitment.privacyapi import router as privacy_router
from services.recruitment.stipendapi import router as stipend_api_router
from services.recruitment.stipendpages import router as stipend_page_router
from services.recruitment.stipends import HANDLERS as STIPEND_HANDLERS
from services.recruitment.samplepages import router as sample_router
from services.recruitment.privacypages import router as privacy_page_router
from shared.auth.keys import member_jwks
from shared.runtime import ServiceSpec, Worker, main

SPEC = ServiceSpec(
    name="recruitment",
    title="Borgerting recruitment",
    metadata=models.metadata,
    outbox=models.outbox,
    inbox=models.inbox,
    migrations_dir=Path(__file__).parent / "migrations",
    routers=[router, mail_api_router, privacy_router, stipend_api_router, page_router, mail_router,
             stipend_page_router, sample_router, privacy_page_router],
    pages=pages,
    handlers={**privacy.with_dates(HANDLERS), **STIPEND_HANDLERS},
    # the retention schedule's job runs beside the consumer (docs/privacy.md)
    workers=[Worker("recruitment-retention", privacy.retention_worker, frozenset({"consumer", "all"}))],
    # recruitment signs member tokens itself, so it trusts its own members' issuer without a fetch
    own_jwks=lambda s: {s.auth_member_issuer: member_jwks(s.secret_key)},
)

if __name__ == "__main__":
    main(SPEC)
