"""A browser signed in as staff, for the page tests: a server-side session in Valkey (as the OIDC
sign-in would create it, tested in test_pages.py) and its cookie; no Authorization header, so
every form must carry its CSRF token."""

from __future__ import annotations

import re
import uuid

import httpx

from shared.auth.sessions import SESSION_COOKIE
from tests.integration.test_apis import client


def csrf(page: httpx.Response) -> str:
    return re.search(r'name="csrf_token" value="([0-9a-f]{64})"', page.text).group(1)


def error_code(page: httpx.Response) -> str | None:
    found = re.search(r'data-error-code="([^"]*)"', page.text)
    return found.group(1) if found else None


async def browser(service: str, settings, auth=None, role: str | None = None, assembly_id=None, *,
                  member_id: uuid.UUID | None = None, app=None, subject: str | None = None) -> httpx.AsyncClient:
    """An in-process client of `service` (or of `app`, e.g. one whose lifespan runs) as a browser:
    anonymous (role None) or signed in with `role` in `assembly_id`."""
    if app is None:
        c = client(service, settings, auth=httpx.Auth())
    else:
        c = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("10.9.8.7", 4321)), base_url="http://test")
    if role is not None:
        app = c._transport.app
        token = auth.token(role, assembly_id, subject=subject,
                           **({"member_id": member_id or uuid.uuid4()} if role == "member" else {}))
        principal = await app.state.auth.verify(token)
        session = await app.state.rt.web_sessions.create(principal, token, "member" if role == "member" else "staff")
        c.cookies.set(SESSION_COOKIE, session.sid)
    return c
