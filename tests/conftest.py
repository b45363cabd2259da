"""Test fixtures. Integration and end-to-end tests share ONE embedded stack (real PostgreSQL,
Valkey and Tansu over sockets), started once per run by `stack_env`."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from shared.settings import get_settings

ROOT = Path(__file__).resolve().parents[1]
# BORGERTING_TEST_STATE lets two test runs share a checkout without sharing a stack.
STATE = Path(os.environ.get("BORGERTING_TEST_STATE") or ROOT / ".state" / "test").resolve()
_RUN: dict = {}


@pytest.fixture(scope="session")
def stack_env():
    import shutil

    from borgerting.cluster import SERVICES
    from shared.auth.dev_issuer import DevIssuer
    from shared.devstack import DevStack
    from shared.migrations import upgrade

    if STATE.exists():
        shutil.rmtree(STATE, ignore_errors=True)
    stack = DevStack(STATE / "stack", fast=True)
    env = stack.start()
    issuer = DevIssuer(STATE / "dev-issuer.pem").serve_in_thread()
    env.update(issuer.settings_env())
    _RUN["issuer"] = issuer
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    get_settings.cache_clear()
    try:
        import importlib

        for name in SERVICES:
            upgrade(importlib.import_module(f"services.{name}.app").SPEC.migrations_dir, env["DATABASE_URL"])
        yield env
    finally:
        issuer.stop()
        stack.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        get_settings.cache_clear()



@pytest.fixture(scope="session")
def auth(stack_env):
    """The development issuer every service of the test run trusts: `auth.headers(role, assembly_id)`."""
    return _RUN["issuer"]


class Staff(httpx.Auth):
    """httpx auth for tests that act as staff with several roles: each request carries a fresh
    development token granting `roles` in the assembly named in its path, or in every assembly
    registered with `know(...)` (for routes on objects like /sessions/{id})."""

    def __init__(self, issuer, *roles: str) -> None:
        self.issuer, self.roles, self.known = issuer, roles, set()

    def know(self, assembly_id) -> None:
        self.known.add(str(assembly_id))

    def auth_flow(self, request):
        import re

        m = re.search(r"/assemblies/([0-9a-f-]{36})", request.url.path)
        assemblies = {m.group(1)} if m else self.known
        grants = [r for r in self.roles if r == "operator"]
        grants += [f"{r}:{a}" for a in assemblies for r in self.roles if r != "operator"]
        request.headers["authorization"] = f"Bearer {self.issuer.token('operator', grants=grants)}"
        yield request


STAFF_ROLES = ("operator", "organiser", "registrar", "facilitator")
