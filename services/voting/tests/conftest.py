"""Shared fixtures: RSA keys are slow to generate, so each is made once per test session."""

from __future__ import annotations

import pytest

from services.voting.domain.blind_rsa import SecretKey


@pytest.fixture(scope="session")
def rsa_key() -> SecretKey:
    return SecretKey.generate(2048)


@pytest.fixture(scope="session")
def other_rsa_key() -> SecretKey:
    return SecretKey.generate(2048)
