"""The services' HTTP APIs in-process (httpx ASGI transport) against the real database and cache:
clear 4xx errors for bad input, single-use codes, rate limits, and the operations endpoints."""

from __future__ import annotations

import importlib
import uuid

import httpx
import pytest

from borgerting.cluster import SERVICES
from shared.runtime import build_app
from tests.conftest import _RUN, STAFF_ROLES, Staff

pytestmark = pytest.mark.integration

STRATA = [
    {"category": "gender", "quotas": [{"value": "female", "min": 1, "max": 2}, {"value": "male", "min": 1, "max": 2}]},
    {"category": "region", "quotas": [{"value": "N", "min": 0, "max": 3}, {"value": "S", "min": 0, "max": 3}]},
]
REGIONS = [{"code": "N", "name": "North", "population": 300}, {"code": "S", "name": "South", "population": 100}]
EXTRACT = "person_id,name,address,region\n" + "".join(f"{i},P{i},Road {i},{'N' if i % 4 else 'S'}\n" for i in range(40))


def client(service: str, settings, role: str = "api", ip: str | None = None, auth=None) -> httpx.AsyncClient:
    """An in-process client; each gets its own address unless told, so rate limits do not leak.
    Without `auth` it acts as staff with every staff role (authorisation is tested in test_authz)."""
    ip = ip or f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250 + 1}"
    spec = importlib.import_module(f"services.{service}.app").SPEC
    app = build_app(spec, role, settings)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(ip, 4321)), base_url="http://test",
                             auth=auth or Staff(_RUN["issuer"], *STAFF_ROLES))


def assert_error(resp: httpx.Response, status: int, *fragments: str) -> dict:
    assert resp.status_code == status, resp.text
    body = resp.json()["error"]
    assert body["status"] == status and body["request_id"]
    for f in fragments:
        assert f in body["message"] or any(f in d.get("problem", "") for d in body["details"]), body
    return body


async def make_assembly(rec) -> str:
    r = await rec.post("/assemblies", json={"name": "Test", "panel_size": 4, "regions": REGIONS, "strata": STRATA})
    assert r.status_code == 201, r.text
    aid = r.json()["id"]
    r = await rec.post(f"/assemblies/{aid}/register-extract", content=EXTRACT, headers={"content-type": "text/csv"})
    assert r.status_code == 201 and r.json() == {"imported": 40}
    return aid


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("role", ["api", "consumer", "relay"])
async def test_every_process_has_health_readiness_and_metrics(settings, service, role):
    async with client(service, settings, role) as c:
        assert (await c.get("/healthz")).json() == {"status": "ok"}
        ready = await c.get("/readyz")
        assert ready.status_code == 200, ready.text
        wanted = {"api": {"database"}, "consumer": {"database", "broker"}, "relay": {"database", "broker"}}[role]
        assert ready.json()["checks"] == dict.fromkeys(wanted, "ok")
        metrics = (await c.get("/metrics")).text
        assert "borgerting_http_requests_total" in metrics
        assert 'route="/healthz"' in metrics
        assert_error(await c.get("/no/such/route"), 404, "no route GET /no/such/route")


async def test_readiness_reports_an_unreachable_dependency(settings):
    no_broker = settings.model_copy(update={"kafka_bootstrap_servers": "127.0.0.1:1"})
    async with client("voting", no_broker, "relay") as c:
        r = await c.get("/readyz")
    assert r.status_code == 503
    assert r.json()["checks"]["broker"].startswith("unreachable")
    no_db = settings.model_copy(update={"database_url": "postgresql+asyncpg://nobody@127.0.0.1:1/x"})
    async with client("voting", no_db, "api") as c:
        r = await c.get("/readyz")
    assert r.status_code == 503 and r.json()["checks"]["database"].startswith("unreachable")


async def test_the_api_stays_ready_without_kafka_or_valkey(settings):
    """The outbox takes writes while Kafka is down; an unready api would empty the Ingress."""
    broken = settings.model_copy(update={"kafka_bootstrap_servers": "127.0.0.1:1", "redis_url": "redis://127.0.0.1:1/0"})
    async with client("voting", broken, "api") as c:
        r = await c.get("/readyz")
    assert r.status_code == 200 and r.json()["checks"] == {"database": "ok"}


async def test_assembly_input_errors_say_what_to_fix(rec):
    assert_error(await rec.post("/assemblies", json={"name": "x"}), 422, "panel_size: Field required")
    assert_error(await rec.post("/assemblies", content=b"{", headers={"content-type": "application/json"}), 422)
    impossible = {"name": "x", "panel_size": 9, "regions": REGIONS, "strata": STRATA}
    assert_error(await rec.post("/assemblies", json=impossible), 422, "maximums add up to 4, less than the panel size 9")
    assert_error(await rec.get(f"/assemblies/{uuid.uuid4()}"), 404, "not found")
    assert_error(await rec.get("/assemblies/not-a-uuid"), 422, "assembly_id")


async def test_register_extract_errors(rec):
    r = await rec.post("/assemblies", json={"name": "Test", "panel_size": 4, "regions": REGIONS, "strata": STRATA})
    aid = r.json()["id"]
    url = f"/assemblies/{aid}/register-extract"
    assert_error(await rec.post(url, content="a,b\n1,2\n", headers={"content-type": "application/json"}), 415, "text/csv")
    assert_error(await rec.post(url, content="person_id,name\n1,x\n", headers={"content-type": "text/csv"}), 422,
                 "missing: address, region")
    assert_error(await rec.post(url, content="person_id,name,address,region\n1,x,y,Z\n",
                                headers={"content-type": "text/csv"}), 422, "line 2: region 'Z' is not one of N, S")
    assert_error(await rec.post(url, content="person_id,name,address,region\n1,x,y,N\n1,x,y,N\n",
                                headers={"content-type": "text/csv"}), 422, "line 3: the same person_id appears twice")
    ok = await rec.post(url, content=EXTRACT, headers={"content-type": "text/csv"})
    assert ok.status_code == 201
    assert_error(await rec.post(url, content=EXTRACT, headers={"content-type": "text/csv"}), 409, "already imported")


async def test_invitations_codes_are_single_use_and_answers_checked(rec):
    aid = await make_assembly(rec)
    assert_error(await rec.post(f"/assemblies/{aid}/invitation-batches", json={"count": 41}), 422, "only 40 people")
    r = await rec.post(f"/assemblies/{aid}/invitation-batches", json={"count": 8, "seed": 3})
    assert r.status_code == 201, r.text
    batch = r.json()
    assert batch["per_region"] == {"N": 6, "S": 2} and len(batch["letters"]) == 8
    code = batch["letters"][0]["code"]
    body = {"code": code, "consent": True, "answers": {"gender": "female"}}
    assert_error(await rec.post("/registrations", json={**body, "consent": False}), 422, "consent is required")
    assert_error(await rec.post("/registrations", json={**body, "answers": {"gender": "x"}}), 422,
                 "'x' is not one of female, male")
    assert_error(await rec.post("/registrations", json={**body, "answers": {}}), 422, "missing")
    assert_error(await rec.post("/registrations", json={**body, "consent_version": "1999-01"}), 422,
                 "consent version '1999-01' is not known")
    r = await rec.post("/registrations", json={**body, "language": "en"})
    assert r.status_code == 201 and r.json()["consent_version"] == "2026-12" and len(r.json()["reference"]) == 8
    assert_error(await rec.post("/registrations", json=body), 409, "already been used")
    assert_error(await rec.post("/registrations", json={**body, "code": "ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ"}), 404, "not recognised")
    stats = (await rec.get(f"/assemblies/{aid}/stats")).json()
    assert stats["invitations"] == 8 and stats["registrations"] == 1
    assert_error(await rec.post("/withdrawals", json={"code": batch["letters"][1]["code"]}), 409, "nobody has registered")
    r = await rec.post("/withdrawals", json={"code": code.lower()})
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"
    assert_error(await rec.post("/withdrawals", json={"code": code}), 409, "already been withdrawn")
    assert (await rec.get(f"/assemblies/{aid}/stats")).json()["registrations"] == 0
    page = await rec.get(f"/register?assembly={aid}")
    assert page.status_code == 200 and 'name="q_gender"' in page.text and 'name="code"' in page.text


async def test_unknown_codes_are_rate_limited_per_address(settings):
    limit = settings.register_failures_per_ip
    async with client("recruitment", settings, ip="10.77.0.1") as c:
        for i in range(limit):
            r = await c.post("/registrations", json={"code": f"AAAA-AAAA-AAAA-AAAA-{i:04d}".replace("0", "B"),
                                                     "consent": True})
            assert r.status_code == 404, r.text
        body = assert_error(await c.post("/registrations", json={"code": "AAAA-AAAA-AAAA-AAAA-CCCC", "consent": True}),
                            429, "too many unknown or used codes")
        assert body["code"] == "rate_limited"
    async with client("recruitment", settings, ip="10.77.0.2") as other:  # another address is not affected
        r = await other.post("/registrations", json={"code": "AAAA-AAAA-AAAA-AAAA-CCCC", "consent": True})
        assert r.status_code == 404


async def test_one_code_cannot_be_hammered(settings):
    code = "QQQQ-QQQQ-QQQQ-QQQQ-QQQQ"
    statuses = []
    for i in range(settings.register_attempts_per_code + 1):
        async with client("recruitment", settings, ip=f"10.78.0.{i + 1}") as c:
            statuses.append((await c.post("/registrations", json={"code": code, "consent": True})).status_code)
    assert statuses[:-1] == [404] * settings.register_attempts_per_code
    assert statuses[-1] == 429


async def test_other_services_refuse_bad_input_clearly(settings):
    nobody = uuid.uuid4()
    async with client("sortition", settings) as c:
        assert_error(await c.post(f"/assemblies/{nobody}/draws", json={}), 404, "not yet known to sortition")
        assert_error(await c.post(f"/assemblies/{nobody}/draws", json={"reserves": -1}), 422, "reserves")
    async with client("sessions", settings) as c:
        assert_error(await c.post(f"/assemblies/{nobody}/sessions", json={"title": "x"}), 422, "starts_at")
        assert_error(await c.post(f"/sessions/{nobody}/held"), 404, "session not found")
        r = await c.post(f"/assemblies/{nobody}/sessions", json={"title": "x", "starts_at": "2027-01-01T10:00:00Z"})
        assert r.status_code == 201
        c.auth.know(nobody)
        assert_error(await c.post(f"/sessions/{r.json()['id']}/attendance", json={"records": []}), 422, "records")
        assert_error(await c.post(f"/sessions/{r.json()['id']}/held"), 409, "no panel yet")
        assert_error(await c.post(f"/sessions/{r.json()['id']}/attendance",
                                  json={"records": [{"member_id": str(nobody), "present": True}]}), 422,
                     "not on this assembly's roster")
    async with client("voting", settings) as c:
        assert_error(await c.post(f"/assemblies/{nobody}/ballots", json={"title": "t", "recommendations": ["a"]}), 409,
                     "nobody is eligible")
        assert_error(await c.post(f"/assemblies/{nobody}/ballots", json={"title": "t", "recommendations": [],
                                                                          "threshold": 2}), 422, "threshold")
        assert_error(await c.post(f"/ballots/{nobody}/votes", json={"choices": {"q1": "maybe"},
                                                                    "token": {"message": "zz", "signature": "00"}}),
                     422, "token.message")
        assert_error(await c.get(f"/ballots/{nobody}/results"), 404, "ballot not found")
    async with client("reporting", settings) as c:
        assert_error(await c.get(f"/assemblies/{nobody}/summary"), 404, "no events seen")


async def test_an_unavailable_database_or_cache_is_a_503_not_a_500(settings):
    body = {"name": "x", "panel_size": 1, "regions": [{"code": "A", "name": "A", "population": 1}],
            "strata": [{"category": "region", "quotas": [{"value": "A", "min": 1, "max": 1}]}]}
    no_db = settings.model_copy(update={"database_url": "postgresql+asyncpg://postgres@127.0.0.1:1/borgerting"})
    async with client("recruitment", no_db) as c:
        r = await c.post("/assemblies", json=body)
    assert_error(r, 503, "unavailable right now")
    assert r.headers["retry-after"] == "5"
    no_cache = settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    async with client("recruitment", no_cache) as c:
        r = await c.post("/registrations", json={"code": "AAAA-AAAA-AAAA-AAAA-AAAA", "consent": True})
    assert_error(r, 503, "unavailable right now")


async def test_sessions_agenda_and_roster_and_reporting_summary_from_events(settings, sessionmaker):
    """The reads of sessions (views.py: roster, agenda) and reporting's summary (views.py and
    domain/summary.py) through their APIs, after the events their handlers apply."""
    from services.reporting import handlers as rh
    from services.reporting import models as rm
    from services.sessions import handlers as sh
    from services.sessions import models as sm
    from shared.bus.outbox import transaction
    from shared.events import contracts as ev
    from shared.events.envelope import new_event

    aid, members = uuid.uuid4(), sorted(uuid.uuid4() for _ in range(3))
    drawn = ev.PanelDrawnV1(assembly_id=aid, panel_id=uuid.uuid4(), algorithm="leximin", members=members, pool_size=9)
    created = ev.AssemblyCreatedV1(assembly_id=aid, name="Klima", panel_size=3,
                                   regions=[ev.RegionV1(code="N", name="North", population=10)],
                                   strata=[ev.StratumV1(category="region", quotas=[ev.QuotaV1(value="N", min=3, max=3)])])
    async with transaction(sessionmaker, sm.outbox, sm.audit) as tx:
        await sh.HANDLERS["sortition.panel-drawn.v1"](tx, new_event(drawn, subject=aid), drawn)
    for topic, payload in (("recruitment.assembly-created.v1", created), ("sortition.panel-drawn.v1", drawn)):
        async with transaction(sessionmaker, rm.outbox, rm.audit) as tx:
            await rh.HANDLERS[topic](tx, new_event(payload, subject=aid), payload)
    async with client("sessions", settings) as c:
        r = await c.post(f"/assemblies/{aid}/sessions", json={"title": "One", "starts_at": "2027-01-01T10:00:00Z"})
        assert r.status_code == 201, r.text
        sid = r.json()["id"]
        c.auth.know(aid)  # /sessions/{id}/... carries no assembly in its path
        assert (await c.get(f"/assemblies/{aid}/roster")).json()["members"] == [str(m) for m in members]
        assert (await c.post(f"/sessions/{sid}/held")).json() == {"session_id": sid, "present": 0, "absent": 3}
        [s] = (await c.get(f"/assemblies/{aid}/sessions")).json()
        assert (s["id"], s["title"], s["held"], s["duration_hours"]) == (sid, "One", True, 6.0)
    async with client("reporting", settings) as c:
        summary = (await c.get(f"/assemblies/{aid}/summary")).json()
    assert (summary["name"], summary["panel_size"], summary["panel_target"]) == ("Klima", 3, 3)
    assert summary["selection"]["algorithm"] == "leximin" and summary["per_region"][0]["region"] == "N"
