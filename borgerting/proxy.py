"""One origin for the browser on a laptop (`make demo KEEP=1`) and in the browser tests: a small
ASGI reverse proxy (httpx) that routes a path prefix to each service, as the Ingress does in
production (deploy/k8s/base/ingress-console.yaml):

    /recruitment/...  /sortition/...  /sessions/...  /voting/...  /reporting/...   -> that service
    /                                                                              -> /reporting/ (the console)

The prefix is stripped and passed on as X-Forwarded-Prefix, so that pages build their links with
it; X-Forwarded-For/-Proto/-Host say who asked. Bodies stream both ways.
"""

from __future__ import annotations

import threading
from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx
import uvicorn
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse

from shared.devstack import free_port, wait_for_port
from shared.settings import get_settings

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
              "transfer-encoding", "upgrade", "host", "content-length"}
CONSOLE = "/reporting/"


def no_cookie_jar() -> CookieJar:
    """A jar that keeps nothing: the proxy passes each browser's cookies through and must never
    remember one (an httpx client's jar would send one browser's session with everyone's requests)."""
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


class Proxy:
    def __init__(self, upstreams: dict[str, str]) -> None:
        """`upstreams`: service name -> its base URL (the prefix is /<name>)."""
        self.routes = {f"/{name}": url.rstrip("/") for name, url in upstreams.items()}
        # 300 s: publishing the report (four documents, two PDFs) may take minutes on a loaded machine.
        self.http = httpx.AsyncClient(timeout=httpx.Timeout(300, connect=5), follow_redirects=False,
                                      limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
                                      cookies=no_cookie_jar())

    def route(self, path: str) -> tuple[str, str, str] | None:
        for prefix, upstream in self.routes.items():
            if path == prefix or path.startswith(prefix + "/"):
                return prefix, upstream, path[len(prefix):] or "/"
        return None

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await self.http.aclose()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        found = self.route(request.url.path)
        if found is None:
            target = CONSOLE if request.url.path == "/" else None
            response = (RedirectResponse(target, status_code=307) if target else
                        Response("not found: the console is at /reporting/\n", status_code=404,
                                 media_type="text/plain"))
            await response(scope, receive, send)
            return
        prefix, upstream, path = found
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP
                   and not k.lower().startswith("x-forwarded-")]
        client = request.client.host if request.client else "unknown"
        headers += [("x-forwarded-prefix", prefix), ("x-forwarded-for", client),
                    ("x-forwarded-proto", request.url.scheme), ("x-forwarded-host", request.headers.get("host", ""))]
        url = upstream + path + (f"?{request.url.query}" if request.url.query else "")
        try:
            upstream_request = self.http.build_request(request.method, url, headers=headers,
                                                       content=request.stream())
            answer = await self.http.send(upstream_request, stream=True)
        except httpx.HTTPError:
            await Response(f"{prefix[1:]} is not answering; try again shortly\n", status_code=502,
                           media_type="text/plain", headers={"Retry-After": "5"})(scope, receive, send)
            return
        out_headers = [(k, v) for k, v in answer.headers.multi_items() if k.lower() not in HOP_BY_HOP]
        response = StreamingResponse(answer.aiter_raw(), status_code=answer.status_code,
                                     background=BackgroundTask(answer.aclose))
        response.raw_headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in out_headers]
        await response(scope, receive, send)


def serve_in_thread(upstreams: dict[str, str], host: str = "127.0.0.1", port: int | None = None) -> tuple[str, uvicorn.Server]:
    """Start the proxy on a free port in a daemon thread; returns its URL and server (set
    `should_exit` to stop it)."""
    port = port or free_port()
    # Idle connections are kept as long as the services keep theirs (shared/settings.py,
    # http_keep_alive_seconds): longer than a browser's or httpx's idle expiry.
    server = uvicorn.Server(uvicorn.Config(Proxy(upstreams), host=host, port=port, log_level="warning",
                                           access_log=False, lifespan="on",
                                           timeout_keep_alive=get_settings().http_keep_alive_seconds))
    threading.Thread(target=server.run, name="proxy", daemon=True).start()
    wait_for_port(port, 20, what="the one-origin proxy")
    return f"http://{host}:{port}", server
