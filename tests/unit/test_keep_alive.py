"""A service keeps an idle keep-alive connection open longer than its clients do (shared/runtime.py
uvicorn_config): a client that reuses a connection at the end of its own idle expiry (httpx: 5 s)
must find it open. With uvicorn's default (5 s, the same as httpx's) the server closed connections
just as the demo's client reused them, and under CPU load its POSTs failed with "Server disconnected"."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from shared.devstack import free_port, wait_for_port
from shared.runtime import uvicorn_config
from shared.settings import Settings

HTTPX_IDLE_EXPIRY = httpx.Limits().keepalive_expiry  # what the demo, the proxy and the services' clients use
INGRESS_NGINX_IDLE = 60  # ingress-nginx's upstream-keepalive-timeout (its default; not overridden in deploy/k8s)


def request(sock: socket.socket) -> bytes:
    """One GET on the open connection; the response's bytes, or b"" when the server had closed it."""
    sock.sendall(b"GET /ping HTTP/1.1\r\nhost: test\r\n\r\n")
    data = b""
    while not data.endswith(b"pong"):
        chunk = sock.recv(4096)
        if not chunk:
            return data
        data += chunk
    return data


def test_an_idle_connection_is_still_open_when_a_client_reuses_it_at_its_own_expiry():
    app = Starlette(routes=[Route("/ping", lambda request: PlainTextResponse("pong"))])
    settings = Settings(port=free_port())
    config = uvicorn_config(app, settings)
    assert config.timeout_keep_alive > max(HTTPX_IDLE_EXPIRY, INGRESS_NGINX_IDLE)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_for_port(settings.port, 20, what="the test server")
        with socket.create_connection(("127.0.0.1", settings.port), timeout=10) as sock:
            assert request(sock).startswith(b"HTTP/1.1 200")
            # a moment past the client's expiry: a slow client (a loaded machine) still reuses it
            time.sleep(HTTPX_IDLE_EXPIRY + 0.5)
            assert request(sock).startswith(b"HTTP/1.1 200"), "the server closed an idle connection a client reuses"
    finally:
        server.should_exit = True
        thread.join(15)
