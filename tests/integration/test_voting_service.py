"""The voting service in-process (httpx ASGI transport) against the real database: ballots of every
question type, one blind-signed token per checked-in member, the ballot box, the board and its
export (which the independent verifier accepts), officials' entries, results hidden until close,
and the events in the outbox. The panel and the check-ins arrive through voting's own event
handlers, as they would from sortition and sessions."""

from __future__ import annotations

import uuid

import httpx
import pytest
import sqlalchemy as sa

from services.voting import handlers as vh
from services.voting import models as vm
from services.voting.app import SPEC
from services.voting.client import VotingClient, VotingClientError
from services.voting import ingest as ingest_module
from services.voting.ingest import INGEST
from services.voting.domain.tokens import VoteToken, request_token
from services.voting.domain.verifier import verify_export
from shared.bus.outbox import transaction
from shared.events import contracts as ev
from shared.events.envelope import new_event
from shared.runtime import build_app

pytestmark = pytest.mark.integration


async def apply(sessionmaker, topic: str, payload) -> None:
    async with transaction(sessionmaker, vm.outbox, vm.audit) as tx:
        await vh.HANDLERS[topic](tx, new_event(payload, subject=payload.assembly_id), payload)


@pytest.fixture
def quick(settings):
    """The settings with a short wait for a batch of votes: these tests send votes one at a time."""
    return settings.model_copy(update={"voting_flush_seconds": 0.01})


@pytest.fixture
async def voting(quick):
    app = build_app(SPEC, "api", quick)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
            yield c


async def assembly_with_panel(sessionmaker, n: int = 6, present: int = 5):
    aid = uuid.uuid4()
    members = [uuid.uuid4() for _ in range(n)]
    await apply(sessionmaker, "sortition.panel-drawn.v1", ev.PanelDrawnV1(
        assembly_id=aid, panel_id=uuid.uuid4(), algorithm="t", members=members, pool_size=n))
    session_id = uuid.uuid4()
    for i, mid in enumerate(members):
        await apply(sessionmaker, "sessions.attendance-recorded.v1", ev.AttendanceRecordedV1(
            assembly_id=aid, session_id=session_id, member_id=mid, present=i < present))
    return aid, members, session_id


BALLOT = {
    "title": "Final vote",
    "threshold": {"fraction": "2/3"},
    "quorum": {"min_ballots": 2},
    "questions": [
        {"text": "More cycle lanes", "type": "yes_no_abstain"},
        {"text": "Car-free centre", "type": "agree_scale", "points": 5},
        {"text": "Fund first", "type": "approval", "options": ["tram", "bus", "bike"]},
        {"text": "Priorities", "type": "ranking", "options": ["health", "housing", "climate"]},
    ],
}


def err(r: httpx.Response, status: int, code: str | None = None) -> dict:
    assert r.status_code == status, r.text
    body = r.json()["error"]
    if code:
        assert body["code"] == code, body
    return body


async def test_a_whole_ballot_through_the_api(voting, sessionmaker, auth):
    aid, members, session_id = await assembly_with_panel(sessionmaker)
    org = auth.headers("organiser", aid)
    assert (await voting.post(f"/assemblies/{aid}/ballots", json=BALLOT)).status_code == 401
    r = await voting.post(f"/assemblies/{aid}/ballots", json={**BALLOT, "session_id": str(session_id)}, headers=org)
    assert r.status_code == 201, r.text
    b = r.json()
    assert b["state"] == "issuing" and [q["id"] for q in b["definition"]["questions"]] == ["q1", "q2", "q3", "q4"]
    assert b["definition"]["members"] == 6
    bid = b["id"]
    client = VotingClient(voting)
    ballot = await client.ballot(bid)
    me = lambda i: auth.headers("member", aid, member_id=members[i])  # noqa: E731

    # A member who is not checked in gets no token; a member of another assembly is not found.
    with pytest.raises(VotingClientError) as exc:
        await client.get_token(ballot, headers=me(5))
    assert (exc.value.status, exc.value.code) == (403, "not_checked_in")
    other = auth.headers("member", uuid.uuid4(), member_id=members[0])
    assert (await voting.post(f"/ballots/{bid}/tokens", json={"blinded_msg": "00"}, headers=other)).status_code == 404
    # An organiser is not a member.
    err(await voting.post(f"/ballots/{bid}/tokens", json={"blinded_msg": "00"}, headers=org), 403)

    # Checked-in members get exactly one token each.
    tokens = [await client.get_token(ballot, headers=me(i)) for i in range(3)]
    with pytest.raises(VotingClientError) as exc:
        await client.get_token(ballot, headers=me(0))
    assert (exc.value.status, exc.value.code) == (409, "token_already_issued")
    assert (await voting.get(f"/ballots/{bid}/me", headers=me(0))).json() == {
        "on_roster": True, "checked_in": True, "issued": "online"}
    # A garbage blinded message is refused and does not use up the member's token.
    err(await voting.post(f"/ballots/{bid}/tokens", json={"blinded_msg": "ff" * 256}, headers=me(3)), 403,
        "invalid_token")
    assert (await voting.get(f"/ballots/{bid}/me", headers=me(3))).json()["issued"] is None
    t4 = await client.get_token(ballot, headers=me(3))

    # Paper: a sheet is handed out while tokens are (member 3 took an online token already).
    reg1, reg2 = auth.headers("registrar", aid, subject="anna"), auth.headers("registrar", aid, subject="bo")
    assert (await voting.post(f"/ballots/{bid}/sheets", json={"member_id": str(members[3]), "kind": "paper"},
                              headers=reg1)).status_code == 409
    r = await voting.post(f"/ballots/{bid}/sheets", json={"member_id": str(members[4]), "kind": "paper"}, headers=reg1)
    assert r.status_code == 201 and r.json()["issued"] == {"online": 4, "paper": 1, "postal": 0}
    paper = {"q1": "yes", "q2": 2, "q3": ["bus"], "q4": ["housing"]}

    # No vote, online or on paper, while tokens are being issued.
    body = {"choices": {"q1": "yes", "q2": 5, "q3": [], "q4": "abstain"}, "token": tokens[0].to_dict()}
    err(await voting.post(f"/ballots/{bid}/votes", json=body), 409, "ballot_not_open")
    err(await voting.post(f"/ballots/{bid}/official-entries", json={"kind": "paper", "sheet_id": "S-1001",
                                                                   "choices": paper}, headers=reg1), 409, "ballot_not_open")
    # Opening voting ends the issuing (an organiser's step), once.
    err(await voting.post(f"/ballots/{bid}/open", headers=me(0)), 403)
    opened = await voting.post(f"/ballots/{bid}/open", headers=org)
    assert opened.status_code == 200, opened.text
    assert opened.json()["state"] == "open" and opened.json()["issued"] == {"online": 4, "paper": 1, "postal": 0}
    err(await voting.post(f"/ballots/{bid}/open", headers=org), 409, "voting_already_open")
    with pytest.raises(VotingClientError) as exc:
        await client.get_token(ballot, headers=me(4))
    assert (exc.value.status, exc.value.code) == (409, "issuance_closed")
    err(await voting.post(f"/ballots/{bid}/sheets", json={"member_id": str(members[1]), "kind": "postal"},
                          headers=reg1), 409, "issuance_closed")

    votes = [
        {"q1": "yes", "q2": 5, "q3": ["tram", "bike"], "q4": ["climate", "health"]},
        {"q1": "yes", "q2": 4, "q3": ["bike", "tram"], "q4": ["health", "climate", "housing"]},
        {"q1": "no", "q2": "abstain", "q3": [], "q4": "abstain"},
    ]
    receipts = [await client.vote(ballot, v, t) for v, t in zip(votes, tokens)]
    assert [r["position"] for r in receipts] == [1, 2, 3]

    # A used token, a forged token, a token for another ballot, a bad choice: clear 4xx.
    err(await voting.post(f"/ballots/{bid}/votes", json={"choices": votes[0], "token": tokens[0].to_dict()}), 409,
        "token_already_used")
    forged = VoteToken(request_token(ballot.key, bid).prepared_msg, tokens[1].signature)
    err(await voting.post(f"/ballots/{bid}/votes", json={"choices": votes[0], "token": forged.to_dict()}), 403,
        "invalid_token")
    err(await voting.post(f"/ballots/{bid}/votes", json={"choices": votes[0], "token": {"message": "00", "signature": "00"}}),
        403, "invalid_token")
    err(await voting.post(f"/ballots/{bid}/votes", json={"choices": {**votes[0], "q2": 9}, "token": t4.to_dict()}), 422,
        "invalid_choice")

    # Results are hidden from everyone, organisers included, while the ballot is open; so are the
    # choices on the board (the position and hash are there), and the export is refused.
    err(await voting.get(f"/ballots/{bid}/results", headers=org), 403, "results_hidden")
    e1 = (await voting.get(f"/assemblies/{aid}/board/entries/1", params={"hash": receipts[0]["hash"]})).json()
    assert e1["choices_hidden"] and e1["choices"] is None and e1["hash"] == receipts[0]["hash"]
    err(await voting.get(f"/assemblies/{aid}/board/export"), 409, "ballot_open")
    err(await voting.get(f"/assemblies/{aid}/board/entries/1", params={"hash": "0" * 64}), 409, "receipt_mismatch")

    # The paper vote: keyed in by one official and confirmed by another.
    entry = (await voting.post(f"/ballots/{bid}/official-entries", json={"kind": "paper", "sheet_id": "S-1001",
                                                                        "choices": paper}, headers=reg1)).json()
    err(await voting.post(f"/official-entries/{entry['id']}/confirm", json={"choices": paper}, headers=reg1), 403,
        "same_official")
    err(await voting.post(f"/official-entries/{entry['id']}/confirm", json={"choices": {**paper, "q1": "no"}},
                          headers=reg2), 409, "official_entry_refused")
    c = await voting.post(f"/official-entries/{entry['id']}/confirm", json={"choices": paper}, headers=reg2)
    assert c.status_code == 200 and c.json()["position"] == 4, c.text
    listed = (await voting.get(f"/ballots/{bid}/official-entries", headers=reg1)).json()["entries"]
    assert [x["status"] for x in listed] == ["confirmed"] and "choices" not in listed[0]

    # Close: the result, the board with choices, and an export the verifier accepts.
    err(await voting.post(f"/ballots/{bid}/close", headers=me(0)), 403)
    closed = await voting.post(f"/ballots/{bid}/close", headers=org)
    assert closed.status_code == 200, closed.text
    res = (await voting.get(f"/ballots/{bid}/results")).json()
    assert res == closed.json()
    assert res["ballots_cast"] == 4 and res["quorum_met"] is True
    assert res["questions"]["q1"]["counts"] == {"yes": 3, "no": 1, "abstain": 0} and res["questions"]["q1"]["passed"]
    assert res["questions"]["q3"]["counts"]["tram"] == 2
    err(await voting.post(f"/ballots/{bid}/votes", json={"choices": votes[0], "token": t4.to_dict()}), 409, "ballot_closed")
    found = await client.find(ballot, receipts[1])
    assert found["choices"] == {"q1": "yes", "q2": 4, "q3": ["tram", "bike"], "q4": ["health", "climate", "housing"]}
    paper_entry = (await voting.get(f"/assemblies/{aid}/board/entries/4")).json()
    assert paper_entry["kind"] == "paper" and paper_entry["sheet_id"] == "S-1001"
    assert paper_entry["officials"]["entered_by"] != paper_entry["officials"]["confirmed_by"]
    by_token = await voting.get(f"/assemblies/{aid}/board/tokens/{receipts[2]['token_hash']}")
    assert by_token.json()["position"] == 3

    doc = (await voting.get(f"/assemblies/{aid}/board/export")).json()
    report = verify_export(doc, receipts=[(r["position"], r["hash"]) for r in receipts])
    assert report.ok, report.problem
    assert doc["ballots"][0]["issued"] == {"online": 4, "paper": 1, "postal": 0}
    assert doc["checkpoints"], "the close signs a checkpoint"
    board = (await voting.get(f"/assemblies/{aid}/board")).json()
    assert board["head"]["position"] == 4 and board["ballots"][0]["state"] == "closed"

    # Events: opened, four votes (token hash and choices, never a member id), closed, tallied.
    async with sessionmaker() as s:
        envs = [r[0] for r in await s.execute(sa.select(vm.outbox.c.envelope).where(
            vm.outbox.c.key == str(aid)).order_by(vm.outbox.c.id))]
        trail = (await s.execute(sa.select(vm.audit.c.action, vm.audit.c.seq, vm.audit.c.hash).where(
            vm.audit.c.assembly_id == aid).order_by(vm.audit.c.seq))).all()
    audit = [r.action for r in trail]
    # Every audit entry publishes the trail's new head (anchored by reporting and the board).
    heads = [e["payload"] for e in envs if e["type"] == "audit-head"]
    assert [(h["service"], h["seq"], h["hash"]) for h in heads] == [("voting", r.seq, r.hash) for r in trail]
    envs = [e for e in envs if e["type"] != "audit-head"]
    assert [e["type"] for e in envs] == ["ballot-opened"] + ["vote-cast"] * 4 + ["ballot-closed", "results-tallied"]
    opened = envs[0]
    assert opened["version"] == 4 and opened["payload"]["board_key_fingerprint"] == board["board_key"]["fingerprint"]
    assert opened["payload"]["kind"] == "trial" and envs[-1]["payload"]["kind"] == "trial"  # not from the final list
    assert opened["payload"]["board_id"] == doc["board_id"]
    assert verify_export(doc, fingerprint=board["board_key"]["fingerprint"]).ok
    # The close's checkpoint signs voting's own trail head as it was then (before `ballot.closed`).
    assert doc["checkpoints"][-1]["audit_heads"]["voting"] == {"seq": trail[-2].seq, "hash": trail[-2].hash}
    text = str(envs)
    assert all(str(mid) not in text for mid in members)
    assert envs[1]["payload"]["token_hash"] == receipts[0]["token_hash"]
    assert envs[4]["payload"]["kind"] == "paper" and envs[4]["payload"]["token_hash"] is None
    assert audit == ["ballot.opened", "ballot_sheet.issued", "ballot.voting_opened", "official_entry.entered",
                     "official_entry.confirmation_refused", "official_entry.confirmed", "ballot.closed"]
    assert all(str(mid) not in str(audit) for mid in members)


async def test_ballot_input_errors_are_clear(voting, sessionmaker, auth):
    nobody = uuid.uuid4()
    org = auth.headers("organiser", nobody)
    err(await voting.post(f"/assemblies/{nobody}/ballots", json={"title": "t", "recommendations": ["a"]}, headers=org),
        409)
    aid, _, _ = await assembly_with_panel(sessionmaker, 2, 2)
    org = auth.headers("organiser", aid)
    err(await voting.post(f"/assemblies/{aid}/ballots", json={"title": "t"}, headers=org), 422)
    err(await voting.post(f"/assemblies/{aid}/ballots", json={"title": "t", "recommendations": ["a"], "threshold": 2},
                          headers=org), 422)
    err(await voting.post(f"/assemblies/{aid}/ballots", json={"title": "t", "questions": [
        {"text": "x", "type": "approval", "options": ["a"]}]}, headers=org), 422, "invalid_ballot")
    err(await voting.post(f"/assemblies/{aid}/ballots", json={"title": "t", "recommendations": ["a"],
                                                              "opens_at": "2030-01-02T00:00:00Z",
                                                              "closes_at": "2030-01-01T00:00:00Z"}, headers=org), 422)
    err(await voting.get(f"/ballots/{nobody}"), 404)
    err(await voting.get(f"/ballots/{nobody}/results"), 404)
    err(await voting.post(f"/ballots/{nobody}/votes", json={"choices": {}, "token": {"message": "0", "signature": "00"}}),
        422)
    # Before it opens a ballot takes tokens (issue early, vote later) but no votes.
    r = await voting.post(f"/assemblies/{aid}/ballots", json={"title": "later", "recommendations": ["a"],
                                                              "opens_at": "2099-01-01T00:00:00Z"}, headers=org)
    assert r.status_code == 201 and r.json()["state"] == "issuing"
    opened = await voting.post(f"/ballots/{r.json()['id']}/open", headers=org)
    assert opened.status_code == 200 and opened.json()["state"] == "scheduled"


async def test_reporting_counts_voting_events_once_in_any_order(sessionmaker):
    """Reporting's read model from the v2 voting events: a redelivered vote counts once, and
    results-tallied may arrive before ballot-opened (they travel on different topics)."""
    from services.reporting import handlers as rh
    from services.reporting import models as rm
    from services.reporting.domain.summary import question_result

    aid, bid = uuid.uuid4(), uuid.uuid4()
    opened = ev.BallotOpenedV2(assembly_id=aid, ballot_id=bid, title="Final", members=3,
                               threshold=ev.ThresholdV2(fraction="7/10", base="valid_votes", strict=False),
                               quorum_min_ballots=0, quorum_min_fraction="0/1",
                               questions=[ev.BallotQuestionV2(question_id="q1", text="Trees", type="yes_no_abstain",
                                                              recommendation=True)])
    vote = ev.VoteCastV2(assembly_id=aid, ballot_id=bid, position=1, entry_hash="h", kind="online", token_hash="t",
                         choices={"q1": "yes"})
    tallied = ev.ResultsTalliedV2(assembly_id=aid, ballot_id=bid, ballots_cast=1, members=3, quorum_met=True, questions=[
        ev.QuestionResultV2(question_id="q1", text="Trees", type="yes_no_abstain", recommendation=True,
                            counts={"yes": 1, "no": 0, "abstain": 0}, cast=1, valid=1, support=1, base=1,
                            support_share="1/1", threshold=">= 7/10 of valid_votes", passed=True)])
    for topic, payload in (("voting.results-tallied.v2", tallied), ("voting.vote-cast.v2", vote),
                           ("voting.vote-cast.v2", vote), ("voting.ballot-opened.v2", opened)):
        async with transaction(sessionmaker, rm.outbox, rm.audit) as tx:
            await rh.HANDLERS[topic](tx, new_event(payload, subject=aid), payload)
    async with transaction(sessionmaker, rm.outbox, rm.audit) as tx:
        n = (await tx.session.execute(sa.select(sa.func.count()).where(rm.votes.c.assembly_id == aid))).scalar_one()
        b = (await tx.session.execute(sa.select(rm.ballots).where(rm.ballots.c.ballot_id == bid))).one()
        q = (await tx.session.execute(sa.select(rm.questions).where(rm.questions.c.ballot_id == bid))).one()
    assert n == 1
    assert (b.title, b.threshold, b.ballots_cast, b.closed) == ("Final", ">= 7/10 of valid_votes", 1, True)
    assert (q.text, q.recommendation, q.support, q.base, q.passed) == ("Trees", True, 1, 1, True)
    assert question_result(type("Row", (), {**q._mapping, "ballot": "Final"})())["yes"] == 1


async def test_token_requests_and_invalid_tokens_are_rate_limited(sessionmaker, auth, settings):
    aid, members, _ = await assembly_with_panel(sessionmaker, 2, 2)
    per_member, per_address = settings.voting_token_requests_per_member, settings.voting_invalid_tokens_per_address
    app = build_app(SPEC, "api", settings)
    transport = httpx.ASGITransport(app=app, client=(f"10.9.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}", 1))
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        b = (await c.post(f"/assemblies/{aid}/ballots", json={"title": "t", "recommendations": ["a"]},
                          headers=auth.headers("organiser", aid))).json()
        me = auth.headers("member", aid, member_id=members[0])
        codes = [(await c.post(f"/ballots/{b['id']}/tokens", json={"blinded_msg": "00"}, headers=me)).status_code
                 for _ in range(per_member + 1)]
        assert codes[:-1] == [403] * per_member and codes[-1] == 429
        bad = lambda i: {"choices": {"q1": "yes"}, "token": {"message": f"{i:04x}", "signature": "00"}}  # noqa: E731
        codes = [(await c.post(f"/ballots/{b['id']}/votes", json=bad(i))).status_code
                 for i in range(per_address + 1)]
        assert codes[:-1] == [403] * per_address and codes[-1] == 429


async def test_concurrent_votes_from_two_api_processes_make_one_unbroken_chain(sessionmaker, auth, quick):
    """Group commit and the fast path under concurrency: two API instances (two ballot boxes, as
    two replicas would be) take votes at once, a token is sent twice at the same moment; the board
    ends as one chain with every accepted vote once, and the verifier accepts it."""
    import asyncio

    n = 24
    aid, members, _ = await assembly_with_panel(sessionmaker, n, n)
    apps = [build_app(SPEC, "api", quick) for _ in range(2)]
    async with apps[0].router.lifespan_context(apps[0]), apps[1].router.lifespan_context(apps[1]):
        clients = [httpx.AsyncClient(transport=httpx.ASGITransport(app=a), base_url="http://t") for a in apps]
        c0, c1 = clients
        b = (await c0.post(f"/assemblies/{aid}/ballots", json={"title": "t", "recommendations": ["a", "b"]},
                           headers=auth.headers("organiser", aid))).json()
        vc = VotingClient(c0)
        ballot = await vc.ballot(b["id"])
        tokens = [await vc.get_token(ballot, headers=auth.headers("member", aid, member_id=m)) for m in members]
        assert (await c1.post(f"/ballots/{b['id']}/open", headers=auth.headers("organiser", aid))).status_code == 200
        bodies = [{"choices": {"q1": "yes" if i % 3 else "no", "q2": "abstain"}, "token": t.to_dict()}
                  for i, t in enumerate(tokens)]
        bodies.insert(6, bodies[5])  # the same token twice, concurrently
        statuses = []
        for rnd in range(2):  # the second round finds the heads stale: the other instance moved the board
            part = bodies[: n // 2 + 1] if rnd == 0 else bodies[n // 2 + 1:]
            rs = await asyncio.gather(*(clients[i % 2].post(f"/ballots/{b['id']}/votes", json=body)
                                        for i, body in enumerate(part)))
            statuses += [r.status_code for r in rs]
        assert sorted(statuses) == [201] * n + [409], statuses
        closed = await c0.post(f"/ballots/{b['id']}/close", headers=auth.headers("organiser", aid))
        assert closed.json()["ballots_cast"] == n
        doc = (await c1.get(f"/assemblies/{aid}/board/export")).json()
        for c in clients:
            await c.aclose()
    assert [e["position"] for e in doc["entries"]] == list(range(1, n + 1))
    assert len({e["token_hash"] for e in doc["entries"]}) == n
    report = verify_export(doc)
    assert report.ok, report.problem


async def test_the_fast_path_signs_checkpoints_in_its_statement_and_closes_its_connection(
        sessionmaker, auth, quick, monkeypatch):
    """Votes after the first batch take the one-statement fast path; a checkpoint that falls due
    there is written by the same statement (the verifier checks each against the chain), and the
    fast path's own connection is closed when the app shuts down."""
    monkeypatch.setattr(ingest_module, "CHECKPOINT_EVERY", 3)
    n = 8
    aid, members, _ = await assembly_with_panel(sessionmaker, n, n)
    app = build_app(SPEC, "api", quick)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            b = (await c.post(f"/assemblies/{aid}/ballots", json={"title": "t", "recommendations": ["a"]},
                              headers=auth.headers("organiser", aid))).json()
            vc = VotingClient(c)
            ballot = await vc.ballot(b["id"])
            tokens = [await vc.get_token(ballot, headers=auth.headers("member", aid, member_id=m)) for m in members]
            await vc.open_voting(ballot, headers=auth.headers("organiser", aid))
            for token in tokens:  # one at a time: every vote after the first on the fast path
                await vc.vote(ballot, {"q1": "yes"}, token)
            ingest = app.state.rt.use(INGEST)
            conn = ingest.conn
            assert ingest.fast == n - 1 and conn is not None and not conn.is_closed()
            assert (await c.post(f"/ballots/{b['id']}/close", headers=auth.headers("organiser", aid))).status_code == 200
            doc = (await c.get(f"/assemblies/{aid}/board/export")).json()
    assert conn.is_closed(), "the fast path's connection is closed with the app"
    assert [cp["position"] for cp in doc["checkpoints"]] == [3, 6, n]  # two from the fast path, one at the close
    report = verify_export(doc)
    assert report.ok, report.problem
