"""FastAPI wiring shared by every process: request/correlation ids in the log context, HTTP
metrics, the error shape, and /healthz, /readyz, /metrics."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Awaitable, Callable

import structlog
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse

from shared.auth import PUBLIC, allow
from shared.errors import install_error_handlers
from shared.metrics import HTTP_LATENCY, HTTP_REQUESTS, render

ReadyCheck = Callable[[], Awaitable[None]]
log = structlog.get_logger()


def ops_router(checks: dict[str, ReadyCheck]) -> APIRouter:
    # Public here; the deployment keeps them off the public ingress (deploy/).
    router = APIRouter(tags=["operations"], dependencies=[Depends(allow(PUBLIC))])

    @router.get("/healthz", summary="Liveness: the process runs")
    async def healthz() -> dict:
        return {"status": "ok"}

    @router.get("/readyz", summary="Readiness: database, broker and cache reachable")
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


def create_app(service: str, *, title: str, checks: dict[str, ReadyCheck], lifespan=None) -> FastAPI:
    app = FastAPI(title=title, lifespan=lifespan, version="1.0")
    install_error_handlers(app)
    app.include_router(ops_router(checks))

    @app.middleware("http")
    async def context_and_metrics(request: Request, call_next):
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        correlation_id = request.headers.get("x-correlation-id") or request_id
        request.state.request_id = request_id
        structlog.contextvars.bind_contextvars(request_id=request_id, correlation_id=correlation_id)
        start = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
        finally:
            route = request.scope.get("route")
            template = getattr(route, "path", "unmatched")
            elapsed = time.perf_counter() - start
            HTTP_REQUESTS.labels(service, request.method, template, str(status)).inc()
            HTTP_LATENCY.labels(service, request.method, template).observe(elapsed)
            if template not in ("/metrics", "/healthz", "/readyz"):
                log.info("request", method=request.method, route=template, status=status, ms=round(elapsed * 1000, 1))
            structlog.contextvars.unbind_contextvars("request_id", "correlation_id")
        response.headers["x-request-id"] = request_id
        response.headers["x-correlation-id"] = correlation_id
        return response

    return app
