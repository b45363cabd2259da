"""structlog: JSON lines with the request id, correlation id and event id bound per request/message.

No personal data goes into a log line: bind ids, never names, addresses or answers. Exceptions are
logged by type, SQLSTATE and stack frames only: their messages can quote data (a database error
quotes the statement's values, a unique violation the duplicate key), so `redact_exceptions`
drops them, for structlog's lines and for the standard library's (uvicorn, asyncio, SQLAlchemy).
"""

from __future__ import annotations

import logging
import sys
import traceback

import structlog


def describe(exc: BaseException) -> str:
    """An exception as a log may show it: its type and, for a database error, its SQLSTATE."""
    name = f"{type(exc).__module__}.{type(exc).__qualname__}"
    state = _sqlstate(exc)
    return f"{name} (SQLSTATE {state})" if state else name


def _sqlstate(exc: BaseException) -> str | None:
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        for attr in ("sqlstate", "pgcode"):
            value = getattr(e, attr, None)
            if isinstance(value, str) and value:
                return value
        e = getattr(e, "orig", None) or e.__cause__
    return None


def redacted_trace(exc: BaseException) -> str:
    """Like `traceback.format_exception`, with every message (also of causes) left out."""
    chain: list[tuple[BaseException, str]] = []
    seen: set[int] = set()
    e: BaseException | None = exc
    link = ""
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        chain.append((e, link))
        if e.__cause__ is not None:
            e, link = e.__cause__, "\nThe above exception was the direct cause of the following exception:\n\n"
        elif e.__context__ is not None and not e.__suppress_context__:
            e, link = e.__context__, "\nDuring handling of the above exception, another exception occurred:\n\n"
        else:
            e = None
    out = []
    for e, link_after in reversed(chain):
        out.append("Traceback (most recent call last):\n" + "".join(traceback.format_tb(e.__traceback__))
                   + f"{describe(e)}: [message redacted: it may hold personal data]\n" + link_after)
    return "".join(out)


def _exception_of(exc_info) -> BaseException | None:
    if isinstance(exc_info, BaseException):
        return exc_info
    if isinstance(exc_info, tuple):
        return exc_info[1]
    if exc_info:
        return sys.exc_info()[1]
    return None


def redact_exceptions(logger, method: str, event_dict: dict) -> dict:
    """structlog processor (in place of `format_exc_info`): the trace without messages, and any
    exception passed as a value (`error=exc`) by its type only."""
    exc = _exception_of(event_dict.pop("exc_info", None))
    if exc is not None:
        event_dict["exception"] = redacted_trace(exc)
    for key, value in event_dict.items():
        if isinstance(value, BaseException):
            event_dict[key] = describe(value)
    return event_dict


class RedactingFormatter(logging.Formatter):
    """For the standard library's loggers (uvicorn's "Exception in ASGI application", asyncio)."""

    def formatException(self, ei) -> str:  # noqa: N802 (logging's name)
        exc = _exception_of(ei)
        return redacted_trace(exc).rstrip("\n") if exc is not None else ""


def processors(json: bool = True) -> list:
    renderer = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_exceptions,
        renderer,
    ]


def configure_logging(service: str, *, json: bool = True, level: str = "INFO") -> None:
    logging.basicConfig(format="%(message)s", stream=sys.stderr, level=getattr(logging, level.upper(), 20))
    for handler in logging.getLogger().handlers:
        handler.setFormatter(RedactingFormatter("%(message)s"))
    for noisy in ("aiokafka", "uvicorn.access", "kafka"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    structlog.configure(
        processors=processors(json),
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level.upper(), 20)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(service=service)


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name)
