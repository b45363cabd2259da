"""The authorisation matrix: EVERY route of every service (read from its OpenAPI document, so a
new route cannot be forgotten) called by every role, from its own assembly and from another one.

Expected, from the route's declared policy (`x-borgerting-policy`):
- public routes: anyone gets past authorisation;
- no token: 401;
- a role the route allows, in the route's assembly: past authorisation;
- another role in the route's assembly: 403;
- any role in ANOTHER assembly: 404, as if the object did not exist (operators too, unless the
  route is for operators);
and, independent of what the routes declare: no write is open to auditors, and every write that
is public is on the list of credential flows below.
"""

from __future__ import annotations

import importlib
import uuid

import httpx
import pytest

from borgerting.cluster import SERVICES
from shared.auth.policy import api_routes, route_policies
from shared.runtime import build_app

pytestmark = pytest.mark.integration

SCOPED = ("organiser", "registrar", "facilitator", "member", "auditor")
# Writes anyone may call: each is protected by the credential in its body (a code from a letter,
# a blind-signed voting token) and by rate limits.
PUBLIC_WRITES = {
    ("recruitment", "POST", "/registrations"),
    ("recruitment", "POST", "/withdrawals"),
    ("recruitment", "POST", "/register"),
    ("recruitment", "POST", "/member-login"),
    ("recruitment", "POST", "/member/signin"),
    ("recruitment", "POST", "/withdraw"),
    ("reporting", "POST", "/signout"),  # ends the caller's own session; CSRF-checked
    ("voting", "POST", "/ballots/{ballot_id}/votes"),
    ("voting", "POST", "/ballots/{ballot_id}/cast"),
    ("voting", "POST", "/votes"),
}


def app_for(service: str, settings):
    return build_app(importlib.import_module(f"services.{service}.app").SPEC, "api", settings)


async def call(app, method: str, path: str, token: str | None) -> httpx.Response:
    ip = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250 + 1}"
    headers = {"authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(ip, 1)), base_url="http://t") as c:
        return await c.request(method, path, headers=headers, json={} if method in ("POST", "PUT", "PATCH") else None)


# ---- objects to put in the paths: one per path parameter, in a given assembly ---------------


async def make_session(settings, auth, aid) -> str:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app_for("sessions", settings)),
                                 base_url="http://t") as c:
        r = await c.post(f"/assemblies/{aid}/sessions", headers=auth.headers("organiser", aid),
                         json={"title": "Matrix", "starts_at": "2027-01-01T10:00:00Z"})
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def make_draw_job(settings, auth, aid) -> str:
    """A finished (inert) draw job of sortition in the assembly."""
    import sqlalchemy as sa

    from services.sortition import models as sm

    app = app_for("sortition", settings)
    job_id = uuid.uuid4()
    async with app.state.rt.transaction() as tx:
        await tx.session.execute(sa.insert(sm.jobs).values(id=job_id, assembly_id=aid, kind="draw",
                                                           status="succeeded", params={}))
    await app.state.rt.close()
    return str(job_id)


async def make_ballot(settings, auth, aid) -> str:
    """A voting ballot in the assembly (voting learns a panel of one through its own handler)."""
    from services.voting import handlers as vh
    from shared.events import contracts as ev
    from shared.events.envelope import new_event

    app = app_for("voting", settings)
    panel = ev.PanelDrawnV1(assembly_id=aid, panel_id=uuid.uuid4(), algorithm="t", members=[uuid.uuid4()], pool_size=1)
    async with app.state.rt.transaction() as tx:
        await vh.HANDLERS["sortition.panel-drawn.v1"](tx, new_event(panel, subject=aid), panel)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        r = await c.post(f"/assemblies/{aid}/ballots", headers=auth.headers("organiser", aid),
                         json={"title": "Matrix", "recommendations": ["x"]})
    await app.state.rt.close()
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def make_official_entry(settings, auth, aid) -> str:
    """A pending paper vote keyed in by one registrar (once voting is open)."""
    ballot_id = await make_ballot(settings, auth, aid)
    app = app_for("voting", settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        opened = await c.post(f"/ballots/{ballot_id}/open", headers=auth.headers("organiser", aid))
        assert opened.status_code == 200, opened.text
        r = await c.post(f"/ballots/{ballot_id}/official-entries", headers=auth.headers("registrar", aid),
                         json={"kind": "paper", "sheet_id": "S-1", "choices": {"q1": "yes"}})
    await app.state.rt.close()
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def make_claim(settings, auth, aid) -> str:
    """A member's pending travel claim in the assembly (recruitment's stipends), written directly."""
    import sqlalchemy as sa

    from services.recruitment import models as rm

    app = app_for("recruitment", settings)
    claim_id = uuid.uuid4()
    async with app.state.rt.transaction() as tx:
        await tx.session.execute(sa.insert(rm.stipend_claims).values(
            id=claim_id, assembly_id=aid, member_id=uuid.uuid4(), session_id=uuid.uuid4(), kind="travel",
            amount_ore=100, receipt=b"%PDF-", receipt_type="application/pdf", receipt_sha256="0" * 64))
    await app.state.rt.close()
    return str(claim_id)


async def board_position(settings, auth, aid) -> str:
    return "1"


async def token_hash(settings, auth, aid) -> str:
    return "0" * 64


async def any_member(settings, auth, aid) -> str:
    """A member id: routes on members are scoped by the {assembly_id} beside it."""
    return str(uuid.uuid4())


async def replacement_number(settings, auth, aid) -> str:
    """A replacement's number (sortition's public replacement transcripts; scoped by the assembly)."""
    return "1"


async def make_draft(settings, auth, aid) -> str:
    """A draft recommendation of the assembly's Table 1 (sessions' recommendations workspace)."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app_for("sessions", settings)),
                                 base_url="http://t") as c:
        r = await c.post(f"/assemblies/{aid}/drafts", headers=auth.headers("organiser", aid),
                         json={"group": "Table 1", "title": "Matrix", "text": "Text"})
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def make_amendment(settings, auth, aid) -> str:
    draft_id = await make_draft(settings, auth, aid)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app_for("sessions", settings)),
                                 base_url="http://t") as c:
        r = await c.post(f"/drafts/{draft_id}/amendments", headers=auth.headers("member", aid, member_id=uuid.uuid4()),
                         json={"text": "Other text", "reason": "Matrix"})
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def _programme_api(settings, auth, aid, method: str, path: str, **kw) -> dict:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app_for("sessions", settings)),
                                 base_url="http://t") as c:
        r = await c.request(method, path, **kw)
    assert r.status_code == 201, r.text
    return r.json()


async def make_agenda_item(settings, auth, aid) -> str:
    session_id = await make_session(settings, auth, aid)
    return (await _programme_api(settings, auth, aid, "POST", f"/sessions/{session_id}/agenda-items",
                                 headers=auth.headers("organiser", aid),
                                 json={"phase": "learning", "title": "Matrix", "minutes": 30}))["id"]


async def make_expert(settings, auth, aid) -> str:
    return (await _programme_api(settings, auth, aid, "POST", f"/assemblies/{aid}/experts",
                                 headers=auth.headers("organiser", aid),
                                 json={"name": "Matrix", "affiliation": "Test", "interests": "none"}))["id"]


async def make_document(settings, auth, aid) -> str:
    item_id = await make_agenda_item(settings, auth, aid)
    return (await _programme_api(settings, auth, aid, "POST", f"/agenda-items/{item_id}/documents",
                                 headers=auth.headers("organiser", aid),
                                 json={"title": "Matrix", "url": "https://example.org/v"}))["id"]


async def make_witness_request(settings, auth, aid) -> str:
    return (await _programme_api(settings, auth, aid, "POST", f"/assemblies/{aid}/witness-requests",
                                 headers=auth.headers("member", aid, member_id=uuid.uuid4()),
                                 json={"wanted": "Matrix", "reason": "Test"}))["id"]


async def report_version(settings, auth, aid) -> str:
    """A published report's version number (reporting's public versions; scoped by the assembly)."""
    return "1"


async def report_document(settings, auth, aid) -> str:
    """One document of a report version (da.html, en.html, da.pdf, en.pdf)."""
    return "da.pdf"


async def survey_stage(settings, auth, aid) -> str:
    """A member survey's stage (reporting's evaluation; scoped by the assembly)."""
    return "end"


OBJECTS = {"member_id": any_member, "draft_id": make_draft, "amendment_id": make_amendment, "session_id": make_session, "job_id": make_draw_job, "ballot_id": make_ballot,
           "entry_id": make_official_entry, "position": board_position, "token_hash": token_hash,
           "number": replacement_number, "item_id": make_agenda_item, "expert_id": make_expert,
           "document_id": make_document, "witness_request_id": make_witness_request,
           "version": report_version, "document": report_document, "stage": survey_stage,
           "claim_id": make_claim}


def error_of(resp: httpx.Response) -> dict:
    """The error of an API route (JSON) or of a page (the error page's data attributes)."""
    if resp.headers.get("content-type", "").startswith("text/html"):
        import html
        import re

        found = re.search(r'data-error-code="([^"]*)" data-error-message="([^"]*)"', resp.text)
        return {"code": found.group(1), "message": html.unescape(found.group(2))} if found else {}
    return resp.json()["error"]


def verdict(resp: httpx.Response, path: str) -> str:
    if resp.status_code == 401:
        return "401"
    if resp.status_code == 303 and "/signin?next=" in resp.headers.get("location", ""):
        return "401"  # a page: the browser is sent to sign in
    if resp.status_code == 403 and error_of(resp).get("code") == "forbidden":
        return "403"
    if resp.status_code == 404 and error_of(resp).get("message") == f"{path} not found":
        return "404"
    return "pass"


def expected(roles: list[str], who: str, own: bool, scoped: bool) -> str:
    if "public" in roles:
        return "pass"
    if who == "anonymous":
        return "401"
    if who == "operator" and "operator" in roles:
        return "pass"
    if not scoped:
        return "403"
    if who == "operator" or not own:
        return "404"
    return "pass" if who in roles else "403"


def principals(auth, own: uuid.UUID, other: uuid.UUID):
    yield "anonymous", None, True
    yield "operator", auth.token("operator"), True
    for role in SCOPED:
        kw = {"member_id": uuid.uuid4()} if role == "member" else {}
        yield role, auth.token(role, own, **kw), True
        yield role, auth.token(role, other, **kw), False


@pytest.mark.parametrize("service", SERVICES)
async def test_every_route_allows_exactly_its_declared_roles(settings, auth, service):
    app = app_for(service, settings)
    doc = app.openapi()
    own, other = uuid.uuid4(), uuid.uuid4()
    objects: dict[str, str] = {}
    mismatches, checked = [], 0
    for path, ops in doc["paths"].items():
        params = [p.strip("{}") for p in path.split("/") if p.startswith("{")]
        concrete = path
        for p in params:
            if p == "assembly_id":
                value = str(own)
            else:
                assert p in OBJECTS, f"{service} {path}: the matrix cannot make a {p}; add a maker to OBJECTS"
                if p not in objects:
                    objects[p] = await OBJECTS[p](settings, auth, own)
                value = objects[p]
            concrete = concrete.replace("{" + p + "}", value)
        for method, op in ops.items():
            policy = op.get("x-borgerting-policy")
            assert policy, f"{service} {method.upper()} {path} has no declared policy in its OpenAPI document"
            roles = policy["roles"]
            scoped = policy["scope"] != "none"
            for who, token, own_assembly in principals(auth, own, other):
                resp = await call(app, method.upper(), concrete, token)
                got = verdict(resp, concrete)
                want = expected(roles, who, own_assembly, scoped)
                checked += 1
                if got != want:
                    mismatches.append(f"{method.upper()} {path} as {who} ({'own' if own_assembly else 'other'} "
                                      f"assembly): expected {want}, got {resp.status_code} {resp.text[:150]}")
    assert checked > 20
    assert not mismatches, "\n".join(mismatches)


@pytest.mark.parametrize("service", SERVICES)
def test_no_write_is_open_to_auditors_or_the_public_unless_listed(settings, service):
    app = app_for(service, settings)
    for route in api_routes(app.routes):
        (policy,) = route_policies(route)
        for method in route.methods - {"GET", "HEAD", "OPTIONS"}:
            assert "auditor" not in policy.roles, f"{method} {route.path} lets auditors write"
            if "public" in policy.roles:
                assert (service, method, route.path) in PUBLIC_WRITES, f"{method} {route.path} is a public write"


def test_a_route_without_a_policy_stops_the_service_from_starting(settings):
    from fastapi import APIRouter

    from services.sessions.app import SPEC

    stray = APIRouter()

    @stray.post("/assemblies/{assembly_id}/forgotten")
    async def forgotten(assembly_id: uuid.UUID) -> dict:
        return {}

    spec = type(SPEC)(**{**SPEC.__dict__, "routers": [*SPEC.routers, stray]})
    with pytest.raises(RuntimeError, match=r"POST'\] /assemblies/\{assembly_id\}/forgotten declares 0 policies"):
        build_app(spec, "api", settings)


async def test_audit_trail_records_who_did_what_and_verifies(settings, auth):
    from shared.audit import verify

    aid = uuid.uuid4()
    app = app_for("sessions", settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        for i in range(3):
            r = await c.post(f"/assemblies/{aid}/sessions", headers=auth.headers("organiser", aid, subject="alice"),
                             json={"title": f"S{i}", "starts_at": "2027-01-01T10:00:00Z"},
                             )
            assert r.status_code == 201
        export = await c.get(f"/assemblies/{aid}/audit", headers=auth.headers("auditor", aid))
        assert export.status_code == 200
        doc = export.json()
        assert verify(doc) == []
        assert [e["action"] for e in doc["entries"]] == ["session.scheduled"] * 3
        assert all(e["actor"].endswith("|alice") and e["correlation_id"] for e in doc["entries"])
        # another assembly's auditor sees nothing of it
        assert (await c.get(f"/assemblies/{aid}/audit", headers=auth.headers("auditor", uuid.uuid4()))).status_code == 404


async def test_the_audit_table_is_append_only(engine):
    import sqlalchemy as sa
    from sqlalchemy.exc import DBAPIError

    for statement in ("UPDATE sessions.audit SET actor = 'mallory'", "DELETE FROM sessions.audit",
                      "TRUNCATE sessions.audit"):
        async with engine.begin() as conn:
            if (await conn.execute(sa.text("SELECT count(*) FROM sessions.audit"))).scalar() == 0 and "TRUNCATE" not in statement:
                await conn.execute(sa.text("INSERT INTO sessions.audit VALUES (:a, 1, 'now', 'x', 'y', NULL, '{}', NULL, :g, :g)"),
                                   {"a": uuid.uuid4(), "g": "0" * 64})
        with pytest.raises(DBAPIError, match="append-only"):
            async with engine.begin() as conn:
                await conn.execute(sa.text(statement))
