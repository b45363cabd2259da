"""Settings from the environment (pydantic-settings), with safe defaults for a laptop.

The three infrastructure URLs use their conventional names (DATABASE_URL, REDIS_URL,
KAFKA_BOOTSTRAP_SERVERS); everything else is prefixed BORGERTING_.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Literal

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


# Asymmetric signatures only: no "none", and no HMAC (HS*), which would let anyone who knows a
# public key forge tokens when a library confuses key types.
ALLOWED_ALGORITHMS = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BORGERTING_", extra="ignore")

    env: str = "development"  # development | test | production
    database_url: str = Field(
        "postgresql+asyncpg://postgres@127.0.0.1:5432/borgerting",
        validation_alias=AliasChoices("DATABASE_URL", "BORGERTING_DATABASE_URL"),
    )
    redis_url: str = Field(
        "redis://127.0.0.1:6379/0", validation_alias=AliasChoices("REDIS_URL", "BORGERTING_REDIS_URL")
    )
    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:9092",
        validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS", "BORGERTING_KAFKA_BOOTSTRAP_SERVERS"),
    )
    # Connections of one process to PostgreSQL: db_pool_size kept open, up to db_max_overflow more
    # under load (docs/deploy.md, "Connection budget", sizes them for all pods together).
    db_pool_size: int = Field(10, ge=1, le=100)
    db_max_overflow: int = Field(10, ge=0, le=100)
    # DATABASE_URL points at PgBouncer in transaction mode (the CNPG Pooler): asyncpg's prepared
    # statement caches must be off, since consecutive transactions may run on different server
    # connections.
    db_pgbouncer: bool = False
    # How the Kafka clients authenticate and encrypt (shared/bus/kafka.py kafka_security). Production
    # on Strimzi: SASL_SSL with SCRAM-SHA-512, the KafkaUser's password and the cluster CA
    # (deploy/k8s/infra/kafka.yaml). PLAINTEXT is for laptops and the embedded broker.
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] = "SCRAM-SHA-512"
    kafka_sasl_username: str = ""
    kafka_sasl_password: str = ""
    # PEM files: the CA that signed the brokers' certificates (empty: the system's CAs), and for
    # mutual TLS a client certificate and key.
    kafka_ssl_cafile: str = ""
    kafka_ssl_certfile: str = ""
    kafka_ssl_keyfile: str = ""
    kafka_ssl_check_hostname: bool = True
    # Seconds a cache command (or connect) may take before the request is answered 503 (shared/redis.py).
    redis_timeout_seconds: float = Field(1.0, gt=0, le=30)
    host: str = "127.0.0.1"
    port: int = 8000
    # The reverse proxies (ingress) whose X-Forwarded-For names the client, comma-separated
    # addresses or networks ("10.0.0.0/8,fd00::/8"). Empty: the forwarded headers are ignored and
    # the peer address is the client (rate limits are keyed on it).
    trusted_proxies: str = ""
    # Seconds an idle keep-alive connection stays open. Longer than the idle expiry of every client
    # and proxy that reuses connections to a service (ingress-nginx's upstream keep-alive: 60 s;
    # httpx's, the demo's and the one-origin proxy's: 5 s): a server that closes an idle connection
    # at the moment a client reuses it fails that request ("Server disconnected"), and a POST must
    # not be sent again blindly. uvicorn's own default of 5 s equals httpx's, which under CPU load
    # lost requests of the demo.
    http_keep_alive_seconds: int = Field(75, ge=1, le=3600)
    log_json: bool = True
    log_level: str = "INFO"

    # Keys the HMAC of pseudonymous household keys. Set a long random value in production.
    secret_key: str = "development-only-secret-change-me"

    # Delivery
    # Create missing topics at start (the embedded broker, laptops). Off by default in production,
    # where the topics are declared with their partitions, replication and retention (Strimzi
    # KafkaTopics, deploy/k8s/infra) and the services' Kafka users may not create topics.
    create_topics: bool = True
    topic_partitions: int = 1
    topic_replication: int = 1
    relay_batch_size: int = 200
    relay_idle_seconds: float = 0.2
    consumer_max_attempts: int = 3
    # Sent outbox rows are pruned after this age (the topic holds them from then on).
    outbox_retention_hours: float = 24 * 7
    # Inbox rows are what makes a redelivery a no-op, so they must live as long as a message can be
    # delivered again. Topics keep every event (retention -1) and a new consumer group starts at the
    # earliest offset, so by default the inbox is never pruned (0). Set a number of hours only if
    # every topic the service reads has a shorter retention than that.
    inbox_retention_hours: float = Field(0, ge=0)
    consumer_session_timeout_ms: int = 10000
    # A named point where the process kills itself (os._exit) — used only by fault tests.
    fault_point: str = ""

    # Rate limits (requests per window) on the public registration endpoint
    register_window_seconds: int = 60
    register_limit_per_ip: int = 30
    register_limit_global: int = 2000
    register_failures_per_ip: int = 10  # unknown/reused codes per IP per window
    register_attempts_per_code: int = 20  # per code per 60 windows: typos in the form are normal

    # Voting's limits (Valkey, per window): token requests per member and ballot (10 minutes);
    # votes with an invalid token per client address (a minute), then a minute's block.
    voting_token_requests_per_member: int = 10
    voting_invalid_tokens_per_address: int = 50
    # The ballot box appends votes to the board in batches, each in a random order, so that the
    # board's order (and the rows' transaction ids and places on disk) shows no more than which
    # batch a vote came in: a batch is written once it holds this many votes, or when its oldest
    # vote has waited this long (docs/voting.md, "Ballot secrecy against the database").
    voting_batch_votes: int = Field(32, ge=1, le=256)
    voting_flush_seconds: float = Field(1.0, ge=0, le=30)

    # Sortition's job worker: a running job's heartbeat, and the age after which a job whose
    # heartbeat stopped (its process died) is taken over by another worker.
    sortition_job_heartbeat: float = 2.0
    sortition_job_stale: float = 30.0

    # Authentication (OpenID Connect bearer tokens). Trusted issuers and where their keys are:
    # BORGERTING_AUTH_ISSUERS='{"https://idp.example/realms/agency": "https://idp.example/.../certs"}'
    auth_issuers: dict[str, str] = {}
    auth_audience: str = "borgerting"
    auth_algorithms: list[str] = ["RS256", "PS256", "ES256", "EdDSA"]  # never "none", never HS*
    auth_leeway_seconds: int = 30
    auth_jwks_ttl_seconds: int = 600
    # The built-in development issuer (laptops, tests, the demo). Refused unless set; never in production.
    auth_dev_issuer: bool = False
    # Members log in with the one-time code of their selection letter; recruitment then signs a
    # member token as this issuer (its keys: recruitment's /.well-known/jwks.json).
    auth_member_issuer: str = "urn:borgerting:members"
    member_token_minutes: int = 12 * 60
    member_login_attempts_per_code: int = 10

    # The web pages (shared/ui). Staff sign in with OpenID Connect (authorization code + PKCE) at
    # this issuer (its /.well-known/openid-configuration); empty: the development issuer when it
    # is enabled and trusted, else staff sign-in is off.
    oidc_issuer: str = ""
    oidc_client_id: str = "borgerting-console"
    oidc_client_secret: str = ""  # empty: a public client (PKCE only)
    # The console's origin as browsers see it (https://console.example.org), for the OIDC redirect
    # URI; empty: taken from the proxy's X-Forwarded-Host/-Proto (the demo's proxy, the Ingress).
    public_url: str = ""
    # A browser session ends after this long without a request, and after the absolute limit.
    web_session_idle_minutes: int = Field(30, ge=1, le=24 * 60)
    web_session_absolute_hours: int = Field(12, ge=1, le=7 * 24)
    # The identity vault of recruitment (docs/privacy.md): key-encryption keys by key id, each the
    # base64 of 32 random bytes, BORGERTING_VAULT_KEYS='{"2026-12": "..."}', and the id that wraps
    # new data keys (empty: the last id in sort order). None: one key derived from the secret key.
    vault_keys: dict[str, str] = {}
    vault_key_id: str = ""
    # The vault's key store: the wrapped data keys live in a PostgreSQL database of their own, outside
    # the recruitment database's backups, so that deleting a key erases a person from every backup
    # of the recruitment database too (docs/privacy.md, "Backups"). Empty: the database
    # `recruitment_keys` on DATABASE_URL's server (laptops and tests only; required in production).
    # Its pool per process, and whether the URL is a PgBouncer in transaction mode.
    vault_database_url: str = ""
    vault_db_pool_size: int = Field(2, ge=1, le=50)
    vault_db_pgbouncer: bool = False
    # Retention of personal data (docs/privacy.md): everyone of an assembly's register extract who
    # is not on the panel is erased this many days after the draw (panel-drawn), the panel's
    # members this many days after the handover (the first report-published); the job runs every
    # retention_interval_seconds in recruitment's consumer, and as `borgerting privacy retention`.
    retention_unselected_days: int = Field(30, ge=0, le=3650)
    retention_member_days: int = Field(30, ge=0, le=3650)
    retention_interval_seconds: float = Field(3600, ge=1, le=7 * 86400)
    # Reporting: the published report hides counts of people in a group below this size (k-anonymity).
    report_min_group: int = Field(5, ge=1, le=100)
    # The evaluation pack: the authority's answers are due this many days after the handover.
    report_response_days: int = Field(90, ge=1, le=730)
    # How often reporting's consumer refreshes the business metrics from its read model (seconds).
    report_metrics_interval: float = Field(15.0, ge=1, le=3600)

    @model_validator(mode="after")
    def _production_needs_real_secrets(self) -> "Settings":
        if self.env == "production" and "create_topics" not in self.model_fields_set:
            self.create_topics = False
        if self.env == "production" and self.secret_key.startswith("development-only"):
            raise ValueError("BORGERTING_SECRET_KEY must be set to a long random value in production")
        if self.env == "production" and not self.auth_issuers:
            raise ValueError("BORGERTING_AUTH_ISSUERS must name the trusted token issuers in production")
        if self.env == "production" and self.auth_dev_issuer:
            raise ValueError("BORGERTING_AUTH_DEV_ISSUER must not be set in production")
        if bool(self.kafka_ssl_certfile) != bool(self.kafka_ssl_keyfile):
            raise ValueError("BORGERTING_KAFKA_SSL_CERTFILE and BORGERTING_KAFKA_SSL_KEYFILE go together (mutual TLS)")
        bad = sorted(set(self.auth_algorithms) - ALLOWED_ALGORITHMS)
        if bad:
            raise ValueError(f"BORGERTING_AUTH_ALGORITHMS may hold only {sorted(ALLOWED_ALGORITHMS)}, not {bad}")
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()


def child_env(*overrides: dict[str, str]) -> dict[str, str]:
    """The environment a child process (a service started by `borgerting demo`) is given: ours,
    with `overrides` applied in order."""
    env = dict(os.environ)
    for o in overrides:
        env.update(o)
    return env
