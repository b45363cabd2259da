"""The rendered NetworkPolicies let exactly the flows Borgerting needs through, and nothing else.

Each overlay and the data stack (deploy/k8s/infra) are rendered with kustomize; every Deployment and
StatefulSet becomes one pod with its template's labels and ports, the operators' pods are made from
their custom resources with the labels Strimzi and CloudNativePG give them, and the cluster's own
parts (kube-dns, the ingress controller, Prometheus, the identity provider outside the cluster, a
stranger pod) are added. tests/netpol.py then decides every connection as a network plugin would.
"""

from __future__ import annotations

import copy

import pytest

from tests.netpol import Endpoint, Network
from tests.test_deploy import K8S, OVERLAYS, SERVICES, render, renderer

NETWORK_OVERLAYS = [*OVERLAYS, "production-gateway"]


def render_infra(namespace: str) -> list[dict]:
    if renderer() is None:
        pytest.skip("neither kubectl nor kustomize on PATH")
    import subprocess

    import yaml

    out = subprocess.run([*renderer(), str(K8S / "infra")], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    docs = [d for d in yaml.safe_load_all(out.stdout) if d is not None]
    for d in docs:  # docs/deploy.md: build the data stack into the overlay's namespace
        d["metadata"]["namespace"] = namespace
    return docs


def _ip(n: int) -> str:
    return f"10.244.{n // 250}.{n % 250 + 1}"


def _pod(name: str, namespace: str, labels: dict, ports: list[tuple[int, str, str | None]], n: int) -> Endpoint:
    return Endpoint(
        name=name, namespace=namespace, labels=dict(labels), ip=_ip(n),
        listens=frozenset((p, proto) for p, proto, _ in ports),
        named_ports={pname: (p, proto) for p, proto, pname in ports if pname},
    )


def workload_pods(objs: list[dict], start: int) -> list[Endpoint]:
    pods = []
    for o in objs:
        if o["kind"] not in ("Deployment", "StatefulSet"):
            continue
        tmpl = o["spec"]["template"]
        ports = [
            (p["containerPort"], p.get("protocol", "TCP"), p.get("name"))
            for c in tmpl["spec"]["containers"] for p in c.get("ports", [])
        ]
        pods.append(_pod(o["metadata"]["name"], o["metadata"]["namespace"], tmpl["metadata"]["labels"], ports,
                         start + len(pods)))
    return pods


def operator_pods(objs: list[dict], start: int) -> list[Endpoint]:
    """The pods Strimzi and CloudNativePG create for the custom resources, with their labels."""
    pods: list[Endpoint] = []

    def add(name, ns, labels, ports):
        pods.append(_pod(name, ns, labels, ports, start + len(pods)))

    kafkas = {o["metadata"]["name"]: o for o in objs if o["kind"] == "Kafka"}
    for o in objs:
        ns = o["metadata"]["namespace"]
        if o["kind"] == "Cluster" and o["apiVersion"].startswith("postgresql.cnpg.io/"):
            name = o["metadata"]["name"]
            for i in range(1, o["spec"]["instances"] + 1):
                add(f"{name}-{i}", ns, {
                    "cnpg.io/cluster": name, "cnpg.io/podRole": "instance", "cnpg.io/instanceName": f"{name}-{i}",
                    "cnpg.io/instanceRole": "primary" if i == 1 else "replica",
                }, [(5432, "TCP", "postgresql"), (9187, "TCP", "metrics"), (8000, "TCP", "status")])
        elif o["kind"] == "Pooler":
            name = o["metadata"]["name"]
            for i in range(o["spec"].get("instances", 1)):
                add(f"{name}-{i}", ns, {"cnpg.io/poolerName": name, "cnpg.io/podRole": "pooler",
                                        "cnpg.io/cluster": o["spec"]["cluster"]["name"]},
                    [(5432, "TCP", "pgbouncer"), (9127, "TCP", "metrics")])
        elif o["kind"] == "KafkaNodePool":
            cluster = o["metadata"]["labels"]["strimzi.io/cluster"]
            listeners = kafkas[cluster]["spec"]["kafka"]["listeners"]
            roles = o["spec"]["roles"]
            for i in range(o["spec"]["replicas"]):
                add(f"{cluster}-{o['metadata']['name']}-{i}", ns, {
                    "strimzi.io/cluster": cluster, "strimzi.io/kind": "Kafka", "strimzi.io/name": f"{cluster}-kafka",
                    "strimzi.io/pool-name": o["metadata"]["name"],
                    "strimzi.io/broker-role": str("broker" in roles).lower(),
                    "strimzi.io/controller-role": str("controller" in roles).lower(),
                }, [(9090, "TCP", "tcp-ctrlplane"), (9091, "TCP", "tcp-replication")]
                   + [(lis["port"], "TCP", lis["name"]) for lis in listeners])
    for name in kafkas:
        add(f"{name}-entity-operator", kafkas[name]["metadata"]["namespace"], {
            "strimzi.io/cluster": name, "strimzi.io/kind": "Kafka", "strimzi.io/name": f"{name}-entity-operator",
        }, [(8080, "TCP", "healthcheck")])
    return pods


def platform(namespace: str) -> tuple[list[Endpoint], dict[str, dict]]:
    eps = [
        Endpoint("kube-dns", "kube-system", {"k8s-app": "kube-dns"}, "10.96.0.10",
                 frozenset({(53, "UDP"), (53, "TCP")})),
        Endpoint("ingress-nginx-controller", "ingress-nginx",
                 {"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller"},
                 "10.245.0.2", frozenset({(80, "TCP"), (443, "TCP")})),
        Endpoint("gateway-envoy", "gateway-system", {"app.kubernetes.io/name": "envoy"}, "10.245.0.6",
                 frozenset({(10443, "TCP")})),
        Endpoint("prometheus", "monitoring", {"app.kubernetes.io/name": "prometheus"}, "10.245.0.3",
                 frozenset({(9090, "TCP")})),
        Endpoint("stranger", namespace, {"app": "stranger"}, "10.245.0.4", frozenset({(8080, "TCP")})),
        Endpoint("elsewhere", "default", {"app.kubernetes.io/name": "prometheus"}, "10.245.0.5",
                 frozenset({(8080, "TCP")})),
        Endpoint("kube-apiserver", None, {}, "10.0.0.1", frozenset({(443, "TCP")})),
        Endpoint("identity-provider", None, {}, "198.51.100.7", frozenset({(443, "TCP"), (80, "TCP")})),
    ]
    namespaces = {"kube-system": {}, "ingress-nginx": {}, "monitoring": {}, "default": {}, "gateway-system": {},
                  namespace: {}}
    return eps, namespaces


def build(overlay: str) -> tuple[Network, list[Endpoint]]:
    objs = render(overlay)
    namespace = next(o["metadata"]["name"] for o in objs if o["kind"] == "Namespace")
    infra = render_infra(namespace)
    borgerting = workload_pods(objs, 1)
    data = workload_pods(infra, 100) + operator_pods(infra, 150)
    others, namespaces = platform(namespace)
    policies = [o for o in objs + infra if o["kind"] == "NetworkPolicy"]
    # which services each kind of front door routes to: the Ingresses (ingress-nginx), the HTTPRoutes (a Gateway)
    routed = {"ingress-nginx-controller": set(), "gateway-envoy": set()}
    for o in objs:
        if o["kind"] == "Ingress":
            routed["ingress-nginx-controller"] |= {p["backend"]["service"]["name"].removesuffix("-api")
                                                   for r in o["spec"]["rules"] for p in r["http"]["paths"]}
        elif o["kind"] == "HTTPRoute":
            routed["gateway-envoy"] |= {b["name"].removesuffix("-api") for r in o["spec"]["rules"] for b in r["backendRefs"]}
    return Network(borgerting + data + others, namespaces, policies), borgerting, infra, routed


def required_flows(net: Network, borgerting: list[Endpoint], net_objs: list[dict],
                   routed: dict[str, set[str]]) -> set[tuple[str, str, int, str]]:
    by = {e.name: e for e in net.endpoints}

    def pods(**labels):
        return [e for e in net.endpoints if not e.external and all(e.labels.get(k) == v for k, v in labels.items())]

    pg = pods(**{"cnpg.io/poolerName": "borgerting-pg-pooler-rw"})  # PgBouncer, never the instances
    brokers = pods(**{"strimzi.io/cluster": "borgerting-kafka", "strimzi.io/broker-role": "true"})
    (valkey,) = pods(**{"app.kubernetes.io/name": "borgerting-redis"})
    keys = pods(**{"cnpg.io/cluster": "borgerting-keys-pg", "cnpg.io/podRole": "instance"})
    assert len(pg) == 2 and len(brokers) == 3 and len(keys) == 3
    (kafka,) = [o for o in net_objs if o["kind"] == "Kafka"]
    (kafka_port,) = [lis["port"] for lis in kafka["spec"]["kafka"]["listeners"]]
    flows = set()
    for p in borgerting:
        svc, role = p.labels["app.kubernetes.io/name"], p.labels["app.kubernetes.io/component"]
        flows |= {(p.name, d.name, 5432, "TCP") for d in pg}
        if svc == "recruitment":  # the identity vault's key store, a cluster of its own
            flows |= {(p.name, d.name, 5432, "TCP") for d in keys}
        if role in ("consumer", "relay"):  # the api only writes its outbox table
            flows |= {(p.name, b.name, kafka_port, "TCP") for b in brokers}
        flows |= {(p.name, valkey.name, 6379, "TCP"), (p.name, "kube-dns", 53, "UDP"), (p.name, "kube-dns", 53, "TCP")}
        flows.add(("prometheus", p.name, 8000, "TCP"))
        if role == "api":
            flows.add((p.name, "identity-provider", 443, "TCP"))
            flows |= {(door, p.name, 8000, "TCP") for door, services in routed.items() if svc in services}
            if svc != "recruitment":
                flows.add((p.name, "recruitment-api", 8000, "TCP"))
    assert {f[1] for f in flows} <= set(by) | {"identity-provider"}
    return flows


@pytest.fixture(scope="module", params=NETWORK_OVERLAYS)
def network(request):
    return build(request.param)


def test_every_borgerting_pod_is_in_the_model(network):
    net, borgerting, _, _ = network
    assert {p.name for p in borgerting} == {f"{s}-{r}" for s in SERVICES for r in ("api", "consumer", "relay")}
    for p in borgerting:
        assert net.isolated(p, "Ingress") and net.isolated(p, "Egress"), f"{p.name} is not under default deny"


def test_exactly_the_required_flows_are_allowed(network):
    net, borgerting, infra, routed = network
    assert routed["ingress-nginx-controller"] | routed["gateway-envoy"] == set(SERVICES)  # sessions: console pages
    ours = {p.name for p in borgerting}
    allowed = {f for f in net.flows() if f[0] in ours or f[1] in ours}
    required = required_flows(net, borgerting, infra, routed)
    missing = required - allowed
    extra = allowed - required
    assert not missing, f"required flows are denied: {sorted(missing)[:20]}"
    assert not extra, f"flows allowed that nothing needs: {sorted(extra)[:20]}"


def test_spot_checks(network):
    """A few flows by name, so that a bug shared by the model and `required_flows` still shows."""
    net, _, _, routed = network
    by = {e.name: e for e in net.endpoints}
    assert net.allowed(by["voting-api"], by["borgerting-pg-pooler-rw-0"], 5432)
    assert not net.allowed(by["voting-api"], by["borgerting-pg-1"], 5432), "through the pooler only"
    assert net.allowed(by["recruitment-consumer"], by["borgerting-keys-pg-1"], 5432)
    assert not net.allowed(by["voting-api"], by["borgerting-keys-pg-1"], 5432), "the vault's keys: recruitment only"
    assert net.allowed(by["voting-relay"], by["kube-dns"], 53, "UDP")
    assert net.allowed(by["ingress-nginx-controller"], by["voting-api"], 8000)
    assert net.allowed(by["ingress-nginx-controller"], by["sessions-api"], 8000), "the console's calendar and check-in"
    assert net.allowed(by["gateway-envoy"], by["sortition-api"], 8000) == ("sortition" in routed["gateway-envoy"])
    assert not net.allowed(by["ingress-nginx-controller"], by["voting-consumer"], 8000)
    assert not net.allowed(by["stranger"], by["voting-api"], 8000)
    assert not net.allowed(by["elsewhere"], by["voting-api"], 8000), "a 'prometheus' outside monitoring"
    assert not net.allowed(by["voting-api"], by["sortition-api"], 8000), "services talk through Kafka"
    assert not net.allowed(by["voting-consumer"], by["identity-provider"], 443)
    assert not net.allowed(by["voting-api"], by["kube-apiserver"], 443)
    assert not net.allowed(by["voting-api"], by["identity-provider"], 80), "JWKS over HTTPS only"
    assert not net.allowed(by["voting-api"], by["borgerting-pg-1"], 8000)
    assert net.allowed(by["voting-relay"], by["borgerting-kafka-dual-role-0"], 9093)
    assert not net.allowed(by["voting-api"], by["borgerting-kafka-dual-role-0"], 9093), "the api has no Kafka"
    assert not net.allowed(by["voting-relay"], by["borgerting-kafka-dual-role-0"], 9091), "not the replication port"


# --------------------------------------------------------------------------- the model itself


def _tiny(policies: list[dict]) -> tuple[Network, dict[str, Endpoint]]:
    a = Endpoint("a", "ns", {"app": "a"}, "10.1.0.1", frozenset({(80, "TCP")}), {"http": (80, "TCP")})
    b = Endpoint("b", "ns", {"app": "b"}, "10.1.0.2", frozenset({(80, "TCP")}), {"http": (80, "TCP")})
    c = Endpoint("c", "other", {"app": "a"}, "10.1.0.3", frozenset({(80, "TCP")}))
    x = Endpoint("x", None, {}, "192.0.2.1", frozenset({(443, "TCP")}))
    pols = []
    for i, spec in enumerate(policies):
        pols.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                     "metadata": {"name": f"p{i}", "namespace": "ns"}, "spec": copy.deepcopy(spec)})
    net = Network([a, b, c, x], {"ns": {"team": "t"}, "other": {}}, pols)
    return net, {e.name: e for e in (a, b, c, x)}


def test_model_no_policy_allows_everything():
    net, e = _tiny([])
    assert net.allowed(e["a"], e["b"], 80) and net.allowed(e["c"], e["a"], 80) and net.allowed(e["a"], e["x"], 443)


def test_model_isolation_and_peers():
    net, e = _tiny([
        {"podSelector": {"matchLabels": {"app": "b"}}, "policyTypes": ["Ingress"],
         "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "a"}}}], "ports": [{"port": "http"}]}]},
    ])
    assert net.allowed(e["a"], e["b"], 80)
    assert not net.allowed(e["c"], e["b"], 80), "podSelector alone means the policy's namespace"
    assert not net.allowed(e["a"], e["b"], 81)
    assert net.allowed(e["b"], e["a"], 80), "a is not selected, so not isolated"


def test_model_namespace_and_pod_selector_together():
    net, e = _tiny([
        {"podSelector": {}, "policyTypes": ["Ingress"],
         "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "other"}},
                                "podSelector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["a"]}]}}]}]},
    ])
    assert net.allowed(e["c"], e["b"], 80)
    assert not net.allowed(e["a"], e["b"], 80)


def test_model_egress_and_ipblock():
    net, e = _tiny([
        {"podSelector": {"matchLabels": {"app": "a"}}, "policyTypes": ["Egress"],
         "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}}], "ports": [{"port": 443}]}]},
    ])
    assert net.allowed(e["a"], e["x"], 443)
    assert not net.allowed(e["a"], e["b"], 80), "pod addresses are in the excepted range"
    assert net.allowed(e["b"], e["a"], 80), "a's egress isolation does not affect its ingress"


def test_model_refuses_what_it_does_not_know():
    net, e = _tiny([{"podSelector": {}, "ingress": [{"from": [{"serviceAccount": "x"}]}]}])
    with pytest.raises(ValueError):
        net.allowed(e["a"], e["b"], 80)
