"""Audit trail heads and the voting board's key are published outside the services they protect
(issue 11, items 8 and 13): every audit entry sends its trail's new head as an event; reporting
keeps the latest head of every trail and the board key's fingerprint (ballot-opened v3) and
publishes them in the summary and the report; voting signs the heads into its checkpoints."""

from __future__ import annotations

import uuid
from html import unescape

import pytest
import sqlalchemy as sa

from services.reporting import handlers as rh
from services.reporting.handlers.publication import publish
from services.reporting import models as rm
from services.reporting import views as rv
from shared.bus.outbox import transaction
from shared.events import contracts as ev
from shared.events.envelope import new_event
from shared.ui.commands import DOWNLOAD

pytestmark = pytest.mark.integration


async def deliver(sessionmaker, topic: str, payload) -> None:
    async with transaction(sessionmaker, rm.outbox, rm.audit) as tx:
        await rh.HANDLERS[topic](tx, new_event(payload, subject=payload.assembly_id), payload)


async def test_reporting_publishes_every_trails_head_and_the_board_fingerprint(sessionmaker):
    aid, bid = uuid.uuid4(), uuid.uuid4()
    await deliver(sessionmaker, "recruitment.assembly-created.v1", ev.AssemblyCreatedV1(
        assembly_id=aid, name="Anchors", panel_size=3, regions=[], strata=[]))
    h = {n: f"{n:064x}" for n in range(1, 6)}
    heads = [("sortition", 2, h[2]), ("sortition", 3, h[3]), ("sessions", 1, h[1]),
             ("sortition", 1, h[1]),  # an overtaken (older) head never moves the head back
             ("voting", 4, h[4]), ("voting", 4, h[4])]  # redelivered
    for service, seq, hash_ in heads:
        model = ev.AUDIT_HEADS[service]
        await deliver(sessionmaker, f"{service}.audit-head.v1",
                      model(assembly_id=aid, service=service, seq=seq, hash=hash_))
    fp = "f" * 64
    await deliver(sessionmaker, "voting.ballot-opened.v3", ev.BallotOpenedV3(
        assembly_id=aid, ballot_id=bid, title="Final", members=3,
        threshold=ev.ThresholdV2(fraction="1/2", base="valid_votes", strict=True), quorum_min_ballots=0,
        quorum_min_fraction="0/1", questions=[], board_id=f"assembly-{aid}", board_key_fingerprint=fp,
        token_key_id="e" * 64))

    async with transaction(sessionmaker, rm.outbox, rm.audit) as tx:
        before = (await rv.summary(tx, aid))["anchors"]
        audit = {svc: f"https://example.org/{svc}/assemblies/{aid}/audit" for svc in ("sessions", "sortition", "voting")}
        published = await publish(tx, aid, summary=await rv.summary(tx, aid), min_group=5, links={"audit": audit})
    assert before == {"audit_heads": {"sessions": {"seq": 1, "hash": h[1]}, "sortition": {"seq": 3, "hash": h[3]},
                                      "voting": {"seq": 4, "hash": h[4]}},
                      "board": {"board_id": f"assembly-{aid}", "board_key_fingerprint": fp}}
    async with transaction(sessionmaker, rm.outbox, rm.audit) as tx:
        html = (await tx.session.execute(sa.select(rm.report_versions.c.html_en).where(
            rm.report_versions.c.report_id == published["report_id"]))).scalar_one()
        after = (await rv.summary(tx, aid))["anchors"]["audit_heads"]
        own = (await tx.session.execute(sa.select(rm.audit).where(rm.audit.c.assembly_id == aid))).all()
        out = [r[0] for r in await tx.session.execute(sa.select(rm.outbox.c.envelope).where(
            rm.outbox.c.key == str(aid)).order_by(rm.outbox.c.id))]
    # The published HTML carries the heads and the fingerprint, and per trail the exact commands
    # that fetch it (with the auditor's token) and check it against its head.
    assert f"3:{h[3]}" in html and f"4:{h[4]}" in html and fp in html
    text = unescape(html)
    for svc, head in (("sessions", f"1:{h[1]}"), ("sortition", f"3:{h[3]}"), ("voting", f"4:{h[4]}")):
        assert (f'{DOWNLOAD} -H "Authorization: Bearer $AUDITOR_TOKEN" -o {svc}-trail.json {audit[svc]}\n'
                f"borgerting audit verify {svc}-trail.json --expected-head {head}\n") in text
    assert "TRAIL.json" not in text and "sign in with the auditor role for this assembly" in text
    # Reporting's own trail: its head is read from its own table (newer than its own event).
    assert [r.action for r in own] == ["report.published"]
    assert after["reporting"] == {"seq": 1, "hash": own[0].hash}
    assert [e["type"] for e in out] == ["report-published", "audit-head"]
    assert out[1]["payload"] == {"assembly_id": str(aid), "service": "reporting", "seq": 1, "hash": own[0].hash}
