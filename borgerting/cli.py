"""The `borgerting` console script: one entry point, one sub-command group per area.

Each service that has offline tools (the sortition engine, the voting verifier, ...) exposes a
Typer app in its own ``cli`` module; this module only mounts them, so services stay independent.
"""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(no_args_is_help=True, help="Borgerting: citizens' assemblies, end to end.")

# (sub-command name, module path, help) — a module that is missing is simply not mounted.
_SUBAPPS = [
    ("stack", "shared.devstack_cli", "Start/stop the embedded stack (PostgreSQL, Valkey, Tansu)."),
    ("sortition", "services.sortition.cli", "Fair selection: select, draw, verify."),
    ("voting", "services.voting.cli", "Secret, verifiable ballots: verify a board export."),
    ("privacy", "services.recruitment.cli", "Personal data: the retention job, the vault's key rotation."),
    ("dlq", "shared.dlq_cli", "Dead letters: replay them after the cause is fixed."),
    ("audit", "shared.audit_cli", "Audit trails: verify an export."),
    ("auth", "shared.auth.cli", "Development token issuer (laptops, tests, demo; never production)."),
]

for _name, _module, _help in _SUBAPPS:
    try:
        _mod = importlib.import_module(_module)
    except ModuleNotFoundError as exc:  # only tolerate the module itself being absent
        if exc.name != _module:
            raise
        continue
    app.add_typer(_mod.app, name=_name, help=_help)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
