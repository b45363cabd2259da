"""Every operation of every service, fuzzed from its own OpenAPI document (schemathesis +
hypothesis, seeded) against the running services: whatever the input, the answer is never a 5xx,
and its status is one the operation declares. Valid inputs are sent with the token the operation
asks for (staff of one real assembly, or a member of it; past authorisation, into the handlers);
invalid ones with no token.

Figures (cases, 5xx, undeclared statuses) are printed per service (`pytest -s`)."""

from __future__ import annotations

import os
import time
import uuid

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode

from borgerting.cluster import SERVICES

pytestmark = pytest.mark.e2e
# Examples per operation and mode: with ~80 operations, 2 modes and 5 services this is what keeps
# the five runs within about two minutes here.
EXAMPLES = int(os.environ.get("BORGERTING_FUZZ_EXAMPLES", "12"))
STAFF = ("operator", "organiser", "registrar", "facilitator")


def _roles(op) -> set[str]:
    """The roles an operation's policy admits, as its OpenAPI description states them."""
    description = op.definition.raw.get("description", "")
    _, _, roles = description.rpartition("Roles: ")
    return {r.strip(" .") for r in roles.split(",")} if roles else set()


# Sessions alone has ~100 operations now (programme, check-in, drop-outs): ~2,400 cases, which take
# longer than the default 300 s when the machine is shared.
@pytest.mark.timeout(900)
@pytest.mark.parametrize("service", SERVICES)
def test_no_input_makes_a_service_fail_or_answer_undeclared(cluster, auth, service):
    url = cluster.urls[service]
    aid = str(uuid.uuid4())
    grants = ["operator"] + [f"{r}:{aid}" for r in STAFF[1:]]
    staff = {"authorization": f"Bearer {auth.token('operator', grants=grants, minutes=30)}"}
    member = {"authorization": f"Bearer {auth.token('member', aid, member_id=uuid.uuid4(), minutes=30)}"}
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    assert "bearer" in schema.raw_schema["components"]["securitySchemes"]
    failures, undeclared, operations, cases = [], [], 0, 0
    started = time.monotonic()
    for result in schema.get_all_operations():
        op = result.ok()
        operations += 1
        declared = {int(code) for code in op.definition.raw["responses"] if code.isdigit()}
        roles = _roles(op)
        token = member if roles and not roles & set(STAFF) else staff
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = op.as_strategy(generation_mode=mode)

            @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                      suppress_health_check=list(HealthCheck))
            @given(case=strategy)
            def fuzz(case):
                nonlocal cases
                headers = {}
                if mode is GenerationMode.POSITIVE:
                    headers = token
                    if "assembly_id" in (case.path_parameters or {}):
                        case.path_parameters["assembly_id"] = aid
                response = case.call(base_url=url, headers=headers, timeout=30)
                cases += 1
                what = (f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:200]} "
                        f"(body={str(case.body)[:200]}, query={case.query})")
                if response.status_code >= 500:
                    failures.append(what)
                elif response.status_code not in declared:
                    undeclared.append(what)

            try:
                fuzz()
            except Unsatisfiable:  # e.g. no invalid input exists for an operation without parameters
                assert mode is GenerationMode.NEGATIVE
    print(f"\nschemathesis {service}: {operations} operations, {cases} cases, {len(failures)} 5xx, "
          f"{len(undeclared)} undeclared statuses, {time.monotonic() - started:.0f} s")
    assert operations >= 3
    assert not failures, "\n".join(failures[:10])
    assert not undeclared, "\n".join(undeclared[:10])
