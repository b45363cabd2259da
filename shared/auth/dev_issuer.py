"""The built-in development issuer, for laptops, tests and the demo — never for production.

It holds one RSA key (kept in a file so that restarts keep tokens valid), publishes it at
`<issuer>/jwks.json` and mints tokens for a role in an assembly, from Python, from the CLI
(`borgerting auth token ...`) or at `POST <issuer>/token`. Services accept it only when
BORGERTING_AUTH_DEV_ISSUER=true, which the production settings refuse.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from pathlib import Path

import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
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

        return {"BORGERTING_AUTH_ISSUERS": json.dumps({self.issuer: self.jwks_url}), "BORGERTING_AUTH_DEV_ISSUER": "true"}

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
