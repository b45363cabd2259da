"""Bearer token verification (OpenID Connect access tokens as JWT), done by PyJWT.

Checked: signature against the issuer's JWKS (cached; fetched again when a token names a key id
we do not know, at most once per `refetch_seconds`), the algorithm against an allow-list (no
`none`, no HS*), and the issuer, audience, expiry and not-before claims with a small leeway.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import jwt
from jwt import PyJWK

from shared.auth.principal import ClaimsError, Principal, principal_from_claims
from shared.errors import ApiError

REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub"]


def unauthorized(reason: str) -> ApiError:
    # The header is fixed text: a reason may quote what the token holds, and a header can carry
    # neither arbitrary characters (non-Latin-1 made every route a 500) nor unescaped quotes.
    # The reason is in the body.
    return ApiError(401, reason, code="unauthenticated", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


class TokenVerifier:
    def __init__(self, issuers: dict[str, str], *, audience: str, algorithms: list[str], leeway: int = 30,
                 ttl: float = 600, member_issuer: str = "", static_jwks: dict[str, dict] | None = None,
                 refetch_seconds: float = 10.0) -> None:
        self.issuers = dict(issuers)
        self.audience = audience
        self.algorithms = list(algorithms)
        self.leeway = leeway
        self.ttl = ttl
        self.member_issuer = member_issuer
        self.refetch_seconds = refetch_seconds
        self._keys: dict[str, tuple[float, dict[str, dict]]] = {}  # issuer -> (fetched_at, kid -> jwk)
        self._static = {iss: _by_kid(jwks) for iss, jwks in (static_jwks or {}).items()}
        self._locks: dict[str, asyncio.Lock] = {}

    @property
    def configured(self) -> bool:
        return bool(self.issuers or self._static)

    async def _fetch(self, issuer: str) -> dict[str, dict]:
        url = self.issuers[issuer]
        try:
            async with httpx.AsyncClient(timeout=5) as http:
                resp = await http.get(url)
                resp.raise_for_status()
                return _by_kid(resp.json())
        except (httpx.HTTPError, ValueError) as exc:
            raise ApiError(503, "the token issuer's keys cannot be fetched right now; try again shortly",
                           code="unavailable", headers={"Retry-After": "5"}) from exc

    async def _key(self, issuer: str, kid: str | None) -> dict | None:
        if issuer in self._static:
            return self._static[issuer].get(kid)
        lock = self._locks.setdefault(issuer, asyncio.Lock())
        async with lock:
            fetched_at, keys = self._keys.get(issuer, (0.0, {}))
            age = time.monotonic() - fetched_at
            if age > self.ttl or (kid not in keys and age > self.refetch_seconds):
                keys = await self._fetch(issuer)
                self._keys[issuer] = (time.monotonic(), keys)
        return keys.get(kid)

    async def verify(self, token: str) -> Principal:
        if not self.configured:
            raise unauthorized("no token issuer is configured for this service (BORGERTING_AUTH_ISSUERS)")
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise unauthorized("the bearer token is not a well-formed JWT") from None
        alg, kid = header.get("alg"), header.get("kid")
        if not isinstance(alg, str) or alg not in self.algorithms:
            raise unauthorized(f"tokens signed with {str(alg)[:20]!r} are not accepted; use one of {self.algorithms}")
        if kid is not None and not isinstance(kid, str):
            raise unauthorized("the token's key id (kid) must be a string")
        issuer = unverified.get("iss")
        if not isinstance(issuer, str) or (issuer not in self.issuers and issuer not in self._static):
            raise unauthorized("the token's issuer is not trusted by this service")
        jwk = await self._key(issuer, kid)
        if jwk is None:
            raise unauthorized("the token is signed with a key its issuer does not publish")
        if jwk.get("alg") not in (None, alg):
            raise unauthorized("the token's algorithm does not match its key")
        try:
            key = PyJWK(jwk, algorithm=alg).key
            claims = jwt.decode(token, key=key, algorithms=[alg], audience=self.audience, issuer=issuer,
                                leeway=self.leeway, options={"require": REQUIRED_CLAIMS})
        except jwt.ExpiredSignatureError:
            raise unauthorized("the token has expired; get a new one") from None
        except jwt.ImmatureSignatureError:
            raise unauthorized("the token is not valid yet (nbf/iat in the future)") from None
        except jwt.InvalidAudienceError:
            raise unauthorized(f"the token is for another audience; this service accepts {self.audience!r}") from None
        except jwt.InvalidIssuerError:
            raise unauthorized("the token's issuer is not trusted by this service") from None
        except jwt.MissingRequiredClaimError as exc:
            raise unauthorized(f"the token lacks the {exc.claim!r} claim") from None
        except jwt.InvalidSignatureError:
            raise unauthorized("the token's signature does not verify") from None
        except jwt.PyJWTError as exc:
            raise unauthorized(f"the token is not valid: {exc}") from None
        try:
            return principal_from_claims(claims, member_issuer=self.member_issuer)
        except ClaimsError as exc:
            raise ApiError(403, f"the token's roles are not usable: {exc}", code="forbidden") from None


def _by_kid(jwks: Any) -> dict[str, dict]:
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise ValueError("not a JWK set")
    return {k.get("kid"): k for k in jwks["keys"] if isinstance(k, dict)}
