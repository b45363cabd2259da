"""Staff sign-in for the console: OpenID Connect authorization code flow with PKCE (Authlib)
against the configured issuer (BORGERTING_OIDC_ISSUER; the development issuer in the demo and
the tests), the id_token verified (signature, issuer, audience, expiry, nonce, at_hash), the access
token verified like any bearer token (its roles), then a server-side session (shared/auth/sessions).

Authlib builds the authorization request (PKCE S256) and its successor joserfc verifies the
id_token; the token request is a plain form POST (httpx).

Routes (mounted by the console's service, reporting): GET /signin, GET /auth/login, GET
/auth/callback, POST /signout. Each is a page with one declared policy (public: they are how one
signs in and out)."""

from __future__ import annotations

import time

import httpx
import structlog
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core.util import create_half_hash
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from shared.auth import PUBLIC, Principal, allow
from shared.auth.sessions import CSRF_COOKIE, SESSION_COOKIE, cookie_options
from shared.errors import ApiError
from shared.ui.pages import Pages, forwarded_prefix, safe_next

log = structlog.get_logger()
_DISCOVERY: dict[str, tuple[float, dict, dict]] = {}  # issuer -> (fetched at, metadata, jwks)


async def provider(issuer: str) -> tuple[dict, dict]:
    """The issuer's metadata and keys (cached ten minutes)."""
    cached = _DISCOVERY.get(issuer)
    if cached and time.monotonic() - cached[0] < 600:
        return cached[1], cached[2]
    try:
        async with httpx.AsyncClient(timeout=5) as http:
            meta = (await http.get(issuer.rstrip("/") + "/.well-known/openid-configuration")).raise_for_status().json()
            jwks = (await http.get(meta["jwks_uri"])).raise_for_status().json()
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        raise ApiError(503, "the sign-in service cannot be reached right now; try again shortly",
                       headers={"Retry-After": "5"}) from exc
    _DISCOVERY[issuer] = (time.monotonic(), meta, jwks)
    return meta, jwks


def public_base(request: Request) -> str:
    """scheme://host as the browser sees it: BORGERTING_PUBLIC_URL, else what the one-origin proxy
    or the Ingress says."""
    configured = request.app.state.rt.settings.public_url.rstrip("/")
    if configured:
        return configured
    host = request.headers.get("x-forwarded-host") if forwarded_prefix(request) else None
    proto = request.headers.get("x-forwarded-proto") or request.url.scheme
    return f"{proto}://{host}" if host else str(request.base_url).rstrip("/")


ID_TOKEN_ALGORITHMS = ["RS256", "PS256", "ES256", "EdDSA"]


def verify_id_token(id_token: str, jwks: dict, *, issuer: str, client_id: str, nonce: str, access_token: str) -> dict:
    """OIDC Core 3.1.3.7: the signature (the issuer's keys, an asymmetric algorithm), iss, aud,
    exp and iat, the nonce of this sign-in, and at_hash over the access token when present."""
    token = jwt.decode(id_token, KeySet.import_key_set(jwks), algorithms=ID_TOKEN_ALGORITHMS)
    claims = token.claims
    jwt.JWTClaimsRegistry(leeway=30, iss={"essential": True, "value": issuer},
                          aud={"essential": True, "value": client_id}, exp={"essential": True},
                          iat={"essential": True}, nonce={"essential": True, "value": nonce},
                          sub={"essential": True}).validate(claims)
    if "at_hash" in claims:
        expected = create_half_hash(access_token, token.header["alg"])
        if expected is None or expected.decode() != claims["at_hash"]:
            raise ValueError("at_hash does not match the access token")
    return dict(claims)


def signin_router(pages: Pages) -> APIRouter:
    router = APIRouter(tags=["pages"])

    def issuer_of(request: Request) -> str:
        s = request.app.state.rt.settings
        return s.oidc_issuer

    @router.get("/signin", summary="Sign-in page (HTML)")
    async def signin_page(request: Request, next: str | None = None,
                          who: Principal = Depends(allow(PUBLIC, page=True))) -> Response:
        return pages.render(request, "ui/signin.html", {"next": safe_next(next) or "",
                                                        "staff_enabled": bool(issuer_of(request))}, who=who)

    @router.get("/auth/login", summary="Start the staff sign-in at the identity provider")
    async def login(request: Request, next: str | None = None,
                    who: Principal = Depends(allow(PUBLIC, page=True))) -> Response:
        rt = request.app.state.rt
        s = rt.settings
        issuer = issuer_of(request)
        if not issuer:
            raise ApiError(404, "staff sign-in is not configured (BORGERTING_OIDC_ISSUER)")
        meta, _jwks = await provider(issuer)
        state, nonce, verifier = generate_token(32), generate_token(32), generate_token(64)
        redirect_uri = public_base(request) + forwarded_prefix(request) + "/auth/callback"
        url = prepare_grant_uri(meta["authorization_endpoint"], s.oidc_client_id, "code", redirect_uri=redirect_uri,
                                scope="openid", state=state, nonce=nonce,
                                code_challenge=create_s256_code_challenge(verifier), code_challenge_method="S256")
        # bound to this browser: the callback must come with the same CSRF cookie
        browser = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf_cookie", None)
        if browser is None:
            from shared.auth.sessions import new_csrf_cookie

            browser = request.state.new_csrf_cookie = new_csrf_cookie()
        await rt.web_sessions.put_pending(state, {"nonce": nonce, "verifier": verifier, "redirect_uri": redirect_uri,
                                                  "next": safe_next(next), "browser": browser})
        return pages.redirect(request, url)

    @router.get("/auth/callback", summary="The identity provider returns here")
    async def callback(request: Request, state: str = "", code: str = "", error: str = "",
                       who: Principal = Depends(allow(PUBLIC, page=True))) -> Response:
        rt = request.app.state.rt
        s = rt.settings
        pending = await rt.web_sessions.take_pending(state) if state else None
        if pending is None or pending["browser"] != request.cookies.get(CSRF_COOKIE):
            raise ApiError(400, "this sign-in is unknown or expired; start again", code="sign_in_failed")
        if error or not code:
            raise ApiError(403, f"the identity provider refused the sign-in ({error[:40] or 'no code'})",
                           code="sign_in_refused")
        issuer = issuer_of(request)
        meta, jwks = await provider(issuer)
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": pending["redirect_uri"],
                "code_verifier": pending["verifier"], "client_id": s.oidc_client_id}
        basic = (s.oidc_client_id, s.oidc_client_secret) if s.oidc_client_secret else None  # else a public client
        try:
            async with httpx.AsyncClient(timeout=10) as http:
                answer = await http.post(meta["token_endpoint"], data=form, auth=basic,
                                         headers={"accept": "application/json"})
            token = answer.raise_for_status().json()
            token["access_token"]
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            log.warning("token exchange failed", error=type(exc).__name__)
            raise ApiError(403, "the identity provider did not confirm the sign-in; start again",
                           code="sign_in_refused") from None
        try:
            verify_id_token(token.get("id_token", ""), jwks, issuer=meta.get("issuer", issuer),
                            client_id=s.oidc_client_id, nonce=pending["nonce"], access_token=token["access_token"])
        except (JoseError, ValueError, KeyError):
            raise ApiError(403, "the identity provider's answer did not verify; start again",
                           code="sign_in_refused") from None
        principal = await request.app.state.auth.verify(token["access_token"])
        old = getattr(request.state, "web_session", None)
        await rt.web_sessions.destroy(old.sid if old else None)
        session = await rt.web_sessions.create(principal, token["access_token"], "staff")
        response = pages.redirect(request, pending["next"] or forwarded_prefix(request) + "/")
        response.set_cookie(SESSION_COOKIE, session.sid, **cookie_options(s.env == "production"))
        return response

    @router.post("/signout", summary="Sign out (ends the session)")
    async def signout(request: Request, who: Principal = Depends(allow(PUBLIC, page=True))) -> Response:
        rt = request.app.state.rt
        session = getattr(request.state, "web_session", None)
        await rt.web_sessions.destroy(session.sid if session else None)
        response = pages.redirect(request, forwarded_prefix(request) + "/signin?signed_out=1")
        response.delete_cookie(SESSION_COOKIE, path="/")
        response.delete_cookie(CSRF_COOKIE, path="/")
        return response

    return router
