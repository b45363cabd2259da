"""Browser sign-in state: server-side sessions in Valkey and CSRF tokens, for the pages.

A session is a random id in a cookie (HttpOnly, SameSite=Lax, Secure in production, path /, so
that every service behind the one origin sees it) and a record in Valkey holding who signed in
(their verified grants and access token). The record expires after `idle` seconds without a
request and is refused after `absolute` seconds whatever happens; sign-out deletes it. The
cookie's id is stored only as a hash.

CSRF: every form carries `csrf_token` = HMAC(secret, csrf cookie | session id), the "signed
double-submit cookie" pattern: a random CSRF cookie is set when a form is shown, a POST must carry
the matching token, and signing in or out changes it (so a token of one session is worthless in
another). No state is needed for anonymous forms (registration, sign-in).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import uuid
from dataclasses import dataclass

from shared.auth.principal import Principal

SESSION_COOKIE = "borgerting_session"
CSRF_COOKIE = "borgerting_csrf"
CSRF_FIELD = "csrf_token"
_KEY = "borgerting:web-session:"
_TOUCH_EVERY = 60  # seconds: a session's idle timer is pushed back at most once a minute


def _hash(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


@dataclass
class WebSession:
    sid: str
    kind: str  # "staff" | "member"
    subject: str
    issuer: str | None
    grants: list[tuple[str, str | None]]
    member_id: str | None
    access_token: str
    created: float
    seen: float

    @property
    def principal(self) -> Principal:
        grants = frozenset((role, uuid.UUID(aid) if aid else None) for role, aid in self.grants)
        return Principal(subject=self.subject, issuer=self.issuer, grants=grants,
                         member_id=uuid.UUID(self.member_id) if self.member_id else None)

    def dump(self) -> str:
        return json.dumps({k: v for k, v in self.__dict__.items() if k != "sid"})


class SessionStore:
    def __init__(self, redis, *, idle: int, absolute: int) -> None:
        self.redis = redis
        self.idle = idle
        self.absolute = absolute

    async def create(self, principal: Principal, access_token: str, kind: str) -> WebSession:
        now = time.time()
        s = WebSession(sid=secrets.token_urlsafe(32), kind=kind, subject=principal.subject or "",
                       issuer=principal.issuer,
                       grants=sorted((role, str(aid) if aid else None) for role, aid in principal.grants),
                       member_id=str(principal.member_id) if principal.member_id else None,
                       access_token=access_token, created=now, seen=now)
        await self.redis.set(_KEY + _hash(s.sid), s.dump(), ex=self.idle)
        return s

    async def load(self, sid: str | None) -> WebSession | None:
        if not sid or len(sid) > 100:
            return None
        key = _KEY + _hash(sid)
        raw = await self.redis.get(key)
        if raw is None:
            return None
        data = json.loads(raw)
        now = time.time()
        if now - data["created"] > self.absolute or now - data["seen"] > self.idle:
            await self.redis.delete(key)
            return None
        s = WebSession(sid=sid, **{**data, "grants": [tuple(g) for g in data["grants"]]})
        if now - s.seen > _TOUCH_EVERY:
            s.seen = now
            await self.redis.set(key, s.dump(), ex=self.idle)
        return s

    async def destroy(self, sid: str | None) -> None:
        if sid:
            await self.redis.delete(_KEY + _hash(sid))

    # A sign-in in progress (OIDC state -> nonce, PKCE verifier, where to go back): ten minutes.
    async def put_pending(self, state: str, data: dict) -> None:
        await self.redis.set(f"{_KEY}pending:{_hash(state)}", json.dumps(data), ex=600)

    async def take_pending(self, state: str) -> dict | None:
        key = f"{_KEY}pending:{_hash(state)}"
        raw = await self.redis.getdel(key)
        return None if raw is None else json.loads(raw)


def csrf_token(secret: str, csrf_cookie: str, sid: str | None) -> str:
    return hmac.new(secret.encode(), f"{csrf_cookie}|{sid or ''}".encode(), hashlib.sha256).hexdigest()


def csrf_ok(secret: str, csrf_cookie: str | None, sid: str | None, given: str | None) -> bool:
    if not csrf_cookie or not given:
        return False
    return hmac.compare_digest(csrf_token(secret, csrf_cookie, sid), given)


def new_csrf_cookie() -> str:
    return secrets.token_urlsafe(24)


def cookie_options(secure: bool, max_age: int | None = None) -> dict:
    return {"httponly": True, "samesite": "lax", "secure": secure, "path": "/", "max_age": max_age}
