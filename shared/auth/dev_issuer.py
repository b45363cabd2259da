"""The built-in development issuer, for laptops, tests and the demo — never for production.

It holds one RSA key (kept in a file so that restarts keep tokens valid), publishes it at
`<issuer>/jwks.json` and mints tokens for a role in an assembly, from Python, from the CLI
(`borgerting auth token ...`) or at `POST <issuer>/token`. Services accept it only when
BORGERTING_AUTH_DEV_ISSUER=true, which the production settings refuse.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import os
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from pydantic import BaseModel

from shared.auth.keys import mint, public_jwk
from shared.auth.principal import MEMBER, ROLES, format_grant

PATH = "/borgerting-dev-issuer"


def is_dev_issuer(issuer: str) -> bool:
    return issuer.rstrip("/").endswith(PATH)


def refuse_unless_enabled(issuers, enabled: bool) -> None:
    dev = [i for i in issuers if is_dev_issuer(i)]
    if dev and not enabled:
        raise RuntimeError(f"{dev[0]} is the development issuer; it is accepted only with "
                           "BORGERTING_AUTH_DEV_ISSUER=true, and never in production")


class DevIssuer:
    def __init__(self, key_file: Path, base_url: str = "http://127.0.0.1:0", audience: str = "borgerting") -> None:
        self.key_file = Path(key_file)
        self.audience = audience
        self.base_url = base_url.rstrip("/")
        self._key = self._load_or_create()
        self._server: uvicorn.Server | None = None
        # Assemblies a tester can pick on the sign-in page (the demo fills it): id -> name.
        self.assemblies: dict[str, str] = {}
        self._codes: dict[str, dict] = {}  # authorization code -> what it grants (one use, 2 minutes)

    def _load_or_create(self):
        if self.key_file.exists():
            return serialization.load_pem_private_key(self.key_file.read_bytes(), password=None)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.key_file.parent.mkdir(parents=True, exist_ok=True)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        fd = os.open(self.key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        return key

    @property
    def issuer(self) -> str:
        return self.base_url + PATH

    @property
    def jwks_url(self) -> str:
        return self.issuer + "/jwks.json"

    def jwks(self) -> dict:
        return {"keys": [public_jwk(self._key, "RS256")]}

    def token(self, role: str, assembly_id: uuid.UUID | str | None = None, *, member_id: uuid.UUID | None = None,
              subject: str | None = None, minutes: float = 60, **claims) -> str:
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}")
        if role == MEMBER and member_id is None:
            raise ValueError("a member token needs member_id")
        subject = subject or (f"member:{member_id}" if member_id else f"dev-{role}")
        return mint(self._key, "RS256", issuer=claims.pop("iss", self.issuer), audience=claims.pop("aud", self.audience),
                    subject=subject, grants=claims.pop("grants", [format_grant(role, assembly_id)]),
                    member_id=member_id, minutes=minutes, **claims)

    def headers(self, role: str, assembly_id=None, **kw) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token(role, assembly_id, **kw)}"}

    def settings_env(self) -> dict[str, str]:
        """What a service needs in its environment to trust this issuer."""
        import json

        return {"BORGERTING_AUTH_ISSUERS": json.dumps({self.issuer: self.jwks_url}), "BORGERTING_AUTH_DEV_ISSUER": "true",
                "BORGERTING_OIDC_ISSUER": self.issuer}

    # ---- OpenID Connect (authorization code flow with PKCE), for the console's staff sign-in -----

    def discovery(self) -> dict:
        return {"issuer": self.issuer, "authorization_endpoint": self.issuer + "/authorize",
                "token_endpoint": self.issuer + "/oauth/token", "jwks_uri": self.jwks_url,
                "response_types_supported": ["code"], "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"], "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
                "scopes_supported": ["openid"], "grant_types_supported": ["authorization_code"]}

    def authorize(self, *, client_id: str, redirect_uri: str, code_challenge: str, nonce: str, role: str,
                  assembly_id: str | None) -> str:
        """What the sign-in page does once the tester picked a role: a one-time code."""
        if role not in ROLES or role in (MEMBER, "public"):
            raise ValueError("pick a staff role")
        if role != "operator":
            assembly_id = str(uuid.UUID(str(assembly_id)))  # ValueError when it is no id
            self.assemblies.setdefault(assembly_id, "Assembly")
        code = base64.urlsafe_b64encode(os.urandom(24)).decode().rstrip("=")
        self._codes[code] = {"client_id": client_id, "redirect_uri": redirect_uri, "challenge": code_challenge,
                             "nonce": nonce, "role": role, "assembly_id": None if role == "operator" else assembly_id,
                             "expires": time.time() + 120}
        return code

    def exchange(self, *, code: str, client_id: str, redirect_uri: str, code_verifier: str) -> dict:
        """The token endpoint: the code once, for the client and redirect it was issued to, with
        the PKCE verifier whose S256 is the challenge."""
        grant = self._codes.pop(code, None)
        if grant is None or grant["expires"] < time.time():
            raise ValueError("invalid_grant: unknown, used or expired code")
        if grant["client_id"] != client_id or grant["redirect_uri"] != redirect_uri:
            raise ValueError("invalid_grant: the code was issued to another client or redirect URI")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(code_verifier.encode()).digest()).decode().rstrip("=")
        if not code_verifier or not hmac.compare_digest(challenge, grant["challenge"]):
            raise ValueError("invalid_grant: the PKCE code verifier does not match the challenge")
        subject = f"dev-{grant['role']}"
        access = self.token(grant["role"], grant["assembly_id"], subject=subject, minutes=60)
        id_token = mint(self._key, "RS256", issuer=self.issuer, audience=client_id, subject=subject, grants=[],
                        minutes=10, nonce=grant["nonce"], at_hash=_at_hash(access))
        return {"access_token": access, "id_token": id_token, "token_type": "Bearer", "expires_in": 3600}

    # ---- HTTP ------------------------------------------------------------------------------

    def app(self) -> FastAPI:
        app = FastAPI(title="Borgerting development token issuer (never for production)")

        class TokenIn(BaseModel):
            role: str
            assembly_id: uuid.UUID | None = None
            member_id: uuid.UUID | None = None
            minutes: float = 60

        @app.get(PATH + "/jwks.json")
        async def jwks() -> dict:
            return self.jwks()

        @app.get(PATH + "/.well-known/openid-configuration")
        async def discovery() -> dict:
            return self.discovery()

        @app.get(PATH + "/authorize", response_class=HTMLResponse)
        async def authorize_page(request: Request) -> HTMLResponse:
            q = request.query_params
            if q.get("response_type") != "code" or q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
                return HTMLResponse("<p>Only response_type=code with PKCE (S256) is supported.</p>", status_code=400)
            csrf = base64.urlsafe_b64encode(os.urandom(18)).decode()
            response = HTMLResponse(_sign_in_page(dict(q), self.assemblies, csrf))
            response.set_cookie("dev_issuer_csrf", csrf, httponly=True, samesite="lax", path=PATH)
            return response

        @app.post(PATH + "/authorize")
        async def authorize(request: Request):
            form = await request.form()
            if not form.get("csrf") or not hmac.compare_digest(str(form.get("csrf")),
                                                               request.cookies.get("dev_issuer_csrf", "")):
                return HTMLResponse("<p>The form expired; go back and reload it.</p>", status_code=403)
            try:
                code = self.authorize(client_id=str(form["client_id"]), redirect_uri=str(form["redirect_uri"]),
                                      code_challenge=str(form["code_challenge"]), nonce=str(form.get("nonce", "")),
                                      role=str(form.get("role", "")),
                                      assembly_id=str(form.get("assembly_other") or "").strip() or str(form.get("assembly_id") or ""))
            except (KeyError, ValueError) as exc:
                return HTMLResponse(f"<p>Cannot sign in: {html.escape(str(exc))}. Go back and pick a role and an "
                                    "assembly.</p>", status_code=400)
            sep = "&" if "?" in str(form["redirect_uri"]) else "?"
            return RedirectResponse(f"{form['redirect_uri']}{sep}{urlencode({'code': code, 'state': form.get('state', '')})}",
                                    status_code=303)

        @app.post(PATH + "/oauth/token")
        async def oauth_token(request: Request):
            form = await request.form()
            client_id = str(form.get("client_id") or "")
            if not client_id and request.headers.get("authorization", "").lower().startswith("basic "):
                client_id = base64.b64decode(request.headers["authorization"][6:]).decode().partition(":")[0]
            try:
                return self.exchange(code=str(form.get("code", "")), client_id=client_id,
                                     redirect_uri=str(form.get("redirect_uri", "")),
                                     code_verifier=str(form.get("code_verifier", "")))
            except ValueError as exc:
                error, _, description = str(exc).partition(": ")
                return JSONResponse({"error": error, "error_description": description}, status_code=400)

        @app.post(PATH + "/token")
        async def token(body: TokenIn) -> dict:
            from shared.errors import ApiError

            try:
                tok = self.token(body.role, body.assembly_id, member_id=body.member_id, minutes=body.minutes)
            except ValueError as exc:
                raise ApiError(422, str(exc)) from None
            return {"access_token": tok, "token_type": "Bearer", "expires_in": int(body.minutes * 60)}

        from shared.errors import install_error_handlers

        install_error_handlers(app)
        return app

    def serve_in_thread(self, host: str = "127.0.0.1", port: int | None = None) -> "DevIssuer":
        from shared.devstack import free_port, wait_for_port

        port = port or free_port()
        self.base_url = f"http://{host}:{port}"
        config = uvicorn.Config(self.app(), host=host, port=port, log_level="warning", access_log=False,
                                lifespan="off")
        self._server = uvicorn.Server(config)
        threading.Thread(target=self._server.run, name="dev-issuer", daemon=True).start()
        wait_for_port(port, 20, what="development issuer")
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            time.sleep(0.2)
            self._server = None


def _at_hash(access_token: str) -> str:
    digest = hashlib.sha256(access_token.encode()).digest()
    return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")


STAFF_ROLES = [("organiser", "Secretariat (organiser)"), ("registrar", "Registrar"),
               ("facilitator", "Facilitator"), ("auditor", "Auditor"), ("operator", "Operator (all assemblies)")]


def _sign_in_page(query: dict, assemblies: dict[str, str], csrf: str) -> str:
    """The development issuer's sign-in page: a tester picks a role and an assembly."""
    e = html.escape
    hidden = "".join(f'<input type="hidden" name="{e(k)}" value="{e(v)}">' for k, v in query.items()
                     if k in ("client_id", "redirect_uri", "state", "nonce", "code_challenge"))
    roles = "".join(f'<div><input type="radio" name="role" id="role-{r}" value="{r}"{" checked" if i == 0 else ""}>'
                    f' <label for="role-{r}">{e(text)}</label></div>' for i, (r, text) in enumerate(STAFF_ROLES))
    options = "".join(f'<option value="{e(a)}">{e(n)} ({e(a[:8])})</option>' for a, n in assemblies.items())
    # An assembly created in the console is not known here yet: its id (the assemblies page shows
    # it) can be typed in, and is offered in the list from then on.
    picker = (f'<label for="assembly">Assembly</label><select id="assembly" name="assembly_id">{options}</select>'
              '<label for="assembly-other">Or another assembly: its id (the operator\'s assemblies page shows it)</label>'
              '<input id="assembly-other" name="assembly_other" size="40" autocomplete="off">'
              if assemblies else '<label for="assembly">Assembly id</label>'
              '<input id="assembly" name="assembly_id" size="40" autocomplete="off">')
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Development sign-in</title>
<style>body{{font-family:system-ui,sans-serif;max-width:34rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}}
label,select,input{{font-size:1rem}}select,input[type=text],input:not([type]){{display:block;width:100%;padding:.5rem;margin:.3rem 0 1rem}}
fieldset{{margin:0 0 1rem;border:1px solid #747474}}div{{margin:.4rem 0}}button{{font-size:1rem;padding:.6rem 1.2rem;background:#0059b3;color:#fff;border:0}}
:focus{{outline:3px solid #ffbf47}}</style></head><body><main>
<h1>Development sign-in</h1>
<p>This is Borgerting's built-in test identity provider, never used in production. Pick who you want to be.</p>
<form method="post" action="{PATH}/authorize">{hidden}<input type="hidden" name="csrf" value="{e(csrf)}">
<fieldset><legend>Role</legend>{roles}</fieldset>{picker}
<button type="submit">Sign in</button></form></main></body></html>"""
