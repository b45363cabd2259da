"""Kubernetes NetworkPolicy semantics, evaluated the way a network plugin does, over a model of pods.

A pod is isolated for ingress (egress) when at least one policy in its namespace selects it and
lists that policy type; an isolated pod accepts (sends) only what some rule of such a policy allows.
A connection from A to B on a port is allowed when A's egress side AND B's ingress side allow it.
Peers: `podSelector` alone = pods of the policy's namespace; `namespaceSelector` alone = every pod of
the matching namespaces; both = matching pods in matching namespaces; `ipBlock` = addresses (here:
endpoints outside the cluster, which carry an IP and no labels). A rule without `from`/`to` matches
every peer, a rule without `ports` every port; a named port is resolved on the destination pod.
(networking.k8s.io/v1, https://kubernetes.io/docs/concepts/services-networking/network-policies/)

Only the parts of the API that a manifest may use are accepted: anything else raises, so a policy
this model does not understand fails the test instead of being read as "allow".
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Iterable, Mapping

PROTOCOLS = ("TCP", "UDP", "SCTP")


@dataclass(frozen=True)
class Endpoint:
    """A pod (namespace set) or an address outside the cluster (namespace None)."""

    name: str
    namespace: str | None
    labels: Mapping[str, str]
    ip: str
    # what it listens on: (port, protocol) and named ports name -> (port, protocol)
    listens: frozenset[tuple[int, str]] = frozenset()
    named_ports: Mapping[str, tuple[int, str]] = field(default_factory=dict)

    @property
    def external(self) -> bool:
        return self.namespace is None

    def __hash__(self) -> int:
        return hash((self.name, self.namespace))


def selector_matches(selector: Mapping | None, labels: Mapping[str, str]) -> bool:
    """A LabelSelector; an empty one ({}) matches everything."""
    if selector is None:
        return True
    unknown = set(selector) - {"matchLabels", "matchExpressions"}
    if unknown:
        raise ValueError(f"unknown selector fields {unknown}")
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != str(v):
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], [str(v) for v in expr.get("values", [])]
        if op == "In":
            ok = key in labels and labels[key] in values
        elif op == "NotIn":
            ok = key not in labels or labels[key] not in values
        elif op == "Exists":
            ok = key in labels
        elif op == "DoesNotExist":
            ok = key not in labels
        else:
            raise ValueError(f"unknown selector operator {op}")
        if not ok:
            return False
    return True


class Network:
    def __init__(self, endpoints: Iterable[Endpoint], namespaces: Mapping[str, Mapping[str, str]],
                 policies: Iterable[dict]) -> None:
        self.endpoints = list(endpoints)
        # every namespace carries kubernetes.io/metadata.name (set by the API server)
        self.namespaces = {n: {**labels, "kubernetes.io/metadata.name": n} for n, labels in namespaces.items()}
        self.policies = []
        for p in policies:
            assert p["kind"] == "NetworkPolicy" and p["apiVersion"] == "networking.k8s.io/v1", p
            ns = p["metadata"].get("namespace")
            if ns is None:
                raise ValueError(f"policy {p['metadata']['name']} has no namespace")
            self.policies.append(p)
        for ep in self.endpoints:
            if ep.namespace is not None and ep.namespace not in self.namespaces:
                raise ValueError(f"{ep.name}: namespace {ep.namespace} unknown")

    # ------------------------------------------------------------------ selection

    @staticmethod
    def _types(policy: dict) -> set[str]:
        spec = policy["spec"]
        if "policyTypes" in spec:
            return set(spec["policyTypes"])
        return {"Ingress"} | ({"Egress"} if "egress" in spec else set())

    def _selecting(self, pod: Endpoint, direction: str) -> list[dict]:
        if pod.external:
            return []
        return [
            p for p in self.policies
            if p["metadata"]["namespace"] == pod.namespace
            and direction in self._types(p)
            and selector_matches(p["spec"].get("podSelector", {}), pod.labels)
        ]

    def isolated(self, pod: Endpoint, direction: str) -> bool:
        return bool(self._selecting(pod, direction))

    # ------------------------------------------------------------------ rules

    def _peer_matches(self, peer: dict, policy_ns: str, other: Endpoint) -> bool:
        unknown = set(peer) - {"podSelector", "namespaceSelector", "ipBlock"}
        if unknown:
            raise ValueError(f"unknown peer fields {unknown}")
        if "ipBlock" in peer:
            if set(peer) != {"ipBlock"}:
                raise ValueError("ipBlock cannot be combined with selectors")
            net = ipaddress.ip_network(peer["ipBlock"]["cidr"])
            addr = ipaddress.ip_address(other.ip)
            if addr not in net:
                return False
            return not any(addr in ipaddress.ip_network(x) for x in peer["ipBlock"].get("except", []))
        if other.external:
            return False  # selectors select pods only
        if "namespaceSelector" in peer:
            if not selector_matches(peer["namespaceSelector"], self.namespaces[other.namespace]):
                return False
        elif other.namespace != policy_ns:
            return False
        return selector_matches(peer.get("podSelector"), other.labels)

    @staticmethod
    def _port_matches(rule_ports: list[dict] | None, dst: Endpoint, port: int, proto: str) -> bool:
        if not rule_ports:
            return True
        for rp in rule_ports:
            unknown = set(rp) - {"port", "protocol", "endPort"}
            if unknown:
                raise ValueError(f"unknown port fields {unknown}")
            rproto = rp.get("protocol", "TCP")
            if rproto not in PROTOCOLS:
                raise ValueError(f"unknown protocol {rproto}")
            if rproto != proto:
                continue
            if "port" not in rp:
                return True
            want = rp["port"]
            if isinstance(want, str):
                named = dst.named_ports.get(want)
                if named is not None and named == (port, proto):
                    return True
                continue
            end = rp.get("endPort", want)
            if want <= port <= end:
                return True
        return False

    def _allowed_by(self, pod: Endpoint, other: Endpoint, dst: Endpoint, port: int, proto: str,
                    direction: str) -> bool:
        policies = self._selecting(pod, direction)
        if not policies:
            return True
        key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
        for p in policies:
            for rule in p["spec"].get(key) or []:
                peers = rule.get(peers_key)
                if peers and not any(self._peer_matches(peer, p["metadata"]["namespace"], other) for peer in peers):
                    continue
                if self._port_matches(rule.get("ports"), dst, port, proto):
                    return True
        return False

    def allowed(self, src: Endpoint, dst: Endpoint, port: int, proto: str = "TCP") -> bool:
        return (self._allowed_by(src, dst, dst, port, proto, "Egress")
                and self._allowed_by(dst, src, dst, port, proto, "Ingress"))

    def flows(self) -> set[tuple[str, str, int, str]]:
        """Every allowed (source, destination, port, protocol) to a port the destination listens on."""
        out = set()
        for src in self.endpoints:
            for dst in self.endpoints:
                if dst is src or (src.external and dst.external):
                    continue
                for port, proto in dst.listens:
                    if self.allowed(src, dst, port, proto):
                        out.add((src.name, dst.name, port, proto))
        return out
