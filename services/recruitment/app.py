"""Recruitment: assemblies, the register extract, invitations with single-use codes, registration,
and the identity vault with its retention schedule."""

from pathlib import Path

from services.recruitment import models
from services.recruitment.api.assemblies import router as assemblies_api
from services.recruitment.api.invitations import router as invitations_api
from services.recruitment.api.members import router as members_api
from services.recruitment.api.privacy import router as privacy_api
from services.recruitment.api.questionnaire import router as questionnaire_api
from services.recruitment.api.registration import router as registration_api
from services.recruitment.api.stipends import router as stipends_api
from services.recruitment.api.waves import router as waves_api
from services.recruitment.handlers import privacy
from services.recruitment.handlers.members import HANDLERS
from services.recruitment.handlers.stipends import HANDLERS as STIPEND_HANDLERS
from services.recruitment.keystore import key_store_lifetime
from services.recruitment.pages import pages
from services.recruitment.pages.assemblies import router as assemblies_pages
from services.recruitment.pages.invitations import router as invitations_pages
from services.recruitment.pages.letters import router as letters_pages
from services.recruitment.pages.members import router as members_pages
from services.recruitment.pages.privacy import router as privacy_pages
from services.recruitment.pages.questionnaire import router as questionnaire_pages
from services.recruitment.pages.registration import router as registration_pages
from services.recruitment.pages.replies import router as replies_pages
from services.recruitment.pages.sample import router as sample_pages
from services.recruitment.pages.stipends import router as stipends_pages
from services.recruitment.pages.waves import router as waves_pages
from shared.auth.keys import member_jwks
from shared.runtime import ServiceSpec, Worker, main

SPEC = ServiceSpec(
    name="recruitment",
    title="Borgerting recruitment",
    metadata=models.metadata,
    outbox=models.outbox,
    inbox=models.inbox,
    migrations_dir=Path(__file__).parent / "migrations",
    routers=[assemblies_api, questionnaire_api, invitations_api, registration_api, members_api, waves_api, privacy_api, stipends_api,
             registration_pages, members_pages, assemblies_pages, questionnaire_pages, invitations_pages, replies_pages, letters_pages,
             waves_pages, stipends_pages, sample_pages, privacy_pages],
    pages=pages,
    handlers={**privacy.with_dates(HANDLERS), **STIPEND_HANDLERS},
    # the retention schedule's job runs beside the consumer (docs/privacy.md)
    workers=[Worker("recruitment-retention", privacy.retention_worker, frozenset({"consumer", "all"})),
             # closes the vault's key store connections (its own database) when the process stops
             Worker("recruitment-key-store", key_store_lifetime, frozenset({"api", "consumer", "all"}))],
    # recruitment signs member tokens itself, so it trusts its own members' issuer without a fetch
    own_jwks=lambda s: {s.auth_member_issuer: member_jwks(s.secret_key)},
)

if __name__ == "__main__":
    main(SPEC)
