"""One error shape for every 4xx/5xx of every service:

    {"error": {"status": 404, "code": "not_found", "message": "...", "details": [...], "request_id": "..."}}

Domain code, handlers and views raise `shared.problems.DomainError`s (a stable code, no HTTP
status); this module maps their kind to a status, once (`STATUS`). `ApiError` is for what is HTTP
and nothing else: authentication, rate limits, media types, sizes. Unexpected exceptions become a
500 with the same shape and no stack trace (the trace goes to the log).
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.problems import DomainError

# The one map from a domain error's kind to an HTTP status.
STATUS = {"bad_request": 400, "invalid_input": 422, "forbidden": 403, "not_found": 404, "conflict": 409}

_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


class ApiError(Exception):
    """An HTTP-level refusal (401, 413, 415, 429, 503, ...): raised by routes and shared/auth only."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or _CODES.get(status, "error")
        self.details = details or []
        self.headers = headers


def status_of(exc: ApiError | DomainError) -> int:
    return exc.status if isinstance(exc, ApiError) else STATUS[exc.kind]


def error_body(status: int, code: str, message: str, details: list | None, request: Request) -> dict:
    return {
        "error": {
            "status": status,
            "code": code,
            "message": message,
            "details": details or [],
            "request_id": getattr(request.state, "request_id", None),
        }
    }


def respond(request: Request, body: dict, status: int, headers: dict | None = None):
    """The error as JSON, or, on a page (shared/ui: the page policy marks the request), as the
    page the service's design system renders for it (`app.state.error_page`)."""
    page = getattr(request.app.state, "error_page", None)
    if page is not None and getattr(request.state, "page", False):
        return page(request, body["error"], status, headers)
    return JSONResponse(body, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return respond(request, error_body(exc.status, exc.code, exc.message, exc.details, request), exc.status,
                       exc.headers)

    @app.exception_handler(DomainError)
    async def _domain_error(request: Request, exc: DomainError) -> JSONResponse:
        status = STATUS[exc.kind]
        return respond(request, error_body(status, exc.code, exc.message, exc.details, request), status)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "request refused"
        if exc.status_code == 404 and message == "Not Found":
            message = f"no route {request.method} {request.url.path}"
        elif exc.status_code == 400 and message == "There was an error parsing the body":  # FastAPI's words
            message = ("the body cannot be read: send UTF-8 JSON (Content-Type: application/json), nested at most "
                       "a few hundred levels deep, with numbers of at most 4300 digits")
        return respond(request, error_body(exc.status_code, _CODES.get(exc.status_code, "error"), message, None, request),
                       exc.status_code, getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
            details.append({"field": loc or "body", "problem": err.get("msg", "invalid")})
        summary = "; ".join(f"{d['field']}: {d['problem']}" for d in details[:5])
        return respond(request, error_body(422, "invalid_input", f"invalid input — {summary}", details, request), 422)

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    @app.exception_handler(RedisConnectionError)
    @app.exception_handler(RedisTimeoutError)  # a hung cache: not a ConnectionError in redis-py
    @app.exception_handler(ConnectionError)
    @app.exception_handler(TimeoutError)
    async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
        structlog.get_logger().warning("dependency unavailable", error=type(exc).__name__)
        return respond(request, error_body(503, "unavailable",
                                           "a service this request needs is unavailable right now; try again shortly",
                                           None, request), 503, {"Retry-After": "5"})

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        structlog.get_logger().error("unhandled error", exc_info=exc)
        return JSONResponse(
            error_body(500, "internal_error", "internal error; the request id identifies it in the logs", None, request),
            status_code=500,
        )
