"""Start the whole system on one machine: the embedded stack, each service's migrations, and the
five services as separate processes (role `all`: API + consumer + relay) on free ports.

Used by `make demo` and by the end-to-end tests. Service logs go to <state>/logs/<service>.log.
"""

from __future__ import annotations

import importlib
import json
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from shared.auth.dev_issuer import DevIssuer
from shared.devstack import DevStack, free_port
from shared.migrations import upgrade
from shared.settings import child_env, get_settings

SERVICES = ("recruitment", "sortition", "sessions", "voting", "reporting")


@dataclass
class Cluster:
    state_dir: Path
    fast: bool = False
    extra_env: dict[str, str] = field(default_factory=dict)
    stack_env: dict[str, str] | None = None  # an already running stack (tests); else one is started
    stack: DevStack | None = None
    issuer: DevIssuer | None = None  # the development token issuer the services trust; else one is started
    env: dict[str, str] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    exits: dict[str, list[float]] = field(default_factory=dict)  # when each service was found dead (`check`)
    ports: dict[str, int] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)
    proxy: bool = False  # serve the five behind one origin (borgerting/proxy.py) at `origin`
    origin: str | None = None
    _proxy_server: object = None

    def start(self, progress=lambda msg: None) -> dict[str, str]:
        self.state_dir = self.state_dir.resolve()
        (self.state_dir / "logs").mkdir(parents=True, exist_ok=True)
        if self.stack_env is None:
            progress("starting PostgreSQL, Valkey and the Tansu broker")
            self.stack = DevStack(self.state_dir / "stack", fast=self.fast)
            stack_env = self.stack.start()
        else:
            stack_env = self.stack_env
        if self.issuer is None:
            self.issuer = DevIssuer(self.state_dir / "dev-issuer.pem").serve_in_thread()
            self._own_issuer = True
        # Services trust the development issuer (staff tokens) and recruitment's members' issuer.
        self.ports = {name: free_port() for name in SERVICES}
        member_issuer = get_settings().auth_member_issuer
        issuers = {self.issuer.issuer: self.issuer.jwks_url,
                   member_issuer: f"http://127.0.0.1:{self.ports['recruitment']}/.well-known/jwks.json"}
        self.env = child_env(stack_env, {"BORGERTING_LOG_JSON": "true", "BORGERTING_AUTH_DEV_ISSUER": "true",
                                         "BORGERTING_AUTH_ISSUERS": json.dumps(issuers),
                                         "BORGERTING_OIDC_ISSUER": self.issuer.issuer}, self.extra_env)
        try:
            progress("migrating the five schemas")
            self.migrate()
            progress("starting the five services")
            for name in SERVICES:
                self.start_service(name)
            self.wait_ready()
            if self.proxy:
                from borgerting.proxy import serve_in_thread

                self.origin, self._proxy_server = serve_in_thread(self.urls)
        except BaseException:
            self.stop()
            raise
        return self.urls

    def migrate(self) -> None:
        """Each service's Alembic migrations, in this process (one import instead of five)."""
        for name in SERVICES:
            spec = importlib.import_module(f"services.{name}.app").SPEC
            upgrade(spec.migrations_dir, self.env["DATABASE_URL"])

    def start_service(self, name: str, env: dict[str, str] | None = None, role: str = "all") -> str:
        port = self.ports.get(name) or free_port()  # a restarted service keeps its address
        self.ports[name] = port
        log = open(self.state_dir / "logs" / f"{name}.log", "ab")
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", f"services.{name}.app", role],
            env={**self.env, "BORGERTING_PORT": str(port), **(env or {})},
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.urls[name] = f"http://127.0.0.1:{port}"
        return self.urls[name]

    def wait_ready(self, names=SERVICES, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        for name in names:
            while True:
                proc = self.procs[name]
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with code {proc.returncode}; see {self.state_dir}/logs/{name}.log")
                try:
                    if httpx.get(self.urls[name] + "/readyz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} not ready after {timeout:.0f} s; see {self.state_dir}/logs/{name}.log")
                time.sleep(0.2)

    def memory_mib(self) -> dict[str, float]:
        """Resident memory of each service process (MiB)."""
        import psutil

        return {name: round(psutil.Process(p.pid).memory_info().rss / 2**20, 1)
                for name, p in self.procs.items() if p.poll() is None}

    def stop_service(self, name: str, sig: int = signal.SIGTERM) -> None:
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(sig)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def check(self, *, max_restarts: int = 3, window: float = 300) -> list[str]:
        """What a supervisor does (docs/architecture.md, "Processes"): restart every service whose
        process has exited (a crash, a kill, a worker that died) and return messages saying so.
        A service that died more than `max_restarts` times within `window` seconds is not
        restarted again: RuntimeError says which, how it exited and where its log is."""
        messages = []
        now = time.monotonic()
        for name, proc in list(self.procs.items()):
            if proc.poll() is None:
                continue
            code = proc.returncode
            how = f"killed by signal {-code}" if code < 0 else f"exited with code {code}"
            deaths = [t for t in self.exits.get(name, []) if now - t < window] + [now]
            self.exits[name] = deaths
            log = self.state_dir / "logs" / f"{name}.log"
            if len(deaths) > max_restarts:
                raise RuntimeError(f"{name} {how}, death number {len(deaths)} within {window:.0f} s; "
                                   f"not restarting it again. See {log}")
            self.start_service(name)
            messages.append(f"{name} {how}; restarted it (see {log})")
        return messages

    def stop(self) -> None:
        if self._proxy_server is not None:
            self._proxy_server.should_exit = True
            self._proxy_server = None
        for name in list(self.procs):
            self.stop_service(name)
        if self.stack is not None:
            self.stack.stop()
        if getattr(self, "_own_issuer", False) and self.issuer is not None:
            self.issuer.stop()

    def __enter__(self) -> "Cluster":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
