"""Developer tool: autogenerate a migration for a service from its models.

    python -m shared.migrations_cli SERVICE "message"   (needs DATABASE_URL of a migrated database)
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from alembic import command

from shared.migrations import alembic_config
from shared.settings import get_settings


def main() -> None:
    service, message = sys.argv[1], sys.argv[2]
    mod = importlib.import_module(f"services.{service}.app")
    cfg = alembic_config(Path(mod.SPEC.migrations_dir), get_settings().database_url)
    command.upgrade(cfg, "head")
    existing = len(list((Path(mod.SPEC.migrations_dir) / "versions").glob("*.py")))
    command.revision(cfg, message=message, autogenerate=True, rev_id=f"{existing + 1:04d}")


if __name__ == "__main__":
    main()
