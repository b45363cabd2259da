"""The control-character check on text bodies: chunk by chunk, spooled, replayed whole."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from shared import inputs
from shared.inputs import ControlCharacter, CsvScan, RefuseControlCharacters


def test_a_c1_control_split_across_two_chunks_is_found_on_its_line():
    scan = CsvScan()
    scan.feed(b"id,name\n1,\xc3\xa5se\n2,B\xc2")  # an honest two-byte character (å) passes
    with pytest.raises(ControlCharacter, match="line 3 contains the control character U\\+0085"):
        scan.feed(b"\x85ob\n")


def test_the_line_is_counted_across_chunks():
    scan = CsvScan()
    for chunk in (b"a\n", b"b\nc", b"\n", b"d,\x00e\n"):
        try:
            scan.feed(chunk)
        except ControlCharacter as exc:
            assert "line 4" in str(exc)
            return
    raise AssertionError("the NUL was not found")


async def _echo(request: Request) -> JSONResponse:
    size, chunks = 0, 0
    async for chunk in request.stream():
        size += len(chunk)
        chunks += 1 if chunk else 0
    return JSONResponse({"size": size, "chunks": chunks})


def _client(monkeypatch) -> TestClient:
    monkeypatch.setattr(inputs, "SPOOL_MEMORY", 1000)  # to disk beyond 1,000 bytes
    monkeypatch.setattr(inputs, "REPLAY_CHUNK", 4096)
    app = Starlette(routes=[Route("/csv", _echo, methods=["POST"])])
    app.add_middleware(RefuseControlCharacters)
    return TestClient(app)


def test_a_large_text_body_reaches_the_route_whole_in_chunks(monkeypatch):
    body = b"".join(b"%d,Person %d,Vej %d\n" % (i, i, i) for i in range(5000))
    with _client(monkeypatch) as client:
        r = client.post("/csv", content=iter([body[i:i + 777] for i in range(0, len(body), 777)]),
                        headers={"content-type": "text/csv"})
        assert r.status_code == 200 and r.json() == {"size": len(body), "chunks": -(-len(body) // 4096)}
        empty = client.post("/csv", content=b"", headers={"content-type": "text/csv"})
        assert empty.json() == {"size": 0, "chunks": 0}


def test_a_control_character_deep_in_a_large_body_is_refused_before_the_route(monkeypatch):
    body = b"a,b\n" * 3000 + b"c,\x1bd\n" + b"e,f\n" * 10
    with _client(monkeypatch) as client:
        r = client.post("/csv", content=iter([body[i:i + 500] for i in range(0, len(body), 500)]),
                        headers={"content-type": "text/csv"})
    assert r.status_code == 422 and "line 3001 contains the control character U+001B" in r.text
