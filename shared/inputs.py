"""Control characters are refused in every text input of every service, in one place, before a
route sees the request: a NUL cannot be stored by PostgreSQL (its error would quote the values),
and no name, title or CSV cell has a use for the others.

Refused: C0 controls, DEL, C1 controls and lone surrogates. Allowed in bodies (JSON, forms, CSV),
where text may run over several lines: tab, line feed and carriage return; never in a path or a
query string. The answer is a 422 in the usual error shape naming the field (or CSV line).

The check is cheap for honest requests: a body is scanned with one regular expression over its
bytes (JSON escapes included) and parsed again only when that finds a candidate. A text body (a
register extract or a pool's CSV, up to a GiB) is scanned chunk by chunk as it arrives and kept
in a temporary file beyond a few MiB, then handed to the route from there: memory stays flat
whatever its size.
"""

from __future__ import annotations

import json
import re
import tempfile
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse

from shared.errors import error_body

_TEXT_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")  # bodies: \t \n \r allowed
_LINE_BAD = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")  # path and query string
# In raw UTF-8: C0 but tab/LF/CR, DEL, and C1 (U+0080..U+009F = C2 80..C2 9F).
_RAW_BAD = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\xc2[\x80-\x9f]")
# JSON escapes that may decode to a refused character: confirmed by parsing (an escaped
# backslash, or a surrogate pair such as an emoji's, is a false candidate).
_JSON_CANDIDATE = re.compile(rb"\\u00(?:[01][0-9a-fA-F]|7[fF]|[89][0-9a-fA-F])|\\u[dD][89a-fA-F]")
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


class ControlCharacter(ValueError):
    def __init__(self, field: str, char: str) -> None:
        self.field = field
        super().__init__(f"{field} contains the control character U+{ord(char):04X}; remove it")


def check_text(value: str, field: str, *, multiline: bool = True) -> None:
    m = (_TEXT_BAD if multiline else _LINE_BAD).search(value)
    if m:
        raise ControlCharacter(field, m.group())


def _walk(value: Any, path: str) -> None:
    if isinstance(value, str):
        check_text(value, path or "body")
    elif isinstance(value, dict):
        for k, v in value.items():
            check_text(k, f"{path}.{k!r}" if path else repr(k), multiline=False)
            _walk(v, f"{path}.{k}" if path else k)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _walk(v, f"{path}[{i}]" if path else f"[{i}]")


def check_json(body: bytes) -> None:
    if _RAW_BAD.search(body) is None and _JSON_CANDIDATE.search(body) is None:
        return
    try:
        _walk(json.loads(body), "")
    except ValueError as exc:
        if isinstance(exc, ControlCharacter):
            raise
        # not JSON: FastAPI answers that; a raw control byte inside a string is a decode error there


def _raw_character(found: bytes) -> str:
    return found.decode("utf-8", "replace") if len(found) > 1 else chr(found[0])


def check_csv(body: bytes) -> None:
    CsvScan().feed(body)


class CsvScan:
    """A text body's check, fed chunk by chunk: a C1 control split across two chunks (its UTF-8
    bytes C2 8x) is still found, and the line is counted across chunks."""

    def __init__(self) -> None:
        self.lines = 0  # newlines before `tail`
        self.tail = b""  # the last byte seen: the first half of a two-byte character, perhaps

    def feed(self, chunk: bytes) -> None:
        buf = self.tail + chunk
        m = _RAW_BAD.search(buf)
        if m:
            line = self.lines + buf.count(NEWLINE, 0, m.start()) + 1
            raise ControlCharacter(f"line {line}", _raw_character(m.group()))
        self.lines += buf.count(NEWLINE, 0, max(0, len(buf) - 1))
        self.tail = buf[-1:]


SPOOL_MEMORY = 4 * 2**20  # a text body beyond this waits on disk
REPLAY_CHUNK = 2**20
NEWLINE = b"\n"


def check_query(query: str) -> None:
    for key, value in parse_qsl(query, keep_blank_values=True):
        check_text(key, "query parameter name", multiline=False)
        check_text(value, f"query parameter {key}", multiline=False)


async def check_form(scope, body: bytes) -> None:
    sent = False

    async def replay():
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(scope, replay).form()
    except Exception:  # noqa: BLE001 - a malformed form is the route's to refuse
        return
    try:
        for key, value in form.multi_items():
            check_text(key, "form field name", multiline=False)
            if isinstance(value, str):
                check_text(value, key)
    finally:
        await form.close()


class RefuseControlCharacters:
    """Plain ASGI middleware: checks the path, the query string and JSON, form and text bodies."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            check_text(scope.get("path", ""), "path", multiline=False)
            check_query(scope.get("query_string", b"").decode("latin-1"))
        except ControlCharacter as exc:
            await self._refuse(scope, receive, send, exc)
            return
        ctype = ""
        for name, value in scope.get("headers") or ():
            if name == b"content-type":
                ctype = value.decode("latin-1").split(";")[0].strip().lower()
        kind = ("json" if ctype == "application/json" or ctype.endswith("+json") else
                "form" if ctype in _FORMS else "text" if ctype.startswith("text/") else None)
        if kind is None:
            await self.app(scope, receive, send)
            return
        if kind == "text":
            await self._text(scope, receive, send)
            return
        chunks, more, disconnect = [], True, None
        while more:
            message = await receive()
            if message["type"] != "http.request":
                disconnect = message
                break
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        try:
            if kind == "json":
                check_json(body)
            else:
                await check_form(scope, body)
        except ControlCharacter as exc:
            await self._refuse(scope, receive, send, exc)
            return
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return disconnect or {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _text(self, scope, receive, send) -> None:
        """A text body checked as it streams in and kept in a spooled file (memory up to
        SPOOL_MEMORY, then disk), then replayed to the route a MiB at a time."""
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY) as spool:
            scan, more, disconnect = CsvScan(), True, None
            try:
                while more:
                    message = await receive()
                    if message["type"] != "http.request":
                        disconnect = message
                        break
                    chunk = message.get("body", b"")
                    scan.feed(chunk)
                    spool.write(chunk)
                    more = message.get("more_body", False)
            except ControlCharacter as exc:
                await self._refuse(scope, receive, send, exc)
                return
            left = spool.tell()
            spool.seek(0)
            done = False

            async def replay():
                nonlocal left, done
                if done or disconnect is not None:  # handed over (or the client left): the connection's
                    return disconnect or await receive()
                chunk = spool.read(min(REPLAY_CHUNK, left))
                left -= len(chunk)
                done = left <= 0
                return {"type": "http.request", "body": chunk, "more_body": not done}

            await self.app(scope, replay, send)

    @staticmethod
    async def _refuse(scope, receive, send, exc: ControlCharacter) -> None:
        request = Request(scope, receive)
        body = error_body(422, "invalid_input", f"invalid input — {exc}",
                          [{"field": exc.field, "problem": str(exc)}], request)
        await JSONResponse(body, status_code=422)(scope, receive, send)
