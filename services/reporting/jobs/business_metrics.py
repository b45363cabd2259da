"""Business metrics for Grafana, refreshed from reporting's read model by a worker of the consumer
process: per assembly the invitations and replies per region, registrations per stratum value
against the quotas, panel members, check-ins per session, and per ballot how many are eligible and
how many have voted (never what). Labels are ids of assemblies, sessions and ballots and the
strata's values: no person, no personal data."""

from __future__ import annotations

import asyncio

import structlog
from prometheus_client import Gauge

from services.reporting.views import dashboard as dv

log = structlog.get_logger()

A = ["service", "assembly"]
INVITATIONS = Gauge("borgerting_assembly_invitations", "Invitation letters sent, per region", [*A, "region"])
REPLIES = Gauge("borgerting_assembly_replies", "Registrations (replies to the letters), per region", [*A, "region"])
REGISTRATIONS = Gauge("borgerting_assembly_registrations", "Registrations per stratum value",
                      [*A, "category", "value"])
QUOTA_MIN = Gauge("borgerting_assembly_quota_min", "The panel's quota per stratum value: at least",
                  [*A, "category", "value"])
QUOTA_MAX = Gauge("borgerting_assembly_quota_max", "The panel's quota per stratum value: at most",
                  [*A, "category", "value"])
PANEL = Gauge("borgerting_assembly_panel_members", "Members on the panel now", A)
CHECKED_IN = Gauge("borgerting_assembly_checked_in", "Members checked in, per session", [*A, "session"])
ELIGIBLE = Gauge("borgerting_assembly_ballot_eligible", "Members eligible to vote, per ballot", [*A, "ballot", "kind"])
VOTED = Gauge("borgerting_assembly_ballot_votes", "Votes cast so far, per ballot (turnout; never results)",
              [*A, "ballot", "kind"])
BALLOT_OPEN = Gauge("borgerting_assembly_ballot_open", "1 while a ballot is open", [*A, "ballot", "kind"])
GAUGES = (INVITATIONS, REPLIES, REGISTRATIONS, QUOTA_MIN, QUOTA_MAX, PANEL, CHECKED_IN, ELIGIBLE, VOTED, BALLOT_OPEN)


def publish(service: str, figures: list[dict]) -> None:
    """Sets every gauge from the live figures of each assembly (series of assemblies gone vanish)."""
    for g in GAUGES:
        g.clear()
    for f in figures:
        a = (service, f["assembly_id"])
        PANEL.labels(*a).set(f["panel_size"])
        for r in f["per_region"]:
            INVITATIONS.labels(*a, r["region"]).set(r["invitations"])
            REPLIES.labels(*a, r["region"]).set(r["registrations"])
        for c in f["registrations"]:
            key = (*a, c["category"], str(c["value"]))
            REGISTRATIONS.labels(*key).set(c["pool"])
            QUOTA_MIN.labels(*key).set(c["quota_min"])
            QUOTA_MAX.labels(*key).set(c["quota_max"])
        for s in f["checkins"]:
            CHECKED_IN.labels(*a, s["session_id"]).set(s["checked_in"])
        for b in f["turnout"]:
            key = (*a, b["ballot_id"], b["kind"] or "unknown")
            ELIGIBLE.labels(*key).set(b["eligible"])
            VOTED.labels(*key).set(b["voted"])
            BALLOT_OPEN.labels(*key).set(1 if b["open"] else 0)


async def refresh(rt) -> None:
    async with rt.transaction() as tx:
        figures = [await dv.live(tx, aid) for aid in await dv.assembly_ids(tx)]
    publish("reporting", figures)


async def run(rt, stop: asyncio.Event) -> None:
    """Refreshes the gauges every `report_metrics_interval` seconds until `stop`; a failed refresh
    is logged and tried again at the next tick (the metrics are not worth the process)."""
    while not stop.is_set():
        try:
            await refresh(rt)
        except Exception as exc:  # noqa: BLE001 - a metrics refresh never takes the consumer down
            log.warning("business_metrics_failed", error=type(exc).__name__)
        try:
            await asyncio.wait_for(stop.wait(), timeout=rt.settings.report_metrics_interval)
        except asyncio.TimeoutError:
            pass
