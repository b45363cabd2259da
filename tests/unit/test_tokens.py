"""Bearer token verification: every way a token can be wrong gets a 401 that says why."""

from __future__ import annotations

import base64
import json
import time
import uuid

import jwt
import pytest

from shared.auth.dev_issuer import DevIssuer, refuse_unless_enabled
from shared.auth.keys import member_jwks, mint_member_token
from shared.auth.principal import MEMBER, ORGANISER
from shared.auth.tokens import TokenVerifier
from shared.errors import ApiError
from shared.settings import Settings

AID = uuid.UUID("11111111-2222-3333-4444-555555555555")


@pytest.fixture(scope="module")
def issuer(tmp_path_factory):
    return DevIssuer(tmp_path_factory.mktemp("iss") / "key.pem", base_url="http://issuer.test")


@pytest.fixture(scope="module")
def verifier(issuer):
    return TokenVerifier({}, audience="borgerting", algorithms=["RS256", "ES256", "EdDSA"], leeway=30,
                         member_issuer="urn:borgerting:members",
                         static_jwks={issuer.issuer: issuer.jwks(), "urn:borgerting:members": member_jwks("s3cret")})


async def refused(verifier, token, status=401) -> str:
    with pytest.raises(ApiError) as exc:
        await verifier.verify(token)
    assert exc.value.status == status, exc.value.message
    return exc.value.message


async def test_a_good_token_gives_the_roles_in_its_assembly(issuer, verifier):
    p = await verifier.verify(issuer.token(ORGANISER, AID))
    assert p.roles_in(AID) == {ORGANISER} and p.roles_in(uuid.uuid4()) == set()
    assert p.global_roles == set() and not p.anonymous and p.member_id is None


async def test_expired_and_not_yet_valid(issuer, verifier):
    assert "expired" in await refused(verifier, issuer.token(ORGANISER, AID, minutes=-5))
    now = int(time.time())
    early = issuer.token(ORGANISER, AID, nbf=now + 600, iat=now)
    assert "not valid yet" in await refused(verifier, early)
    # within the leeway a slightly fast clock is fine
    await verifier.verify(issuer.token(ORGANISER, AID, nbf=now + 10))


async def test_wrong_audience_and_wrong_issuer(issuer, verifier):
    assert "another audience" in await refused(verifier, issuer.token(ORGANISER, AID, aud="someone-else"))
    assert "not trusted" in await refused(verifier, issuer.token(ORGANISER, AID, iss="https://evil.example"))


async def test_alg_none_is_refused(verifier, issuer):
    claims = jwt.decode(issuer.token(ORGANISER, AID), options={"verify_signature": False})
    none = jwt.encode(claims, None, algorithm="none")
    assert "'none'" in await refused(verifier, none)


async def test_hs256_signed_with_the_public_key_is_refused(issuer, verifier):
    import hashlib
    import hmac

    def b64(b: bytes) -> str:
        return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

    claims = jwt.decode(issuer.token(ORGANISER, AID), options={"verify_signature": False})
    head = b64(json.dumps({"alg": "HS256", "kid": issuer.jwks()["keys"][0]["kid"]}).encode())
    body = b64(json.dumps(claims).encode())
    secret = json.dumps(issuer.jwks()["keys"][0]).encode()  # the classic key-confusion forgery
    sig = b64(hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest())
    assert "HS256" in await refused(verifier, f"{head}.{body}.{sig}")


async def test_unknown_key_and_tampered_token(issuer, verifier, tmp_path):
    other = DevIssuer(tmp_path / "other.pem", base_url="http://issuer.test")  # same name, another key
    assert "key its issuer does not publish" in await refused(verifier, other.token(ORGANISER, AID))
    head, body, sig = issuer.token(ORGANISER, AID).split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["borgerting_roles"] = [f"organiser:{uuid.uuid4()}"]  # try to move into another assembly
    forged_body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert "signature does not verify" in await refused(verifier, f"{head}.{forged_body}.{sig}")
    assert "well-formed" in await refused(verifier, "not-a-jwt")


async def test_required_claims_and_role_grants(issuer, verifier):
    no_exp = jwt.encode({"iss": issuer.issuer, "aud": "borgerting", "sub": "x", "iat": int(time.time())},
                        issuer._key, algorithm="RS256", headers={"kid": issuer.jwks()["keys"][0]["kid"]})
    assert "'exp'" in await refused(verifier, no_exp)
    assert "badly scoped" in await refused(verifier, issuer.token(ORGANISER, None), status=403)
    assert "unknown or badly scoped" in await refused(verifier, issuer.token("operator", grants=["king"]), status=403)
    assert "member_id" in await refused(verifier, issuer.token("operator", grants=[f"member:{AID}"]), status=403)


async def test_member_tokens_from_recruitment(verifier):
    mid = uuid.uuid4()
    tok = mint_member_token("s3cret", issuer="urn:borgerting:members", audience="borgerting", assembly_id=AID,
                            member_id=mid, minutes=5)
    p = await verifier.verify(tok)
    assert p.member_id == mid and p.roles_in(AID) == {MEMBER} and p.actor == f"member:{mid}"
    wrong_secret = mint_member_token("other", issuer="urn:borgerting:members", audience="borgerting",
                                     assembly_id=AID, member_id=mid, minutes=5)
    await refused(verifier, wrong_secret)


async def test_the_members_issuer_cannot_grant_staff_roles():
    from shared.auth.keys import member_key, mint

    v = TokenVerifier({}, audience="borgerting", algorithms=["EdDSA"], member_issuer="urn:borgerting:members",
                      static_jwks={"urn:borgerting:members": member_jwks("s3cret")})
    tok = mint(member_key("s3cret"), "EdDSA", issuer="urn:borgerting:members", audience="borgerting", subject="x",
               grants=[f"organiser:{AID}"])
    assert "only the member role" in await refused(v, tok, status=403)


def test_the_development_issuer_is_refused_unless_enabled_and_never_in_production():
    dev = {"http://127.0.0.1:1/borgerting-dev-issuer": "http://127.0.0.1:1/borgerting-dev-issuer/jwks.json"}
    with pytest.raises(RuntimeError, match="BORGERTING_AUTH_DEV_ISSUER=true"):
        refuse_unless_enabled(dev, enabled=False)
    refuse_unless_enabled(dev, enabled=True)
    refuse_unless_enabled({"https://idp.example": "https://idp.example/certs"}, enabled=False)
    with pytest.raises(ValueError, match="must not be set in production"):
        Settings(env="production", secret_key="x" * 40, auth_dev_issuer=True, auth_issuers={"https://i": "https://i/k"})
    with pytest.raises(ValueError, match="may hold only"):
        Settings(auth_algorithms=["RS256", "HS256"])


async def test_no_configured_issuer_says_so():
    v = TokenVerifier({}, audience="borgerting", algorithms=["RS256"])
    assert "no token issuer is configured" in await refused(v, "a.b.c")
