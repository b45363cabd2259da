"""The `borgerting` console script: one entry point, one sub-command group per area.

Each service that has offline tools (the sortition engine, the voting verifier, ...) exposes a
Typer app in its own ``cli`` module; this module only mounts them, so services stay independent.
"""

from __future__ import annotations

import importlib
import sys

import typer

HELP = "Borgerting: citizens' assemblies, end to end."

# (sub-command name, module path, help) — a module that is missing is simply not mounted.
_SUBAPPS = [
    ("stack", "shared.devstack_cli", "Start/stop the embedded stack (PostgreSQL, Valkey, Tansu)."),
    ("sortition", "services.sortition.cli", "Fair selection: select, draw, verify."),
    ("voting", "services.voting.cli", "Secret, verifiable ballots: verify a board export."),
    ("privacy", "services.recruitment.cli", "Personal data: the retention job, the vault's key rotation."),
    ("reporting", "services.reporting.cli", "Reporting: rebuild the read models from the events."),
    ("dlq", "shared.dlq_cli", "Dead letters: replay them after the cause is fixed."),
    ("audit", "shared.audit_cli", "Audit trails: verify an export."),
    ("auth", "shared.auth.cli", "Development token issuer (laptops, tests, demo; never production)."),
]


def build(only: str | None = None) -> typer.Typer:
    """The app with every group mounted, or with ``only`` that one: a command imports only its own
    service (importing them all costs 4 s of CPU and 80 MB, issue 17's national-scale runs)."""
    app = typer.Typer(no_args_is_help=True, help=HELP)
    for name, module, help_ in _SUBAPPS:
        if only is not None and name != only:
            continue
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:  # only tolerate the module itself being absent
            if exc.name != module:
                raise
            continue
        app.add_typer(mod.app, name=name, help=help_)
    return app


def __getattr__(name: str):
    if name == "app":  # `from borgerting.cli import app`: every group
        return build()
    raise AttributeError(name)


def main() -> None:
    first = sys.argv[1] if len(sys.argv) > 1 else None
    build(first if first in {name for name, _, _ in _SUBAPPS} else None)()


if __name__ == "__main__":
    main()
