"""Issuer keys over HTTP: cached, fetched again when a token names a new key (rotation), and an
unreachable issuer is a 503 with Retry-After, not a 500 and not a silent accept."""

from __future__ import annotations

import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.auth.dev_issuer import DevIssuer
from shared.auth.tokens import TokenVerifier
from shared.errors import ApiError

pytestmark = pytest.mark.integration


async def test_keys_are_cached_and_refetched_on_rotation(tmp_path, monkeypatch):
    issuer = DevIssuer(tmp_path / "k.pem").serve_in_thread()
    fetches = []
    v = TokenVerifier({issuer.issuer: issuer.jwks_url}, audience="borgerting", algorithms=["RS256"],
                      refetch_seconds=0)
    real_fetch = v._fetch

    async def counting(iss):
        fetches.append(iss)
        return await real_fetch(iss)

    monkeypatch.setattr(v, "_fetch", counting)
    aid = uuid.uuid4()
    try:
        for _ in range(3):
            assert (await v.verify(issuer.token("organiser", aid))).roles_in(aid) == {"organiser"}
        assert len(fetches) == 1, "keys are cached"
        issuer._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # the issuer rotates
        assert (await v.verify(issuer.token("auditor", aid))).roles_in(aid) == {"auditor"}
        assert len(fetches) == 2, "a new key id makes the verifier fetch the keys again"
    finally:
        issuer.stop()


async def test_an_unreachable_issuer_is_a_503(tmp_path):
    issuer = DevIssuer(tmp_path / "k.pem", base_url="http://127.0.0.1:9")  # nothing listens there
    v = TokenVerifier({issuer.issuer: issuer.jwks_url}, audience="borgerting", algorithms=["RS256"])
    with pytest.raises(ApiError) as exc:
        await v.verify(issuer.token("organiser", uuid.uuid4()))
    assert exc.value.status == 503 and exc.value.headers["Retry-After"] == "5"
