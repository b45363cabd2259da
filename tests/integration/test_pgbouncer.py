"""The services behind PgBouncer in transaction mode (production's CNPG Pooler): with
BORGERTING_DB_PGBOUNCER the engine never meets a statement prepared in another transaction, and
without it the same load breaks — so the setting is needed and sufficient.

PgBouncer is Debian's package (`make tools` installs it as root, as in CI); the test skips and says
so where it is missing.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from shared.db import make_engine
from shared.devstack import free_port, wait_for_port

pytestmark = pytest.mark.integration
PGBOUNCER = shutil.which("pgbouncer") or ("/usr/sbin/pgbouncer" if os.path.exists("/usr/sbin/pgbouncer") else None)


@pytest.fixture
def pgbouncer_url(settings):
    if PGBOUNCER is None:
        pytest.skip("pgbouncer not installed (`make tools` installs Debian's package)")
    db = sa.make_url(settings.database_url)
    port = free_port()
    # a folder the unprivileged user can reach (pytest's tmp_path is private to root)
    tmp_path = Path(tempfile.mkdtemp(prefix="borgerting-pgbouncer-"))
    tmp_path.chmod(0o777)
    ini = tmp_path / "pgbouncer.ini"
    ini.write_text(f"""[databases]
{db.database} = host={db.host} port={db.port} dbname={db.database} user={db.username}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {tmp_path / "users.txt"}
pool_mode = transaction
default_pool_size = 3
max_client_conn = 100
logfile = {tmp_path / "pgbouncer.log"}
""")
    (tmp_path / "users.txt").write_text(f'"{db.username}" ""\n')
    for f in tmp_path.iterdir():
        f.chmod(0o666)
    # PgBouncer refuses to run as root; as root, run it as an unprivileged user
    user = ["-u", "nobody"] if os.geteuid() == 0 else []
    proc = subprocess.Popen([PGBOUNCER, *user, str(ini)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, 20, proc, "PgBouncer")
        yield str(db.set(host="127.0.0.1", port=port))
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(tmp_path, ignore_errors=True)


async def _load(url: str, *, pgbouncer: bool) -> int:
    """Six client connections run the same statements in many short transactions at once."""
    engine = make_engine(url, pool_size=6, max_overflow=0, pgbouncer=pgbouncer)
    done = 0

    async def worker(i: int) -> None:
        nonlocal done
        for j in range(30):
            async with engine.begin() as conn:
                got = (await conn.execute(sa.text("SELECT CAST(:a AS int) + CAST(:b AS int)"), {"a": i, "b": j})).scalar_one()
                assert got == i + j
                await conn.execute(sa.text("SELECT count(*) FROM pg_catalog.pg_class WHERE relpages >= :n"), {"n": j})
            done += 1

    try:
        await asyncio.gather(*(worker(i) for i in range(6)))
    finally:
        await engine.dispose()
    return done


async def test_the_engine_works_through_pgbouncer_in_transaction_mode(pgbouncer_url):
    assert await _load(pgbouncer_url, pgbouncer=True) == 180


async def test_without_the_setting_prepared_statements_break_behind_pgbouncer(pgbouncer_url):
    with pytest.raises(Exception, match="prepared statement"):
        await _load(pgbouncer_url, pgbouncer=False)
