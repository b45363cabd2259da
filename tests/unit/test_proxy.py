"""The one-origin proxy (borgerting/proxy.py) in front of a stand-in upstream, in-process: prefixes
route and are stripped and forwarded, / goes to the console, and no browser's cookie is ever
remembered and sent with another browser's request."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from borgerting.proxy import Proxy


async def echo(request: Request) -> JSONResponse:
    response = JSONResponse({"path": request.url.path, "query": request.url.query,
                             "prefix": request.headers.get("x-forwarded-prefix"),
                             "cookie": request.headers.get("cookie")})
    if request.url.path == "/signin":
        response.set_cookie("borgerting_session", "alice", httponly=True)
    return response


async def test_prefixes_route_and_no_cookie_crosses_between_browsers():
    upstream = Starlette(routes=[Route("/{path:path}", echo, methods=["GET", "POST"])])
    proxy = Proxy({"reporting": "http://upstream", "voting": "http://upstream"})
    proxy.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=upstream), cookies=proxy.http.cookies.jar)
    transport = httpx.ASGITransport(app=proxy)
    async with httpx.AsyncClient(transport=transport, base_url="http://origin") as alice, \
            httpx.AsyncClient(transport=transport, base_url="http://origin") as bob:
        r = await alice.get("/reporting/signin?next=/x")
        assert r.json() == {"path": "/signin", "query": "next=/x", "prefix": "/reporting", "cookie": None}
        assert alice.cookies["borgerting_session"] == "alice"
        assert (await alice.get("/voting/ballots/1/page")).json()["cookie"] == "borgerting_session=alice"
        assert (await bob.get("/reporting/")).json()["cookie"] is None  # never Alice's session
        r = await bob.get("/")
        assert r.status_code == 307 and r.headers["location"] == "/reporting/"
        assert (await bob.get("/elsewhere")).status_code == 404
        # a forged prefix header from the browser is replaced
        r = await bob.get("/voting/x", headers={"x-forwarded-prefix": "/evil"})
        assert r.json()["prefix"] == "/voting"
