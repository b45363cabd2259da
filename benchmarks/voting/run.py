"""Vote ingest end to end on the embedded stack: HTTP -> voting's database (board entry + outbox row,
one transaction) -> relay -> Kafka -> reporting's consumer, then close -> tally.

Starts PostgreSQL, Valkey and Tansu (shared/devstack.py), the voting service and the reporting
service as processes (role `all`), and a bare FastAPI app with one POST endpoint that validates
the same body and does nothing else. Members (seeded through voting's own event handlers: panel
and check-ins) get their blind-signed tokens over HTTP first; then many concurrent voters cast
their votes, and the same requests go to the bare endpoint, in the same run, with the same
client. The client is a minimal keep-alive HTTP/1.1 client so that it, not the servers, is not
what is measured.

Afterwards it checks that every accepted vote is on the board (receipt position and hash), that
reporting applied each vote-cast event exactly once, that the tally counts every vote once, and
that the independent verifier accepts the board export. Prints votes/s, p50/p99 latency, the bare
endpoint's figures and the ratio.

    .venv/bin/python benchmarks/voting/run.py [--voters 3000] [--concurrency 64] [--seed 1]
        [--batch-votes 32] [--flush-seconds 0.05]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from services.reporting.app import SPEC as REPORTING  # noqa: E402
from services.voting import handlers as vh  # noqa: E402
from services.voting import models as vm  # noqa: E402
from services.voting.app import SPEC as VOTING  # noqa: E402
from services.voting.client import VotingClient  # noqa: E402
from services.voting.domain.verifier import verify_export  # noqa: E402
from shared.auth.dev_issuer import DevIssuer  # noqa: E402
from shared.bus.outbox import transaction  # noqa: E402
from shared.db import make_engine, make_sessionmaker  # noqa: E402
from shared.devstack import DevStack, free_port  # noqa: E402
from shared.events import contracts as ev  # noqa: E402
from shared.events.envelope import new_event  # noqa: E402
from shared.migrations import upgrade  # noqa: E402

BARE = '''
import sys
from fastapi import FastAPI
from pydantic import BaseModel, Field
import uvicorn

class TokenIn(BaseModel):
    message: str = Field(min_length=2, max_length=4096, pattern=r"^[0-9a-fA-F]*$")
    signature: str = Field(min_length=2, max_length=2048, pattern=r"^[0-9a-fA-F]*$")

class VoteIn(BaseModel):
    choices: dict[str, str | int | list[str]]
    token: TokenIn

app = FastAPI()

@app.post("/ballots/{ballot_id}/votes", status_code=201)
async def vote(ballot_id: str, body: VoteIn) -> dict:
    return {"ok": True}

uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_config=None, access_log=False)
'''


# ---- a minimal keep-alive HTTP/1.1 client ------------------------------------------------------


class Conn:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.r: asyncio.StreamReader | None = None
        self.w: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        if self.w is None:
            self.r, self.w = await asyncio.open_connection(self.host, self.port)
        self.w.write(f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        head = await self.r.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        length = 0
        for line in lines[1:]:
            k, _, v = line.partition(":")
            if k.lower() == "content-length":
                length = int(v)
        return status, await self.r.readexactly(length)

    def close(self) -> None:
        if self.w is not None:
            self.w.close()


async def load(url: str, requests: list[tuple[str, bytes]], concurrency: int) -> tuple[float, list[float], list]:
    """Send every request once over `concurrency` keep-alive connections; returns (seconds,
    latencies, [(status, body)] in request order)."""
    host, port = url.removeprefix("http://").split(":")
    results: list = [None] * len(requests)
    lat: list[float] = []
    it = iter(range(len(requests)))

    async def worker() -> None:
        c = Conn(host, int(port))
        try:
            for i in it:
                path, body = requests[i]
                t0 = time.perf_counter()
                results[i] = await c.post(path, body)
                lat.append(time.perf_counter() - t0)
        finally:
            c.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - t0, lat, results


def cpu_seconds(procs: dict[str, subprocess.Popen]) -> dict[str, float]:
    """CPU time so far of our processes, PostgreSQL's and the broker's (psutil)."""
    import psutil

    out = {}
    for name, p in procs.items():
        try:
            t = psutil.Process(p.pid).cpu_times()
            out[name] = t.user + t.system
        except psutil.Error:
            out[name] = 0.0
    me = psutil.Process().cpu_times()
    out["load client"] = me.user + me.system
    for proc in psutil.process_iter(["name", "cmdline", "cpu_times"]):
        try:
            name = proc.info["name"] or ""
            cmd = " ".join(proc.info["cmdline"] or [])
            t = proc.info["cpu_times"]
        except psutil.Error:
            continue
        if t is None:
            continue
        key = "postgres" if name.startswith("postgres") else "broker" if "tansu" in name or "tansu" in cmd else None
        if key:
            out[key] = out.get(key, 0.0) + t.user + t.system
    return out


def batch_sizes(metrics: str) -> str:
    """Statements and votes per statement of the ballot box (its batch histogram), per path."""
    got: dict[tuple[str, str], float] = {}
    for line in metrics.splitlines():
        if line.startswith("borgerting_voting_batch_votes_") and "_bucket" not in line:
            name, _, value = line.rpartition(" ")
            kind = name.split("{")[0].rsplit("_", 1)[1]
            got[(name.split('path="')[1].split('"')[0], kind)] = float(value)
    return "; ".join(f"{path} path {got[(path, 'count')]:.0f} statements, {got[(path, 'sum')] / got[(path, 'count')]:.1f} "
                     "votes each" for path in ("fast", "slow") if got.get((path, "count")))


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] if values else float("nan")


# ---- processes ---------------------------------------------------------------------------


def start(args: list[str], env: dict, log: Path, port: int, nice: int = 0) -> subprocess.Popen:
    return subprocess.Popen(args, env={**env, "BORGERTING_PORT": str(port)}, stdout=open(log, "ab"),
                            stderr=subprocess.STDOUT, start_new_session=True,
                            preexec_fn=(lambda: os.nice(nice)) if nice else None)


def wait_ready(url: str, path: str = "/readyz", timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + path, timeout=2).status_code in (200, 404, 405):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} not ready")


def stop(p: subprocess.Popen) -> None:
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()


def start_profilers(py_spy: str, named: dict[str, subprocess.Popen], state: Path) -> list[subprocess.Popen]:
    """py-spy on the busy service processes (not the bare endpoint), sampling until stopped."""
    spies = []
    for name, p in named.items():
        if name in ("voting api", "reporting", "voting relay"):
            out = state / f"profile-{name.replace(' ', '-')}.txt"
            spies.append(subprocess.Popen([py_spy, "record", "--pid", str(p.pid), "--format", "raw", "--rate", "100",
                                           "--nonblocking", "--gil", "--output", str(out)],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    time.sleep(1.0)  # attached before the load starts
    return spies


def stop_profilers(spies: list[subprocess.Popen]) -> None:
    for s in spies:
        s.send_signal(signal.SIGINT)
    for s in spies:
        try:
            s.wait(30)
        except subprocess.TimeoutExpired:
            s.kill()


async def apply(sm, topic: str, payload) -> None:
    async with transaction(sm, vm.outbox, vm.audit) as tx:
        await vh.HANDLERS[topic](tx, new_event(payload, subject=payload.assembly_id), payload)


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--voters", type=int, default=3000)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--nice-downstream", type=int, default=0,
                    help="run the relay and the consumers at this niceness (the API gets the CPU first; the events "
                         "catch up after the burst). Default 0: everything at the same priority")
    ap.add_argument("--rounds", type=int, default=5, help="bare and voting measured alternately, in this many rounds")
    ap.add_argument("--batch-votes", type=int, default=32, help="the ballot box's batch (BORGERTING_VOTING_BATCH_VOTES)")
    ap.add_argument("--flush-seconds", type=float, default=0.05,
                    help="how long a batch that is not full waits (BORGERTING_VOTING_FLUSH_SECONDS; the service's "
                         "default is 1.0). Under load batches fill long before; what this decides here is how long "
                         "the last votes of each round wait, which would otherwise count in every round's time")
    ap.add_argument("--state", type=Path, default=ROOT / ".state" / "bench-voting")
    ap.add_argument("--py-spy", metavar="PY_SPY", help="profile the services during the measured load with this "
                    "py-spy executable; collapsed stacks go to STATE/profile-<process>.txt")
    args = ap.parse_args()
    rng = random.Random(args.seed)

    shutil.rmtree(args.state, ignore_errors=True)
    (args.state / "logs").mkdir(parents=True)
    stack = DevStack(args.state / "stack")
    issuer = None
    procs: list[subprocess.Popen] = []
    try:
        env = {**os.environ, **stack.start()}
        issuer = DevIssuer(args.state / "dev-issuer.pem").serve_in_thread()
        env.update(issuer.settings_env())
        env.update({"BORGERTING_LOG_LEVEL": "WARNING", "BORGERTING_VOTING_BATCH_VOTES": str(args.batch_votes),
                    "BORGERTING_VOTING_FLUSH_SECONDS": str(args.flush_seconds)})
        os.environ.update(env)
        for spec in (VOTING, REPORTING):
            await asyncio.to_thread(upgrade, spec.migrations_dir, env["DATABASE_URL"])
        ports = {"voting": free_port(), "reporting": free_port(), "bare": free_port()}
        logs = args.state / "logs"
        # The API in its own process, the relay and the consumer beside it (the deployment's shape;
        # `all` would put the relay on the API's event loop).
        procs.append(start([sys.executable, "-m", "services.voting.app", "api"], env, logs / "voting.log",
                           ports["voting"]))
        for role in ("relay", "consumer"):
            procs.append(start([sys.executable, "-m", "services.voting.app", role], env, logs / f"voting-{role}.log",
                               free_port(), args.nice_downstream))
        procs.append(start([sys.executable, "-m", "services.reporting.app", "all"], env, logs / "reporting.log",
                           ports["reporting"], args.nice_downstream))
        procs.append(start([sys.executable, "-c", BARE, str(ports["bare"])], env, logs / "bare.log", ports["bare"]))
        named = dict(zip(["voting api", "voting relay", "voting consumer", "reporting", "bare"], procs))
        urls = {k: f"http://127.0.0.1:{p}" for k, p in ports.items()}
        wait_ready(urls["voting"])
        wait_ready(urls["reporting"])
        wait_ready(urls["bare"], "/docs")

        # The electorate and the check-ins, through voting's own handlers (as sortition's and
        # sessions' events would bring them).
        engine = make_engine(env["DATABASE_URL"])
        sm = make_sessionmaker(engine)
        aid, session_id = uuid.uuid4(), uuid.uuid4()
        members = [uuid.uuid4() for _ in range(args.voters)]
        await apply(sm, "sortition.panel-drawn.v1", ev.PanelDrawnV1(
            assembly_id=aid, panel_id=uuid.uuid4(), algorithm="bench", members=members, pool_size=len(members)))
        async with transaction(sm, vm.outbox, vm.audit) as tx:
            await tx.session.execute(sa.insert(vm.checkins), [
                {"session_id": session_id, "member_id": m, "assembly_id": aid, "present": True} for m in members])

        async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=16)) as http:
            r = await http.post(f"{urls['voting']}/assemblies/{aid}/ballots", headers=issuer.headers("organiser", aid),
                                json={"title": "Benchmark", "threshold": "2/3", "session_id": str(session_id),
                                      "questions": [{"text": "Recommendation 1"},
                                                    {"text": "Recommendation 2", "type": "agree_scale"},
                                                    {"text": "Fund first", "type": "approval",
                                                     "options": ["tram", "bus", "bike"]},
                                                    {"text": "Priorities", "type": "ranking",
                                                     "options": ["health", "housing", "climate"]}]})
            assert r.status_code == 201, r.text
            vc = VotingClient(http, urls["voting"])
            ballot = await vc.ballot(r.json()["id"])
            sem = asyncio.Semaphore(16)
            tokens: list = [None] * len(members)

            async def token(i: int) -> None:
                async with sem:
                    tokens[i] = await vc.get_token(ballot, headers=issuer.headers("member", aid, member_id=members[i]))

            t0 = time.perf_counter()
            await asyncio.gather(*(token(i) for i in range(len(members))))
            token_s = time.perf_counter() - t0
            await vc.open_voting(ballot, headers=issuer.headers("organiser", aid))  # ends the issuing

        def choices() -> dict:
            opts = ["health", "housing", "climate"]
            rng.shuffle(opts)
            return {"q1": rng.choice(["yes", "yes", "no", "abstain"]), "q2": rng.randint(1, 5),
                    "q3": [o for o in ("tram", "bus", "bike") if rng.random() < 0.5], "q4": opts[: rng.randint(1, 3)]}

        path = f"/ballots/{ballot.id}/votes"
        requests = [(path, json.dumps({"choices": choices(), "token": t.to_dict()}).encode()) for t in tokens]
        # Warm-up (both servers): a few requests that are not counted (invalid tokens, refused).
        warm = [(path, json.dumps({"choices": {"q1": "yes"}, "token": {"message": "00", "signature": "00"}}).encode())] * 20
        await load(urls["voting"], warm, 8)
        await load(urls["bare"], warm, 8)

        spies = start_profilers(args.py_spy, named, args.state) if args.py_spy else []
        cpu0 = cpu_seconds(named)
        # Interleaved rounds, so that both endpoints see the same load from the rest of the machine.
        bare_s = vote_s = 0.0
        bare_lat: list[float] = []
        vote_lat: list[float] = []
        bare_res: list = []
        vote_res: list = []
        step = -(-len(requests) // args.rounds)
        for k in range(0, len(requests), step):
            chunk = requests[k:k + step]
            s_, l_, r_ = await load(urls["bare"], chunk, args.concurrency)
            bare_s, bare_lat, bare_res = bare_s + s_, bare_lat + l_, bare_res + r_
            s_, l_, r_ = await load(urls["voting"], chunk, args.concurrency)
            vote_s, vote_lat, vote_res = vote_s + s_, vote_lat + l_, vote_res + r_
        cpu1 = cpu_seconds(named)
        batches = batch_sizes(httpx.get(urls["voting"] + "/metrics").text)
        stop_profilers(spies)
        accepted = [(i, json.loads(b)) for i, (st, b) in enumerate(vote_res) if st == 201]
        refused = [st for st, _ in vote_res if st != 201]
        assert all(st == 201 for st, _ in bare_res)

        # Reporting consumes every vote-cast event (relay -> Kafka -> consumer).
        t_wait = time.perf_counter()
        while True:
            async with engine.connect() as c:
                n = (await c.execute(sa.text("SELECT count(*) FROM reporting.votes WHERE assembly_id = :a"),
                                     {"a": aid})).scalar_one()
            if n >= len(accepted) or time.perf_counter() - t_wait > 300:
                break
            await asyncio.sleep(0.2)
        drain_s = time.perf_counter() - t_wait

        async with httpx.AsyncClient(timeout=120) as http:
            r = await http.post(f"{urls['voting']}/ballots/{ballot.id}/close", headers=issuer.headers("organiser", aid))
            assert r.status_code == 200, r.text
            result = r.json()
            doc = (await http.get(f"{urls['voting']}/assemblies/{aid}/board/export")).json()
        while True:  # results-tallied reaches reporting
            async with engine.connect() as c:
                cast = (await c.execute(sa.text("SELECT ballots_cast FROM reporting.ballots WHERE ballot_id = :b"),
                                        {"b": uuid.UUID(ballot.id)})).scalar_one_or_none()
            if cast is not None or time.perf_counter() - t_wait > 300:
                break
            await asyncio.sleep(0.2)

        async with engine.connect() as c:
            board = {r.position: r.hash for r in (await c.execute(sa.select(vm.entries.c.position, vm.entries.c.hash).where(
                vm.entries.c.assembly_id == aid))).all()}
            distinct_tokens = (await c.execute(sa.text(
                "SELECT count(DISTINCT token_hash) FROM voting.entries WHERE assembly_id = :a"), {"a": aid})).scalar_one()
            rep_rows, rep_distinct = (await c.execute(sa.text(
                "SELECT count(*), count(DISTINCT position) FROM reporting.votes WHERE assembly_id = :a"),
                {"a": aid})).one()
            inbox_all, inbox_distinct = (await c.execute(sa.text(
                "SELECT count(*), count(DISTINCT event_id) FROM reporting.inbox WHERE topic = 'voting.vote-cast.v2'"))).one()
            rep_q1 = dict((await c.execute(sa.text(
                "SELECT choices->>'q1', count(*) FROM reporting.votes WHERE assembly_id = :a GROUP BY 1"),
                {"a": aid})).all())
        await engine.dispose()
        missing = [i for i, rc in accepted if board.get(rc["position"]) != rc["hash"]]
        report = verify_export(doc, receipts=[(rc["position"], rc["hash"]) for _, rc in accepted[:200]])
        q1 = result["questions"]["q1"]["counts"]
        recount_ok = all(rep_q1.get(k, 0) == q1[k] for k in ("yes", "no", "abstain"))

        vps, bps = len(accepted) / vote_s, len(bare_res) / bare_s
        print(f"voters (tokens issued)     {len(members)}  (issued over HTTP in {token_s:.1f} s, "
              f"{len(members) / token_s:.0f} tokens/s; not part of the ingest figures)")
        print(f"concurrent connections     {args.concurrency}; downstream niceness {args.nice_downstream}")
        print(f"vote ingest                {len(accepted)} accepted, {len(refused)} refused in {vote_s:.2f} s = "
              f"{vps:.0f} votes/s; latency p50 {1000 * pct(vote_lat, 50):.1f} ms, p99 {1000 * pct(vote_lat, 99):.1f} ms")
        print(f"bare FastAPI POST          {len(bare_res)} in {bare_s:.2f} s = {bps:.0f} req/s; latency p50 "
              f"{1000 * pct(bare_lat, 50):.1f} ms, p99 {1000 * pct(bare_lat, 99):.1f} ms")
        print(f"ratio                      {vps / bps:.1%} of the bare endpoint (target >= 50%: "
              f"{'met' if vps / bps >= 0.5 else 'not met'})")
        print(f"group commit               {batches} (batches of {args.batch_votes} votes or after "
              f"{args.flush_seconds} s, shuffled)")
        print(f"events to reporting        all {rep_distinct} vote-cast events applied {drain_s:.1f} s after the "
              f"last vote was accepted")
        print(f"on the board               {len(board)} entries; receipts not found {len(missing)} (target 0); "
              f"distinct tokens {distinct_tokens}")
        print(f"counted once               reporting rows {rep_rows} (distinct {rep_distinct}); inbox "
              f"{inbox_all} (distinct {inbox_distinct}); tally ballots_cast {result['ballots_cast']}; "
              f"reporting's ballots_cast {cast}; recount of q1 from events equals the tally: {recount_ok}")
        print(f"verifier                   {'OK' if report.ok else 'FAILED: ' + str(report.problem)}")
        lost = len(accepted) - len(board) + len(missing) + (len(accepted) - rep_distinct)
        double = (rep_rows - rep_distinct) + (inbox_all - inbox_distinct) + (len(board) - distinct_tokens)
        cpu = {k: cpu1.get(k, 0) - cpu0.get(k, 0) for k in cpu1}
        print("CPU during the measured load (s): " + ", ".join(f"{k} {v:.1f}" for k, v in cpu.items()))
        print(f"lost {lost}, double-counted {double} (targets 0)")
        ok = (not refused and lost == 0 and double == 0 and result["ballots_cast"] == len(accepted) == cast
              and recount_ok and report.ok)
        if not ok:
            sys.exit(1)
    finally:
        for p in procs:
            stop(p)
        if issuer is not None:
            issuer.stop()
        stack.stop()


if __name__ == "__main__":
    asyncio.run(main())
