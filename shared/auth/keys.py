"""Signing keys and token minting for Borgerting's own issuers (the development issuer and the
members' issuer in recruitment). The tokens are ordinary JWTs, verified like any IdP's."""

from __future__ import annotations

import hashlib
import json
import time
import uuid

import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from jwt.algorithms import OKPAlgorithm, RSAAlgorithm

from shared.auth.principal import MEMBER, MEMBER_CLAIM, ROLES_CLAIM, format_grant


def public_jwk(private_key, alg: str) -> dict:
    if alg == "EdDSA":
        jwk = json.loads(OKPAlgorithm.to_jwk(private_key.public_key()))
    else:
        jwk = json.loads(RSAAlgorithm.to_jwk(private_key.public_key()))
    # RFC 7638 thumbprint as key id
    members = {k: jwk[k] for k in sorted(jwk) if k in ("crv", "e", "kty", "n", "x")}
    jwk["kid"] = hashlib.sha256(json.dumps(members, separators=(",", ":")).encode()).hexdigest()[:16]
    jwk.update(alg=alg, use="sig")
    return jwk


def mint(private_key, alg: str, *, issuer: str, audience: str, subject: str, grants: list[str],
         member_id: uuid.UUID | None = None, minutes: float = 60, **extra) -> str:
    now = int(time.time())
    claims = {"iss": issuer, "aud": audience, "sub": subject, "iat": now, "nbf": now,
              "exp": now + int(minutes * 60), "jti": uuid.uuid4().hex, ROLES_CLAIM: grants}
    if member_id is not None:
        claims[MEMBER_CLAIM] = str(member_id)
    claims.update(extra)
    return jwt.encode(claims, private_key, algorithm=alg, headers={"kid": public_jwk(private_key, alg)["kid"]})


def member_key(secret_key: str) -> Ed25519PrivateKey:
    """The members' issuer key, derived from the service secret (every recruitment replica agrees)."""
    seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=b"borgerting member tokens v1").derive(secret_key.encode())
    return Ed25519PrivateKey.from_private_bytes(seed)


def member_jwks(secret_key: str) -> dict:
    return {"keys": [public_jwk(member_key(secret_key), "EdDSA")]}


def mint_member_token(secret_key: str, *, issuer: str, audience: str, assembly_id: uuid.UUID,
                      member_id: uuid.UUID, minutes: float) -> str:
    return mint(member_key(secret_key), "EdDSA", issuer=issuer, audience=audience, subject=f"member:{member_id}",
                grants=[format_grant(MEMBER, assembly_id)], member_id=member_id, minutes=minutes)
