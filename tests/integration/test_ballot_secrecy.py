"""Ballot secrecy against the database (issue 11: 9): someone who can read voting's tables, as a
database administrator or a backup can, tries to link members to votes through what PostgreSQL
keeps of every row — its transaction id (`xmin`), its place on disk (`ctid`), the order of the
board and the time of the vote's event — and finds no more links than guessing would.

How: 40 members check in, get their tokens and vote, all in the same order (the worst case:
whoever came first also votes first). The attacker pairs the i-th member by each stored order
with the i-th vote by each stored order, and pairs each vote with the token issued just before
it (the "consecutive xmin" join). The count of right pairs is compared with what a random
pairing gives: the number of fixed points of a uniformly random permutation of 40, whose exact
distribution gives the bound (`chance_bound`: the smallest count that guessing reaches with
probability at most ALPHA). The service's own shuffles use the operating system's randomness, so
the test fails by chance with probability below 6 * ALPHA; everything the test chooses is seeded.

Controls show that the attacks are real: the same joins on rows written the way the service
wrote them before (a token issued, then its vote, member after member) link every vote, and with
batches of one vote the board's order is the order of voting, so the check-in order links it
(what batching is for; docs/voting.md states this limit).
"""

from __future__ import annotations

import asyncio
import math
import random
import uuid
from fractions import Fraction

import httpx
import pytest
import sqlalchemy as sa

from services.voting.app import SPEC
from services.voting.client import VotingClient
from shared.runtime import build_app
from tests.integration.test_voting_service import assembly_with_panel

pytestmark = pytest.mark.integration

N = 40
SEED = 20261202
ALPHA = Fraction(1, 10**6)


# ---- what guessing gives ------------------------------------------------------------------


def fixed_points_distribution(n: int) -> list[Fraction]:
    """P(exactly k right pairs) when n members are paired with n votes by a uniformly random
    permutation: C(n, k) * D(n - k) / n!, D the derangement numbers."""
    d = [1, 0]
    for m in range(2, n + 1):
        d.append((m - 1) * (d[-1] + d[-2]))
    return [Fraction(math.comb(n, k) * d[n - k], math.factorial(n)) for k in range(n + 1)]


def chance_bound(n: int, alpha: Fraction) -> int:
    """The smallest k such that a random pairing gets k or more right with probability <= alpha."""
    p = fixed_points_distribution(n)
    for k in range(n + 1):
        if sum(p[k:]) <= alpha:
            return k
    return n + 1


def test_the_chance_bound_is_computed_from_the_exact_distribution():
    p = fixed_points_distribution(N)
    assert sum(p) == 1 and sum(k * pk for k, pk in enumerate(p)) == 1  # on average one right pair
    assert p[N] == Fraction(1, math.factorial(N)) and p[N - 1] == 0
    assert fixed_points_distribution(3) == [Fraction(2, 6), Fraction(3, 6), 0, Fraction(1, 6)]
    k = chance_bound(N, ALPHA)
    assert sum(p[k:]) <= ALPHA < sum(p[k - 1:])
    # Against a seeded simulation of random pairings.
    rng = random.Random(SEED)
    runs = 20_000
    hits = 0
    for _ in range(runs):
        perm = list(range(N))
        rng.shuffle(perm)
        hits += sum(i == x for i, x in enumerate(perm)) >= 3
    assert abs(hits / runs - float(sum(p[3:]))) < 0.01


# ---- the attacks --------------------------------------------------------------------------


def ctid(text: str) -> tuple[int, int]:
    page, item = text.strip("()").split(",")
    return int(page), int(item)


def pair_by_order(members: list[dict], votes: list[dict], member_key, vote_key) -> dict:
    """The i-th member in one stored order gets the i-th vote in another."""
    ms, vs = sorted(members, key=member_key), sorted(votes, key=vote_key)
    return {m["member_id"]: v["token_hash"] for m, v in zip(ms, vs)}


def pair_by_preceding_xmin(members: list[dict], votes: list[dict]) -> dict:
    """Each vote gets the token issued most recently before it (by transaction id), not taken yet."""
    free = sorted(members, key=lambda m: (m["xid"], m["ctid"]))
    guess = {}
    for v in sorted(votes, key=lambda v: (v["xid"], v["ctid"])):
        before = [m for m in free if m["xid"] < v["xid"]]
        if before:
            m = before[-1]
            free.remove(m)
            guess[m["member_id"]] = v["token_hash"]
    return guess


def attacks(issued: list[dict], checkins: list[dict], votes: list[dict]) -> dict[str, dict]:
    by_xmin = lambda r: (r["xid"], r["ctid"])  # noqa: E731
    return {
        "xmin order (issued ~ entries)": pair_by_order(issued, votes, by_xmin, by_xmin),
        "ctid order (issued ~ entries)": pair_by_order(issued, votes, lambda r: r["ctid"], lambda r: r["ctid"]),
        "consecutive xmin (token issued just before the vote)": pair_by_preceding_xmin(issued, votes),
        "issuing order ~ board order": pair_by_order(issued, votes, by_xmin, lambda v: v["position"]),
        "issuing order ~ time of the vote's event": pair_by_order(issued, votes, by_xmin, lambda v: v["time"]),
        "check-in order ~ board order": pair_by_order(checkins, votes, by_xmin, lambda v: v["position"]),
    }


def right(guess: dict, truth: dict) -> int:
    return sum(truth[m] == t for m, t in guess.items())


# ---- reading what the database keeps -------------------------------------------------------


async def stored(sessionmaker, ballot_id, session_id) -> tuple[list[dict], list[dict], list[dict]]:
    async with sessionmaker() as s:
        issued = [dict(r._mapping) for r in await s.execute(sa.text(
            "SELECT member_id, xmin::text::bigint AS xid, ctid::text AS ctid FROM voting.issued "
            "WHERE ballot_id = :b"), {"b": ballot_id})]
        checkins = [dict(r._mapping) for r in await s.execute(sa.text(
            "SELECT member_id, xmin::text::bigint AS xid, ctid::text AS ctid FROM voting.checkins "
            "WHERE session_id = :s"), {"s": session_id})]
        votes = [dict(r._mapping) for r in await s.execute(sa.text(
            "SELECT e.token_hash, e.position, e.xmin::text::bigint AS xid, e.ctid::text AS ctid, "
            "       o.created_at, o.envelope->>'time' AS event_time, o.id AS outbox_id "
            "FROM voting.entries e JOIN voting.outbox o ON o.envelope->'payload'->>'entry_hash' = e.hash "
            "WHERE e.ballot_id = :b"), {"b": ballot_id})]
    for r in issued + checkins + votes:
        r["ctid"] = ctid(r["ctid"])
    for v in votes:
        v["time"] = (v["created_at"], v["event_time"], v["outbox_id"])
    return issued, checkins, votes


async def run_ballot(sessionmaker, auth, settings, *, stagger: float | None) -> tuple[dict, tuple, uuid.UUID]:
    """40 members check in, get tokens and vote, each in member order. `stagger`: votes sent
    that many seconds apart without waiting for the answers; None: one after the other."""
    aid, members, session_id = await assembly_with_panel(sessionmaker, N, N)  # checked in in this order
    org = auth.headers("organiser", aid)
    rng = random.Random(SEED)
    app = build_app(SPEC, "api", settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t", timeout=60) as c:
            r = await c.post(f"/assemblies/{aid}/ballots", headers=org, json={
                "title": "Secret", "recommendations": ["a", "b"], "session_id": str(session_id)})
            assert r.status_code == 201, r.text
            vc = VotingClient(c)
            ballot = await vc.ballot(r.json()["id"])
            tokens = [await vc.get_token(ballot, headers=auth.headers("member", aid, member_id=m)) for m in members]
            assert (await vc.open_voting(ballot, headers=org))["issued"]["online"] == N
            choices = [{"q1": rng.choice(["yes", "no", "abstain"]), "q2": rng.choice(["yes", "no"])} for _ in members]

            async def vote(i):
                if stagger is not None:
                    await asyncio.sleep(i * stagger)
                return await vc.vote(ballot, choices[i], tokens[i])

            if stagger is None:
                receipts = [await vote(i) for i in range(N)]
            else:
                receipts = await asyncio.gather(*(vote(i) for i in range(N)))
            assert (await c.post(f"/ballots/{ballot.id}/close", headers=org)).json()["ballots_cast"] == N
    truth = {m: rc["token_hash"] for m, rc in zip(members, receipts)}
    return truth, await stored(sessionmaker, uuid.UUID(ballot.id), session_id), uuid.UUID(ballot.id)


# ---- the tests ----------------------------------------------------------------------------


async def test_no_stored_order_links_a_member_to_a_vote(sessionmaker, auth, settings):
    """Votes sent within one flush interval (as when a room votes at once) land in one batch."""
    bound = chance_bound(N, ALPHA)
    batched = settings.model_copy(update={"voting_batch_votes": 64, "voting_flush_seconds": 2.0})
    truth, (issued, checkins, votes), _ = await run_ballot(sessionmaker, auth, batched, stagger=0.005)
    assert len(issued) == len(checkins) == len(votes) == N
    # What the design guarantees: every issued row was (re)written by the one transaction that
    # opened voting, before any vote; the votes of the batch share one transaction.
    assert len({m["xid"] for m in issued}) == 1
    assert max(m["xid"] for m in issued) < min(v["xid"] for v in votes)
    assert len({v["xid"] for v in votes}) == 1
    found = {name: right(guess, truth) for name, guess in attacks(issued, checkins, votes).items()}
    print(f"\nright pairs out of {N} (chance bound: fewer than {bound}, P <= {float(ALPHA):g}):", found)
    for name, hits in found.items():
        assert hits < bound, f"{name}: {hits} of {N} votes linked to their member (guessing: < {bound})"


async def test_with_batches_of_one_vote_the_issued_rows_still_link_nothing(sessionmaker, auth, settings):
    """One vote after the other, each its own batch: the board's order is then the order of
    voting (here the check-in order, which the attacker reads from `checkins`), but nothing
    links a vote to its token's issuing."""
    bound = chance_bound(N, ALPHA)
    single = settings.model_copy(update={"voting_batch_votes": 1, "voting_flush_seconds": 0.0})
    truth, (issued, checkins, votes), _ = await run_ballot(sessionmaker, auth, single, stagger=None)
    assert len({v["xid"] for v in votes}) == N  # one transaction per vote
    found = {name: right(guess, truth) for name, guess in attacks(issued, checkins, votes).items()}
    print(f"\nbatches of one, right pairs out of {N}:", found)
    assert found.pop("check-in order ~ board order") == N  # the limit batching is for
    for name, hits in found.items():
        assert hits < bound, f"{name}: {hits} of {N} votes linked to their member (guessing: < {bound})"


async def test_the_attacks_link_every_vote_when_issuing_and_voting_interleave(engine):
    """Control: rows written as the service wrote them before this design (a member's token
    issued, then the vote, member after member, each in its own transaction) give every attack
    every pair."""
    rng = random.Random(SEED)
    members = [uuid.UUID(int=rng.getrandbits(128)) for _ in range(N)]
    hashes = [f"{rng.getrandbits(256):064x}" for _ in range(N)]
    async with engine.connect() as s:  # one connection: the tables are temporary
        await s.execute(sa.text("CREATE TEMP TABLE c_issued (member_id uuid)"))
        await s.execute(sa.text("CREATE TEMP TABLE c_entries (token_hash text, position int, "
                                "at timestamptz DEFAULT clock_timestamp())"))
        await s.commit()
        for i, (m, h) in enumerate(zip(members, hashes)):
            await s.execute(sa.text("INSERT INTO c_issued VALUES (:m)"), {"m": m})
            await s.commit()
            await s.execute(sa.text("INSERT INTO c_entries (token_hash, position) VALUES (:h, :p)"), {"h": h, "p": i + 1})
            await s.commit()
        issued = [dict(r._mapping) for r in await s.execute(sa.text(
            "SELECT member_id, xmin::text::bigint AS xid, ctid::text AS ctid FROM c_issued"))]
        votes = [dict(r._mapping) for r in await s.execute(sa.text(
            "SELECT token_hash, position, xmin::text::bigint AS xid, ctid::text AS ctid, at FROM c_entries"))]
        await s.execute(sa.text("DROP TABLE c_issued, c_entries"))
        await s.commit()
    for r in issued + votes:
        r["ctid"] = ctid(r["ctid"])
    for v in votes:
        v["time"] = v["at"]
    truth = dict(zip(members, hashes))
    found = {name: right(guess, truth) for name, guess in attacks(issued, issued, votes).items()}
    print(f"\ninterleaved (the old way), right pairs out of {N}:", found)
    assert found == {name: N for name in found}
