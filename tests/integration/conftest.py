import pytest

from shared.db import make_engine, make_sessionmaker
from shared.settings import Settings


@pytest.fixture(scope="session")
def settings(stack_env) -> Settings:
    return Settings()


@pytest.fixture(scope="session")
async def engine(settings):
    eng = make_engine(settings.database_url, pool_size=5)
    yield eng
    await eng.dispose()


@pytest.fixture(scope="session")
def sessionmaker(engine):
    return make_sessionmaker(engine)


@pytest.fixture
async def rec(settings):
    """An in-process recruitment API acting as staff with every staff role."""
    from tests.integration.test_apis import client

    async with client("recruitment", settings) as c:
        yield c
