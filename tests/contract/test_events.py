"""Event contracts: committed schemas match the code, every event has a valid example, and the
envelope carries no personal data fields."""

import json
import subprocess
import sys

import jsonschema
import pytest

from shared.events.contracts import CATALOGUE
from shared.events.envelope import Envelope, new_event
from shared.events.export import EXAMPLES, SCHEMAS, render

SPECS = {s.topic: s for s in CATALOGUE}
# ("name" is allowed: assemblies and regions have names; people appear only as pseudonymous ids)
PERSONAL = {"full_name", "address", "email", "phone", "cpr", "person_id", "person_ref", "contact", "national_id", "member_name"}


@pytest.mark.parametrize("topic", sorted(SPECS))
def test_committed_schema_matches_the_code(topic):
    path = SCHEMAS / f"{topic}.schema.json"
    assert path.exists(), f"missing {path.name}: run python -m shared.events.export"
    assert path.read_text() == render(SPECS[topic]), f"{path.name} is stale: run python -m shared.events.export"


@pytest.mark.parametrize("topic", sorted(SPECS))
def test_example_validates_against_schema_and_model(topic):
    example = json.loads((EXAMPLES / f"{topic}.json").read_text())
    schema = json.loads((SCHEMAS / f"{topic}.schema.json").read_text())
    jsonschema.validate(example, schema)
    payload = SPECS[topic].model.model_validate(example)
    env = new_event(payload, subject=payload.assembly_id)
    assert env.topic == topic
    assert Envelope.model_validate_json(env.model_dump_json()) == env


@pytest.mark.parametrize("topic", sorted(SPECS))
def test_no_personal_data_fields(topic):
    def keys(schema):
        for name, sub in schema.get("properties", {}).items():
            yield name
        for sub in schema.get("$defs", {}).values():
            yield from keys(sub)

    schema = json.loads((SCHEMAS / f"{topic}.schema.json").read_text())
    assert not set(keys(schema)) & PERSONAL


def test_export_check_passes_on_committed_schemas():
    out = subprocess.run([sys.executable, "-m", "shared.events.export", "--check"], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout


def test_every_example_file_belongs_to_a_contract():
    assert {p.name.removesuffix(".json") for p in EXAMPLES.glob("*.json")} == set(SPECS)
    assert {p.name.removesuffix(".schema.json") for p in SCHEMAS.glob("*.json")} == set(SPECS)
