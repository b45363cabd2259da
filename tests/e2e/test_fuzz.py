"""Every operation of every service, fuzzed from its own OpenAPI document (schemathesis +
hypothesis, seeded): whatever the input, the answer is never a 5xx. Valid inputs are sent as
staff of one real assembly (so they reach the handlers, past authorisation); invalid ones with
no token."""

from __future__ import annotations

import uuid

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode

from borgerting.cluster import SERVICES

pytestmark = pytest.mark.e2e
EXAMPLES = 15


@pytest.mark.parametrize("service", SERVICES)
def test_no_input_makes_a_service_fail(cluster, auth, service):
    url = cluster.urls[service]
    aid = str(uuid.uuid4())
    grants = ["operator"] + [f"{r}:{aid}" for r in ("organiser", "registrar", "facilitator")]
    staff = {"authorization": f"Bearer {auth.token('operator', grants=grants, minutes=30)}"}
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    failures, operations = [], 0
    for result in schema.get_all_operations():
        op = result.ok()
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = op.as_strategy(generation_mode=mode)

            @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                      suppress_health_check=list(HealthCheck))
            @given(case=strategy)
            def fuzz(case):
                headers = {}
                if mode is GenerationMode.POSITIVE:
                    headers = staff
                    if "assembly_id" in (case.path_parameters or {}):
                        case.path_parameters["assembly_id"] = aid
                response = case.call(base_url=url, headers=headers, timeout=30)
                if response.status_code >= 500:
                    failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: "
                                    f"{response.text[:200]} (body={str(case.body)[:200]})")

            try:
                fuzz()
            except Unsatisfiable:  # e.g. no invalid input exists for an operation without parameters
                assert mode is GenerationMode.NEGATIVE
    assert operations >= 3
    assert not failures, "\n".join(failures[:10])
