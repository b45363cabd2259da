"""Every route declares who may call it, with exactly one `allow(...)` dependency:

    @router.post("/assemblies/{assembly_id}/sessions")
    async def schedule(assembly_id: uuid.UUID, ..., who: Principal = Depends(allow(ORGANISER))): ...

    async def session_scope(rt, path) -> uuid.UUID: ...   # the object's assembly, or not_found
    @router.post("/sessions/{session_id}/held")
    async def held(..., who: Principal = Depends(allow(ORGANISER, FACILITATOR, scope=session_scope))): ...

The assembly of the request comes from the `{assembly_id}` path parameter, or from `scope` for
routes on an object. A caller with no role in that assembly gets 404 (another tenant's objects do
not exist for them); a caller with another role there gets 403; no token gets 401. `check_routes`
refuses to start an app with a route that declares no policy, or lets auditors write.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.routing import APIRoute

from shared.auth.principal import (ANONYMOUS, AUDITOR, GLOBAL_ROLES, MEMBER, PUBLIC, ROLES, Principal,
                                   current_principal)
from shared.auth.sessions import CSRF_COOKIE, CSRF_FIELD, SESSION_COOKIE, csrf_ok
from shared.auth.tokens import unauthorized
from shared.errors import ApiError

Scope = Callable[[Any, dict[str, str]], Awaitable[uuid.UUID]]
READ_METHODS = {"GET", "HEAD", "OPTIONS"}
POLICY_ATTR = "__borgerting_policy__"


@dataclass(frozen=True)
class Policy:
    roles: tuple[str, ...]
    scope: Scope | None
    page: bool = False  # a page: signed in by the session cookie (or a bearer token), errors as pages

    def describe(self, path: str) -> dict:
        how = "assembly_id" if "{assembly_id}" in path else ("object" if self.scope else "none")
        return {"roles": list(self.roles), "scope": how, **({"page": True} if self.page else {})}


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized("the Authorization header must be 'Bearer <token>'")
    return token.strip()


async def authenticate(request: Request) -> Principal:
    token = bearer(request)
    if token is None:
        return ANONYMOUS
    return await request.app.state.auth.verify(token)


def path_uuid(path: dict[str, str], param: str) -> uuid.UUID:
    """A UUID path parameter, for policies and scopes (they run before FastAPI parses the path)."""
    raw = path.get(param, "")
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise ApiError(422, f"{param} must be a UUID, not {raw[:40]!r}") from None


class SignInRequired(ApiError):
    """A page asked for without a session: the browser is sent to the sign-in page (303), the
    members' one when only members may see the page."""

    def __init__(self) -> None:
        super().__init__(401, "sign in to see this page", code="sign_in_required")


async def page_principal(request: Request) -> Principal:
    """Who is asking for a page: a bearer token (scripts, tests) or the browser's session."""
    if request.headers.get("authorization") is not None:
        return await authenticate(request)
    session = await request.app.state.rt.web_sessions.load(request.cookies.get(SESSION_COOKIE))
    request.state.web_session = session
    return ANONYMOUS if session is None else session.principal


def check_csrf(request: Request, form) -> None:
    if request.headers.get("authorization") is not None:  # no ambient credential, nothing to forge
        return
    session = getattr(request.state, "web_session", None)
    if not csrf_ok(request.app.state.rt.settings.secret_key, request.cookies.get(CSRF_COOKIE),
                   session.sid if session else None, form.get(CSRF_FIELD)):
        raise ApiError(403, "the form has expired or did not come from this site; reload the page and try again",
                       code="csrf_failed")


def allow(*roles: str, scope: Scope | None = None, page: bool = False) -> Callable[[Request], Awaitable[Principal]]:
    """The policy of an API route, or with `page=True` of a page: the same roles and scopes, but
    the browser's session signs in, a missing one sends the browser to sign in, refusals are
    rendered as pages, and every write must carry the form's CSRF token."""
    unknown = [r for r in roles if r not in ROLES]
    if not roles or unknown:
        raise ValueError(f"allow() needs roles from {ROLES}; got unknown {unknown}")
    policy = Policy(tuple(roles), scope, page)

    async def dependency(request: Request) -> Principal:
        if page:
            request.state.page = True
            principal = request.state.principal = await page_principal(request)
            current_principal.set(principal)
            if PUBLIC not in roles and principal.anonymous:
                request.state.members_only = set(roles) == {MEMBER}
                raise SignInRequired()
            principal = await _authorise(request, principal)
            if request.method not in READ_METHODS:
                check_csrf(request, await request.form())
            return principal
        principal = await authenticate(request)
        current_principal.set(principal)
        return await _authorise(request, principal)

    async def _authorise(request: Request, principal: Principal) -> Principal:
        if PUBLIC in roles:
            return principal
        if principal.anonymous:
            raise unauthorized(f"this needs a bearer token (Authorization: Bearer ...) for one of: {', '.join(roles)}")
        if principal.global_roles & set(roles):
            return principal
        if "assembly_id" in request.path_params:
            assembly_id = path_uuid(request.path_params, "assembly_id")
        elif scope is not None:
            assembly_id = await scope(request.app.state.rt, dict(request.path_params))
        else:
            raise ApiError(403, f"only {', '.join(roles)} may do this", code="forbidden")
        held = principal.roles_in(assembly_id)
        if not held:
            # another tenant's objects do not exist for this caller
            raise ApiError(404, f"{request.url.path} not found", code="not_found")
        if not held & set(roles):
            raise ApiError(403, f"your role here ({', '.join(sorted(held))}) cannot do this; "
                                f"it needs one of: {', '.join(roles)}", code="forbidden")
        return principal

    setattr(dependency, POLICY_ATTR, policy)
    return dependency


def scope_from(table, param: str, what: str, column: str = "id") -> Scope:
    """A scope for routes on one object: the `assembly_id` of the row whose `column` is the path's
    `{param}`, or 404. E.g. `allow(ORGANISER, scope=scope_from(m.sessions, "session_id", "session"))`."""
    import sqlalchemy as sa

    async def scope(rt, path: dict[str, str]) -> uuid.UUID:
        key = path_uuid(path, param)
        async with rt.sessionmaker() as session:
            aid = (await session.execute(sa.select(table.c.assembly_id).where(table.c[column] == key))).scalar()
        if aid is None:
            raise ApiError(404, f"{what} not found", code="not_found")
        return aid

    scope.__name__ = f"{what}_scope"
    return scope


def route_policies(route: APIRoute) -> list[Policy]:
    found: list[Policy] = []

    def walk(dependant) -> None:
        for dep in dependant.dependencies:
            p = getattr(dep.call, POLICY_ATTR, None)
            if p is not None:
                found.append(p)
            walk(dep)

    walk(route.dependant)
    return found


def api_routes(routes) -> list[APIRoute]:
    """Every APIRoute, also inside included routers (FastAPI >= 0.16x includes routers lazily)."""
    out: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            out.append(route)
        elif getattr(route, "original_router", None) is not None:
            out.extend(api_routes(route.original_router.routes))
    return out


def check_routes(app: FastAPI) -> None:
    """Refuse to serve a route without exactly one policy, or a write open to auditors; publish
    each route's policy in the OpenAPI document as `x-borgerting-policy`."""
    problems = []
    for route in api_routes(app.routes):
        policies = route_policies(route)
        where = f"{sorted(route.methods)} {route.path}"
        if len(policies) != 1:
            problems.append(f"{where} declares {len(policies)} policies; give it exactly one Depends(allow(...))")
            continue
        p = policies[0]
        if AUDITOR in p.roles and not route.methods <= READ_METHODS:
            problems.append(f"{where} lets auditors write; auditors read only")
        scoped = [r for r in p.roles if r not in (*GLOBAL_ROLES, PUBLIC)]
        if scoped and "{assembly_id}" not in route.path and p.scope is None:
            problems.append(f"{where} allows assembly roles {scoped} but has no {{assembly_id}} and no scope=")
        route.openapi_extra = {**(route.openapi_extra or {}), "x-borgerting-policy": p.describe(route.path)}
    if problems:
        raise RuntimeError("routes without a sound policy:\n  " + "\n  ".join(problems))


__all__ = ["allow", "check_routes", "SignInRequired", "page_principal", "scope_from", "path_uuid", "api_routes", "route_policies", "Policy"]
