"""One service = one `ServiceSpec`; this module turns it into processes:

    python -m services.<name>.app migrate     # Alembic upgrade of the service's own schema
    python -m services.<name>.app api         # the HTTP API (FastAPI/uvicorn)
    python -m services.<name>.app consumer    # the Kafka consumer (+ /healthz /readyz /metrics)
    python -m services.<name>.app relay       # the outbox relay (+ /healthz /readyz /metrics)
    python -m services.<name>.app all         # all three in one process (laptop, demo, tests)
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, AsyncIterator, Awaitable, Callable, Generic, TypeVar

from aiokafka.errors import KafkaError
import sqlalchemy as sa
import structlog
import uvicorn
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.staticfiles import StaticFiles
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from shared.audit import export as audit_export
from shared.auth import AUDITOR, ORGANISER, Principal, allow, check_routes
from shared.auth.dev_issuer import refuse_unless_enabled
from shared.auth.sessions import SessionStore
from shared.auth.tokens import TokenVerifier
from shared.bus.consumer import Consumer, Handler
from shared.bus.kafka import all_topics, ensure_topics, kafka_security, make_consumer, make_producer
from shared.bus.outbox import transaction
from shared.bus.relay import Relay
from shared.db import make_engine, make_sessionmaker
from shared.log import configure_logging
from shared.migrations import upgrade
from shared.redis import RateLimiter, make_redis
from shared.settings import Settings, get_settings
from shared.web import create_app

log = structlog.get_logger()

ROLES = ("api", "consumer", "relay", "all", "migrate")
API_ROLES = frozenset({"api", "all"})  # the processes that serve HTTP
READY_CHECKS = {"api": ("database",), "consumer": ("database", "broker"), "relay": ("database", "broker"),
                "all": ("database", "broker", "cache")}

T = TypeVar("T")


@dataclass(frozen=True, eq=False)
class Resource(Generic[T]):
    """Something a process makes once and shares (a dedicated connection, a job worker): made
    from the runtime on first use (`rt.use(RESOURCE)`), closed with the runtime."""

    name: str
    make: Callable[["Runtime"], T]
    close: Callable[[T], Awaitable[None]] | None = None


@dataclass(frozen=True)
class Worker:
    """A background task of a process: runs until `stop` is set; if it dies, the process exits
    (status 3) so that its supervisor restarts it."""

    name: str
    run: Callable[["Runtime", asyncio.Event], Awaitable[None]]
    roles: frozenset[str] = API_ROLES  # the process roles that run it


ExceptionHandler = Callable[[Request, Any], Awaitable[Any]]


@dataclass
class ServiceSpec:
    """Everything a service's processes need, declared in one place (services/<name>/app.py)."""

    name: str
    title: str
    metadata: sa.MetaData
    outbox: sa.Table
    inbox: sa.Table
    migrations_dir: Path
    routers: list[APIRouter] = field(default_factory=list)
    # Routes put on the app itself before every other route: a hot path that FastAPI should
    # match first and without an included router's extra layers (voting's ballot box).
    priority_routers: list[APIRouter] = field(default_factory=list)
    handlers: dict[str, Handler] = field(default_factory=dict)  # topic -> handler
    workers: list[Worker] = field(default_factory=list)  # besides the consumer and the relay
    resources: list[Resource] = field(default_factory=list)
    # Beyond shared/errors.py's (domain errors, validation, unavailable dependencies): rarely needed.
    exception_handlers: dict[type[Exception], ExceptionHandler] = field(default_factory=dict)
    static: dict[str, Path] = field(default_factory=dict)  # URL prefix -> directory served as is
    # The service's pages (shared/ui): its Jinja2 templates beside the shared layout, the shared
    # assets under /ui-static and errors on pages rendered as pages. None: an API only.
    pages: Any = None
    # Keys of issuers this service signs for itself (recruitment: the members' issuer).
    own_jwks: Callable[[Settings], dict[str, dict]] | None = None

    @property
    def audit(self) -> sa.Table | None:
        return self.metadata.tables.get(f"{self.metadata.schema}.audit")


class Runtime:
    """What a request or a message handler can reach: settings, database, cache."""

    def __init__(self, spec: ServiceSpec, settings: Settings) -> None:
        self.spec = spec
        self.settings = settings
        self.engine: AsyncEngine = make_engine(settings.database_url, pool_size=settings.db_pool_size,
                                               max_overflow=settings.db_max_overflow, pgbouncer=settings.db_pgbouncer)
        self.sessionmaker: async_sessionmaker = make_sessionmaker(self.engine)
        self.redis = make_redis(settings.redis_url, settings.redis_timeout_seconds)
        self.limiter = RateLimiter(self.redis, f"borgerting:{spec.name}")
        self.web_sessions = SessionStore(self.redis, idle=settings.web_session_idle_minutes * 60,
                                         absolute=settings.web_session_absolute_hours * 3600)
        refuse_unless_enabled(settings.auth_issuers, settings.auth_dev_issuer)
        self.auth = TokenVerifier(settings.auth_issuers, audience=settings.auth_audience,
                                  algorithms=settings.auth_algorithms, leeway=settings.auth_leeway_seconds,
                                  ttl=settings.auth_jwks_ttl_seconds, member_issuer=settings.auth_member_issuer,
                                  static_jwks=spec.own_jwks(settings) if spec.own_jwks else None)

        # Closed with the runtime (app shutdown): what a service opened beside the engine's pool.
        self.closers: list[Callable[[], Awaitable[None]]] = []
        self._resources: dict[Resource, Any] = {}

    def use(self, resource: Resource[T]) -> T:
        """The process's one instance of a resource its ServiceSpec declares (made on first use)."""
        try:
            return self._resources[resource]
        except KeyError:
            pass
        if resource not in self.spec.resources:
            raise LookupError(f"{resource.name} is not among the resources of {self.spec.name}'s ServiceSpec")
        made = self._resources[resource] = resource.make(self)
        if resource.close is not None:
            close = resource.close
            self.closers.append(lambda: close(made))
        return made

    def transaction(self):
        return transaction(self.sessionmaker, self.spec.outbox, self.spec.audit)

    async def close(self) -> None:
        for close in self.closers:
            await close()
        await self.redis.aclose()
        await self.engine.dispose()

    # readiness checks
    async def check_db(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))

    async def check_cache(self) -> None:
        await self.redis.ping()

    async def check_broker(self) -> None:
        host, _, port = self.settings.kafka_bootstrap_servers.split(",")[0].rpartition(":")
        _, writer = await asyncio.open_connection(host or "127.0.0.1", int(port))
        writer.close()
        await writer.wait_closed()

    def checks(self, role: str = "all") -> dict:
        """What /readyz of a role checks: only what that role cannot work without. The api needs its
        database — not Kafka (it writes the outbox, which exists so that writes go on while the broker
        is down) and not Valkey (a request that needs the cache answers 503 by itself); an unready
        api would empty the Ingress for every route. Consumers and relays need the broker too."""
        every = {"database": self.check_db, "broker": self.check_broker, "cache": self.check_cache}
        return {name: every[name] for name in READY_CHECKS.get(role, tuple(every))}


async def get_runtime(request: Request) -> Runtime:
    # async on purpose: FastAPI runs a plain `def` dependency in a worker thread, on every request
    return request.app.state.rt


# What a route declares to reach the runtime: `async def route(..., rt: RuntimeDep)`.
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def _ensure_topics(s: Settings) -> None:
    if s.create_topics:
        await ensure_topics(s.kafka_bootstrap_servers, all_topics(), s.topic_partitions, s.topic_replication,
                            **kafka_security(s))


async def _run_consumer(rt: Runtime, stop: asyncio.Event) -> None:
    s = rt.settings
    spec = rt.spec
    if not spec.handlers:
        await stop.wait()
        return
    await _ensure_topics(s)
    kc = make_consumer(s.kafka_bootstrap_servers, spec.name, sorted(spec.handlers), s.consumer_session_timeout_ms,
                       **kafka_security(s))
    dlq = make_producer(s.kafka_bootstrap_servers, f"{spec.name}-dlq", **kafka_security(s))
    await dlq.start()
    await kc.start()
    try:
        consumer = Consumer(spec.name, rt.sessionmaker, spec.outbox, spec.inbox, spec.handlers, kc, dlq,
                            max_attempts=s.consumer_max_attempts, audit=spec.audit)
        log.info("consumer started", topics=len(spec.handlers))
        if s.inbox_retention_hours:  # 0: never (settings.py says when pruning is safe)
            pruned = await consumer.prune_inbox(s.inbox_retention_hours)
            if pruned:
                log.info("inbox pruned", rows=pruned)
        await consumer.run(stop)
    finally:
        await kc.stop()
        await dlq.stop()


async def _run_relay(rt: Runtime, stop: asyncio.Event) -> None:
    s = rt.settings
    relay = Relay(rt.spec.name, rt.sessionmaker, rt.spec.outbox, None, batch_size=s.relay_batch_size,
                  idle_seconds=s.relay_idle_seconds, retention_hours=s.outbox_retention_hours)
    # Wait for the broker instead of dying: the relay stays up (unready), and its backlog gauge keeps
    # telling how many events wait while Kafka is away.
    while True:
        producer = make_producer(s.kafka_bootstrap_servers, f"{rt.spec.name}-relay", **kafka_security(s))
        try:
            await _ensure_topics(s)
            await producer.start()
            break
        except KafkaError:
            await producer.stop()
            log.warning("broker unreachable; the relay waits")
            await relay.measure_backlog()
            try:
                await asyncio.wait_for(stop.wait(), timeout=2.0)
                return
            except asyncio.TimeoutError:
                pass
    relay.producer = producer
    try:
        log.info("relay started")
        await relay.run(stop)
    finally:
        await producer.stop()


DELIVERY_WORKERS = [Worker("consumer", _run_consumer, frozenset({"consumer", "all"})),
                    Worker("relay", _run_relay, frozenset({"relay", "all"}))]


def build_app(spec: ServiceSpec, role: str, settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    rt = Runtime(spec, settings)
    workers = [w for w in (*DELIVERY_WORKERS, *spec.workers) if role in w.roles]

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # What start-up made (modules, routes, models, the app) lives as long as the process:
        # freeze it out of the cyclic garbage collector, whose collections would otherwise walk it
        # again and again under load (a quarter of the ballot box's CPU, measured). And collect
        # the young generation every 50,000 container allocations instead of every 700: a request
        # frees nearly all it allocates by reference counting, and under load the collector's
        # frequent runs promoted the objects of requests in flight, only to walk them again.
        gc.collect()
        gc.freeze()
        gc.set_threshold(50_000, 20, 10)
        stop = asyncio.Event()
        tasks = [asyncio.create_task(w.run(rt, stop), name=w.name) for w in workers]

        def _crash(task: asyncio.Task) -> None:
            if not task.cancelled() and task.exception() is not None:
                log.error("worker died; exiting so the supervisor restarts us", worker=task.get_name(),
                          error=repr(task.exception()))
                sys.stderr.flush()
                os._exit(3)

        for t in tasks:
            t.add_done_callback(_crash)
        try:
            yield
        finally:
            stop.set()
            for t in tasks:
                t.remove_done_callback(_crash)
            await asyncio.wait(tasks, timeout=10) if tasks else None
            for t in tasks:
                t.cancel()
            await rt.close()

    app = create_app(spec.name, title=f"{spec.title} ({role})", checks=rt.checks(role), lifespan=lifespan)
    app.state.rt = rt
    app.state.auth = rt.auth
    for exc_type, handler in spec.exception_handlers.items():
        app.add_exception_handler(exc_type, handler)
    if role in API_ROLES:
        for router in spec.routers:
            app.include_router(router)
        if spec.audit is not None:
            app.include_router(audit_router(spec))
        # A hot path is matched first (under load nearly every request of voting is a vote, and
        # FastAPI matches the routes of an included router through extra layers, twice per request).
        app.router.routes[:0] = [r for router in spec.priority_routers for r in router.routes]
        for prefix, directory in spec.static.items():
            app.mount(prefix, StaticFiles(directory=str(directory)), name=prefix.strip("/"))
        if spec.pages is not None:
            spec.pages.install(app)
    check_routes(app)
    return app


def audit_router(spec: ServiceSpec) -> APIRouter:
    router = APIRouter(tags=["audit"])

    @router.get("/assemblies/{assembly_id}/audit", summary=f"Export {spec.name}'s audit trail of one assembly",
                description="Verify it with `borgerting audit verify EXPORT`.")
    async def export_audit(assembly_id: uuid.UUID, rt: RuntimeDep,
                           who: Principal = Depends(allow(AUDITOR, ORGANISER))) -> dict:
        async with rt.transaction() as tx:
            return await audit_export(tx.session, spec.audit, spec.name, assembly_id)

    return router


def main(spec: ServiceSpec, argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    role = argv[0] if argv else "all"
    if role not in ROLES:
        sys.exit(f"usage: python -m services.{spec.name}.app [{'|'.join(ROLES)}]")
    settings = get_settings()
    configure_logging(spec.name, json=settings.log_json, level=settings.log_level)
    structlog.contextvars.bind_contextvars(role=role)
    if role == "migrate":
        upgrade(spec.migrations_dir, settings.database_url)
        log.info("migrated")
        return
    uvicorn.Server(uvicorn_config(build_app(spec, role, settings), settings)).run()


def uvicorn_config(app: FastAPI, settings: Settings) -> uvicorn.Config:
    """How every process serves HTTP. X-Forwarded-For/-Proto are believed only from the proxies
    named in BORGERTING_TRUSTED_PROXIES (uvicorn's own default trusts 127.0.0.1, so anything on
    the host could forge a client address and step around the per-address rate limits). An idle
    keep-alive connection is kept longer than any client's or proxy's idle expiry
    (`http_keep_alive_seconds`), so that the server never closes one a client is about to reuse."""
    proxies = settings.trusted_proxies.strip()
    return uvicorn.Config(app, host=settings.host, port=settings.port, log_config=None, access_log=False,
                          lifespan="on", timeout_graceful_shutdown=10,
                          timeout_keep_alive=settings.http_keep_alive_seconds,
                          proxy_headers=bool(proxies), forwarded_allow_ips=proxies or None)
