import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shared.errors import ApiError, install_error_handlers
from shared.settings import Settings


def test_production_refuses_the_development_secret(monkeypatch):
    for var in ("BORGERTING_AUTH_ISSUERS", "BORGERTING_AUTH_DEV_ISSUER", "BORGERTING_SECRET_KEY"):
        monkeypatch.delenv(var, raising=False)  # the test stack sets some of them for the whole run
    monkeypatch.setenv("BORGERTING_ENV", "production")
    with pytest.raises(ValueError, match="BORGERTING_SECRET_KEY must be set"):
        Settings()
    monkeypatch.setenv("BORGERTING_SECRET_KEY", "x" * 40)
    with pytest.raises(ValueError, match="BORGERTING_AUTH_ISSUERS must name"):
        Settings()
    monkeypatch.setenv("BORGERTING_AUTH_ISSUERS", '{"https://login.example": "https://login.example/certs"}')
    assert Settings().env == "production"
    assert Settings().auth_issuers == {"https://login.example": "https://login.example/certs"}


def test_urls_come_from_the_conventional_variables(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://u@db:5432/x")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "k1:9092,k2:9092")
    s = Settings()
    assert s.database_url == "postgresql+asyncpg://u@db:5432/x" and s.kafka_bootstrap_servers == "k1:9092,k2:9092"


def test_one_error_shape_and_no_stack_traces():
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/refuse")
    async def refuse():
        raise ApiError(409, "already done", code="already")

    @app.get("/boom")
    async def boom():
        raise RuntimeError("secret internals")

    c = TestClient(app, raise_server_exceptions=False)
    r = c.get("/refuse")
    assert r.status_code == 409 and r.json()["error"] == {"status": 409, "code": "already", "message": "already done",
                                                           "details": [], "request_id": None}
    r = c.get("/boom")
    assert r.status_code == 500 and "secret internals" not in r.text and r.json()["error"]["code"] == "internal_error"


def test_domain_errors_carry_a_code_and_get_their_status_in_one_place():
    from services.voting.domain.errors import SameOfficialError, TokenAlreadyUsedError
    from shared.problems import Conflict, InvalidInput, not_found

    app = FastAPI()
    install_error_handlers(app)
    raised = {"missing": not_found("ballot"), "clash": Conflict("sheets are out", code="sheets_exhausted"),
              "bad": InvalidInput("no rows", details=[{"field": "csv", "problem": "empty"}]),
              "used": TokenAlreadyUsedError("this token has already been used to vote"),
              "same": SameOfficialError("a second official must confirm")}

    @app.get("/raise/{name}")
    async def refuse(name: str):
        raise raised[name]

    c = TestClient(app, raise_server_exceptions=False)
    got = {name: c.get(f"/raise/{name}") for name in raised}
    assert {n: (r.status_code, r.json()["error"]["code"]) for n, r in got.items()} == {
        "missing": (404, "not_found"), "clash": (409, "sheets_exhausted"), "bad": (422, "invalid_input"),
        "used": (409, "token_already_used"), "same": (403, "same_official")}
    assert got["missing"].json()["error"]["message"] == "ballot not found"
    assert got["bad"].json()["error"]["details"] == [{"field": "csv", "problem": "empty"}]
    assert not hasattr(TokenAlreadyUsedError, "http_status")  # the domain knows no HTTP


def test_a_resource_is_made_once_per_process_and_only_if_declared():
    from types import SimpleNamespace

    from shared.runtime import Resource, Runtime

    made, declared, stray = [], Resource("box", lambda rt: made.append(rt) or object()), Resource("stray", object)
    rt = Runtime.__new__(Runtime)  # no database or cache needed to hand out resources
    rt.spec, rt.closers, rt._resources = SimpleNamespace(name="svc", resources=[declared]), [], {}
    assert rt.use(declared) is rt.use(declared) and made == [rt]
    with pytest.raises(LookupError, match="stray is not among the resources of svc"):
        rt.use(stray)


def test_kafka_security_settings_become_client_options(tmp_path):
    import ssl

    from shared.bus.kafka import kafka_security

    assert kafka_security(Settings()) == {"security_protocol": "PLAINTEXT"}
    with pytest.raises(ValueError, match="BORGERTING_KAFKA_SASL_USERNAME"):
        kafka_security(Settings(kafka_security_protocol="SASL_SSL"))
    with pytest.raises(ValueError, match="go together"):
        Settings(kafka_ssl_certfile="/c.pem")
    with pytest.raises(ValueError):
        Settings(kafka_security_protocol="SASL_SSL", kafka_sasl_mechanism="GSSAPI", kafka_sasl_username="u",
                 kafka_sasl_password="p")
    opts = kafka_security(Settings(kafka_security_protocol="SASL_SSL", kafka_sasl_username="voting",
                                   kafka_sasl_password="pw"))
    assert opts["security_protocol"] == "SASL_SSL" and opts["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (opts["sasl_plain_username"], opts["sasl_plain_password"]) == ("voting", "pw")
    ctx = opts["ssl_context"]
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    assert "ssl_context" not in kafka_security(Settings(kafka_security_protocol="SASL_PLAINTEXT",
                                                        kafka_sasl_username="u", kafka_sasl_password="p"))


def test_production_leaves_topics_to_the_platform_and_the_inbox_is_kept(monkeypatch):
    for var in ("BORGERTING_CREATE_TOPICS", "BORGERTING_INBOX_RETENTION_HOURS", "BORGERTING_AUTH_DEV_ISSUER"):
        monkeypatch.delenv(var, raising=False)  # the test stack sets some of them for the whole run
    prod = dict(env="production", secret_key="x" * 40, auth_issuers={"https://i": "https://i/k"})
    assert Settings(**prod).create_topics is False
    assert Settings(**prod, create_topics=True).create_topics is True, "an explicit choice wins"
    assert Settings().create_topics is True, "laptops and the embedded broker create their topics"
    assert Settings().inbox_retention_hours == 0 and Settings(**prod).inbox_retention_hours == 0
    with pytest.raises(ValueError):
        Settings(inbox_retention_hours=-1)
