import pytest

from tests.conftest import STAFF_ROLES, STATE, Staff


@pytest.fixture(scope="package")
def cluster(stack_env, auth):
    """The five services as separate processes (role `all`) on the shared stack; stopped after the
    e2e package, so that no service of theirs (a relay, a consumer) runs during other tests."""
    from borgerting.cluster import Cluster

    # Every test request comes from 127.0.0.1, so the per-address limits are lifted here; the
    # limits themselves are tested in tests/integration/test_apis.py.
    lifted = {"BORGERTING_REGISTER_LIMIT_PER_IP": "1000000", "BORGERTING_REGISTER_FAILURES_PER_IP": "1000000",
              "BORGERTING_REGISTER_LIMIT_GLOBAL": "1000000", "BORGERTING_REGISTER_ATTEMPTS_PER_CODE": "1000000"}
    c = Cluster(STATE / "e2e", stack_env=stack_env, extra_env=lifted, issuer=auth, proxy=True)
    c.start()
    yield c
    c.stop()


@pytest.fixture
def staff(auth):
    """httpx auth acting as staff with every staff role (see tests/conftest.py: Staff)."""
    return Staff(auth, *STAFF_ROLES)
