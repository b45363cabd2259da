"""FastAPI wiring shared by every process: request/correlation ids in the log context, HTTP
metrics, the error shape, and /healthz, /readyz, /metrics."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from typing import Awaitable, Callable

import structlog
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse

from shared.auth import PUBLIC, allow
from shared.errors import error_body, install_error_handlers
from shared.inputs import RefuseControlCharacters
from shared.metrics import HTTP_LATENCY, HTTP_REQUESTS, render
from shared.openapi import install as install_openapi

ReadyCheck = Callable[[], Awaitable[None]]
log = structlog.get_logger()
# Metric labels come from a closed set: an invented method is counted as "other" (each label
# value is a time series of its own).
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# A client's X-Request-ID / X-Correlation-ID is taken only when it looks like an id; otherwise we
# make our own (it is echoed in headers and written to every log line).
_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def _client_id(value: bytes | None) -> str | None:
    text = (value or b"").decode("latin-1")
    return text if _ID.match(text) else None


def ops_router(checks: dict[str, ReadyCheck]) -> APIRouter:
    # Public here; the deployment keeps them off the public ingress (deploy/).
    router = APIRouter(tags=["operations"], dependencies=[Depends(allow(PUBLIC))])

    @router.get("/healthz", summary="Liveness: the process runs")
    async def healthz() -> dict:
        return {"status": "ok"}

    @router.get("/readyz", summary="Readiness: what this role needs is reachable (database; broker for consumer and relay)")
    async def readyz() -> JSONResponse:
        results = {}
        for name, check in checks.items():
            try:
                await asyncio.wait_for(check(), timeout=3)
                results[name] = "ok"
            except Exception as exc:  # report, never raise
                results[name] = f"unreachable: {type(exc).__name__}"
        ok = all(v == "ok" for v in results.values())
        return JSONResponse({"status": "ready" if ok else "not ready", "checks": results}, status_code=200 if ok else 503)

    @router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
    async def metrics() -> Response:
        body, ctype = render()
        return Response(body, media_type=ctype)

    return router


class ContextAndMetrics:
    """Request and correlation ids (log context, `request.state.request_id`, response headers),
    HTTP metrics by route template, one log line per request. A plain ASGI middleware: Starlette's
    BaseHTTPMiddleware (`@app.middleware("http")`) runs every request through an extra task and
    memory streams, which cost more than many an endpoint does."""

    def __init__(self, app, service: str) -> None:
        self.app = app
        self.service = service
        self._metrics: dict[tuple[str, str, int], tuple] = {}  # (method, route, status) -> counter, histogram

    def _children(self, method: str, template: str, status: int) -> tuple:
        """The labelled metrics of one kind of request, looked up once (labels() takes a lock and
        builds a key on every call)."""
        key = (method, template, status)
        got = self._metrics.get(key)
        if got is None:
            got = self._metrics[key] = (HTTP_REQUESTS.labels(self.service, method, template, str(status)),
                                        HTTP_LATENCY.labels(self.service, method, template))
        return got

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or ())
        request_id = _client_id(headers.get(b"x-request-id")) or uuid.uuid4().hex
        correlation_id = _client_id(headers.get(b"x-correlation-id")) or request_id
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.bind_contextvars(request_id=request_id, correlation_id=correlation_id)
        start = time.perf_counter()
        status = 500
        started = False
        extra = [(b"x-request-id", request_id.encode("latin-1")), (b"x-correlation-id", correlation_id.encode("latin-1"))]

        async def send_with_ids(message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status, started = message["status"], True
                message = {**message, "headers": [*message.get("headers", ()), *extra]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_ids)
        except Exception as exc:
            # Answered here rather than by Starlette's ServerErrorMiddleware, which re-raises after
            # its 500, so that uvicorn then closes the connection and the client's next request
            # on it fails. The trace goes to the log (without messages: shared/log.py).
            log.error("unhandled error", exc_info=exc)
            if started:
                raise  # a half-sent response: only closing the connection tells the client
            body = error_body(500, "internal_error", "internal error; the request id identifies it in the logs",
                              None, Request(scope))
            await JSONResponse(body, status_code=500)(scope, receive, send_with_ids)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            elapsed = time.perf_counter() - start
            method = scope["method"] if scope["method"] in METHODS else "other"
            requests, latency = self._children(method, template, status)
            requests.inc()
            latency.observe(elapsed)
            if template not in ("/metrics", "/healthz", "/readyz"):
                log.info("request", method=method, route=template, status=status, ms=round(elapsed * 1000, 1))
            structlog.contextvars.unbind_contextvars("request_id", "correlation_id")


def create_app(service: str, *, title: str, checks: dict[str, ReadyCheck], lifespan=None) -> FastAPI:
    app = FastAPI(title=title, lifespan=lifespan, version="1.0")
    install_error_handlers(app)
    install_openapi(app)
    app.include_router(ops_router(checks))

    # add_middleware puts the last one outermost: ids and metrics wrap the input check.
    app.add_middleware(RefuseControlCharacters)
    app.add_middleware(ContextAndMetrics, service=service)

    return app
