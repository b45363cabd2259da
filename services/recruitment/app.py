"""Recruitment: assemblies, the register extract, invitations with single-use codes, registration."""

from pathlib import Path

from services.recruitment import models
from services.recruitment.api import router
from shared.runtime import ServiceSpec, main

SPEC = ServiceSpec(
    name="recruitment",
    title="Borgerting recruitment",
    metadata=models.metadata,
    outbox=models.outbox,
    inbox=models.inbox,
    migrations_dir=Path(__file__).parent / "migrations",
    routers=[router],
    handlers={},
)

if __name__ == "__main__":
    main(SPEC)
