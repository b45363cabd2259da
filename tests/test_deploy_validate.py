"""Every rendered kustomization validates strictly: core Kubernetes objects against the API's own
schemas (kubernetes-validate, strict: no unknown fields), custom resources against their operators'
CRD schemas (tests/schemas/crds), with unknown fields refused as well. An object of a kind with no
schema fails: nothing is waved through unchecked.
"""

from __future__ import annotations

import json
import subprocess
from functools import lru_cache
from pathlib import Path

import jsonschema
import kubernetes_validate
import kubernetes_validate.utils
import pytest
import yaml

from tests.test_deploy import K8S, renderer

CRDS = Path(__file__).parent / "schemas" / "crds"
# kubernetes-validate reads and parses its schema files (the definitions are megabytes) on every
# call; read each once.
kubernetes_validate.utils.schema_contents = lru_cache(maxsize=None)(kubernetes_validate.utils.schema_contents)
KUBERNETES = "1.33.0"  # the oldest Kubernetes the manifests promise to run on (docs/deploy.md)
TARGETS = ["overlays/production", "overlays/staging", "overlays/production-gateway", "overlays/multi-region/home",
           "overlays/multi-region/residency", "overlays/multi-region/infra",
           "overlays/multi-region/standby", "infra", "restore"]


def render_dir(rel: str) -> list[dict]:
    cmd = renderer()
    if cmd is None:
        pytest.skip("neither kubectl nor kustomize on PATH")
    out = subprocess.run([*cmd, str(K8S / rel)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return [d for d in yaml.safe_load_all(out.stdout) if d is not None]


def _strict(schema, branch: bool = False):
    """kubeconform's -strict for CRD schemas: an object that lists its properties takes no others
    (unless the CRD says it keeps unknown fields). Not inside oneOf/anyOf/allOf/not, whose branches
    only state which of the object's properties are required."""
    if isinstance(schema, dict):
        out = {k: _strict(v, k in ("oneOf", "anyOf", "allOf", "not")) for k, v in schema.items()}
        if ("properties" in out and "additionalProperties" not in out and not branch
                and not out.get("x-kubernetes-preserve-unknown-fields")):
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_strict(v, branch) for v in schema]
    return schema


@lru_cache(maxsize=None)
def crd_validator(api_version: str, kind: str):
    group, _, version = api_version.rpartition("/")
    path = CRDS / group / f"{kind.lower()}_{version}.json"
    if not group or not path.exists():
        return None
    schema = _strict(json.loads(path.read_text()))
    # metadata is the API server's (checked as ObjectMeta by kubernetes-validate for core kinds)
    schema.setdefault("properties", {})["metadata"] = {"type": "object"}
    return jsonschema.Draft7Validator(schema)


def problems(obj: dict) -> list[str]:
    where = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
    validator = crd_validator(obj["apiVersion"], obj["kind"])
    if validator is not None:
        return [f"{where}: {'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(obj)]
    try:
        kubernetes_validate.validate(obj, KUBERNETES, strict=True)
    except kubernetes_validate.SchemaNotFoundError:
        return [f"{where}: no schema for {obj['apiVersion']} {obj['kind']} (add it to tests/schemas/crds)"]
    except kubernetes_validate.ValidationError as exc:
        return [f"{where}: {'.'.join(map(str, exc.path))}: {exc.message}"]
    return []


@pytest.mark.parametrize("target", TARGETS)
def test_every_rendered_object_validates_strictly(target: str):
    objs = render_dir(target)
    assert objs
    found = [p for obj in objs for p in problems(obj)]
    assert not found, "\n".join(found[:20])


def test_the_validation_refuses_what_a_cluster_would():
    """The checks themselves: an unknown field, a wrong type and an unknown kind are reported."""
    dep = next(o for o in render_dir("overlays/staging") if o["kind"] == "Deployment")
    dep["spec"]["template"]["spec"]["containers"][0]["livenessProbes"] = {}
    assert problems(dep)
    topic = {"apiVersion": "kafka.strimzi.io/v1beta2", "kind": "KafkaTopic", "metadata": {"name": "t"},
             "spec": {"partitions": "six", "replicas": 3}}
    assert any("partitions" in p for p in problems(topic))
    topic["spec"] = {"partitions": 6, "replicas": 3, "retention": -1}
    assert any("retention" in p for p in problems(topic)), "strict: an unknown field of a custom resource"
    assert problems({"apiVersion": "example.org/v1", "kind": "Gadget", "metadata": {"name": "g"}})
