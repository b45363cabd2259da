"""Recruitment at national scale, on the embedded stack (real PostgreSQL, Valkey, Kafka; the
recruitment API as its own process, reached over HTTP). Prints measured figures only:

1. the import of a synthetic register extract of N rows (default 1,000,000; with age_band and
   gender): its size, the wall time of the POST, and the API process's peak resident memory
   during it (sampled every 50 ms with psutil) against its memory before;
2. letters packed for the print house (services/recruitment/printing.letter_pack: Typst in parts of
   CHUNK letters in processes of their own, joined by qpdf into one PDF per FILE_LETTERS letters,
   written into the ZIP on disk), each letter with its own code and so its own QR code: the time
   for L letters (default 2,000; `--letters 100000` for the national wave), the time per 1,000,
   the ZIP's size and the peak resident memory of this process and its workers together;
3. registrations per second on the public endpoint (POST /registrations): R invited people
   (default 2,000) register with C concurrent clients (default 16). The rate limits per address
   and overall are raised for the run (one client address sends everything), and said so.

    .venv/bin/python benchmarks/recruitment.py [--rows 1000000] [--letters 2000] [--registrations 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.recruitment.app import SPEC  # noqa: E402
from services.recruitment.printing import CHUNK, FILE_LETTERS, letter_pack  # noqa: E402
from shared.auth.dev_issuer import DevIssuer  # noqa: E402
from shared.devstack import DevStack, free_port  # noqa: E402
from shared.migrations import upgrade  # noqa: E402

REGIONS = [("DK01", "Hovedstaden", 1_870_000), ("DK02", "Sjælland", 850_000), ("DK03", "Syddanmark", 1_230_000),
           ("DK04", "Midtjylland", 1_360_000), ("DK05", "Nordjylland", 595_000)]
AGES = ["18-29", "30-44", "45-59", "60+"]
GENDERS = ["female", "male"]


def write_extract(path: Path, rows: int, seed: int) -> int:
    """A synthetic extract written line by line (never whole in memory); its size in bytes."""
    rng = random.Random(seed)
    codes = [c for c, _n, _p in REGIONS]
    weights = [p for _c, _n, p in REGIONS]
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write("person_id,name,address,region,age_band,gender\n")
        for i in range(rows):
            f.write(f"{1_000_000_000 + i},Person {i},Vej {rng.randint(1, 400)} nr {rng.randint(1, 99)}, "
                    f"{rng.randint(1000, 9990)} By,{rng.choices(codes, weights)[0]},{rng.choice(AGES)},"
                    f"{rng.choice(GENDERS)}\n".replace(", ", " "))
    return path.stat().st_size


class PeakRss:
    """The peak resident memory of a process (and its children), sampled in a thread."""

    def __init__(self, pid: int) -> None:
        self.proc = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def rss(self) -> int:
        total = self.proc.memory_info().rss
        for child in self.proc.children(recursive=True):
            try:
                total += child.memory_info().rss
            except psutil.NoSuchProcess:  # a worker that ended between the listing and the reading
                pass
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.rss())
            time.sleep(0.05)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._t.join()


async def file_chunks(path: Path, size: int = 1 << 20):
    """The file as the request's body, a MiB at a time (the client never holds it whole)."""
    with path.open("rb") as f:
        while chunk := f.read(size):
            yield chunk


def bench_letters(n: int) -> float:
    assembly = {"name": "Borgerting om klimaet 2027", "panel_size": 150, "commissioner": "Klimaministeriet",
                "remit": "Hvordan når Danmark sine klimamål retfærdigt?", "remit_en": None,
                "session_dates": ["2027-03-06", "2027-04-10", "2027-05-08"], "stipend_ore": 150000,
                "reply_by": "2027-02-01"}
    letters = [{"letter_id": f"00000000-0000-4000-8000-{i:012d}", "name": f"Person {i}",
                "address": f"Vej {i % 400} nr {i % 99}, 8000 Aarhus C", "code": f"ABCD-EFGH-JKMN-{i // 10000:04d}-{i % 10000:04d}",
                "region": "DK04"} for i in range(n)]
    before = PeakRss(os.getpid()).rss()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as work, PeakRss(os.getpid()) as peak:  # this process and its workers
        path = os.path.join(work, "pack.zip")
        letter_pack(path, "bench", assembly, letters, register_url="https://borgerting.example/recruitment/register",
                    withdraw_url="https://borgerting.example/recruitment/withdraw")
        size = os.path.getsize(path)
    seconds = time.perf_counter() - t0
    print(f"letters: {n:,} letters packed in {seconds:.1f} s (ZIP of {size / 2**20:.1f} MiB, "
          f"{-(-n // FILE_LETTERS)} PDF(s) of at most {FILE_LETTERS:,} letters): "
          f"{seconds / n * 1000:.2f} s per 1,000 letters; resident memory of this process and its workers "
          f"{before >> 20} MiB before, peak {peak.peak >> 20} MiB ({CHUNK} letters a part, load average "
          f"{os.getloadavg()[0]:.1f})")
    return seconds


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--letters", type=int, default=2000)
    ap.add_argument("--registrations", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--skip", default="", help="comma-separated: import,letters,registrations")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
    if "letters" not in skip:
        bench_letters(args.letters)
    if skip >= {"import", "registrations"}:
        return

    state = Path(tempfile.mkdtemp(prefix="bench-recruitment-"))
    stack = DevStack(state / "stack")
    issuer = DevIssuer(state / "dev-issuer.pem").serve_in_thread()
    env = {**os.environ, **stack.start(), **issuer.settings_env(),
           # one client address sends every registration: the per-address and global limits are raised
           "BORGERTING_REGISTER_LIMIT_PER_IP": "1000000", "BORGERTING_REGISTER_LIMIT_GLOBAL": "1000000"}
    os.environ.update(env)
    api = None
    try:
        await asyncio.to_thread(upgrade, SPEC.migrations_dir, env["DATABASE_URL"])
        port = free_port()
        log = open(state / "api.log", "wb")
        api = subprocess.Popen([sys.executable, "-m", "services.recruitment.app", "api"],
                               env={**env, "BORGERTING_PORT": str(port)}, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, timeout=3600) as http:
            for _ in range(300):
                try:
                    if (await http.get("/readyz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)

            def staff(role: str, aid=None) -> dict:
                return issuer.headers(role, aid) if aid else issuer.headers(role)

            total = sum(p for _c, _n, p in REGIONS)
            strata = [{"category": "region", "quotas": [{"value": c, "min": 0, "max": 150} for c, _n, _p in REGIONS]},
                      {"category": "gender", "quotas": [{"value": g, "min": 0, "max": 150} for g in GENDERS]}]
            r = await http.post("/assemblies", headers=staff("operator"), json={
                "name": "Benchmark", "panel_size": 150, "strata": strata,
                "regions": [{"code": c, "name": n, "population": p} for c, n, p in REGIONS]})
            r.raise_for_status()
            aid = r.json()["id"]
            registrar = staff("registrar", aid)
            assert total

            if "import" not in skip:
                path = state / "extract.csv"
                t0 = time.perf_counter()
                size = await asyncio.to_thread(write_extract, path, args.rows, args.seed)
                print(f"import: wrote a {args.rows:,}-row extract ({size / 2**20:.0f} MiB) in "
                      f"{time.perf_counter() - t0:.0f} s")
                with PeakRss(api.pid) as mem:
                    before = mem.rss()
                    t0 = time.perf_counter()
                    r = await http.post(f"/assemblies/{aid}/register-extract", content=file_chunks(path),
                                        headers={**registrar, "content-type": "text/csv"})
                    seconds = time.perf_counter() - t0
                r.raise_for_status()
                print(f"import: {r.json()['imported']:,} rows imported in {seconds:.0f} s "
                      f"({r.json()['imported'] / seconds:,.0f} rows/s); API process RSS {before / 2**20:.0f} MiB "
                      f"before, peak {mem.peak / 2**20:.0f} MiB during (+{(mem.peak - before) / 2**20:.0f} MiB)")
            else:
                extract = "person_id,name,address,region\n" + "".join(
                    f"{i},P{i},Vej {i},{REGIONS[i % 5][0]}\n" for i in range(args.registrations * 2))
                r = await http.post(f"/assemblies/{aid}/register-extract", content=extract.encode(),
                                    headers={**registrar, "content-type": "text/csv"})
                r.raise_for_status()

            if "registrations" not in skip:
                r = await http.post(f"/assemblies/{aid}/invitation-batches", headers=registrar,
                                    json={"count": args.registrations, "seed": args.seed})
                r.raise_for_status()
                codes = [x["code"] for x in r.json()["letters"]]
                rng = random.Random(args.seed)
                sem = asyncio.Semaphore(args.concurrency)
                statuses: dict[int, int] = {}
                latencies: list[float] = []

                async def one(code: str) -> None:
                    async with sem:
                        t = time.perf_counter()
                        resp = await http.post("/registrations", json={
                            "code": code, "consent": True, "answers": {"gender": rng.choice(GENDERS)}})
                        latencies.append(time.perf_counter() - t)
                        statuses[resp.status_code] = statuses.get(resp.status_code, 0) + 1

                t0 = time.perf_counter()
                await asyncio.gather(*(one(c) for c in codes))
                seconds = time.perf_counter() - t0
                latencies.sort()
                print(f"registrations: {len(codes)} in {seconds:.1f} s = {len(codes) / seconds:.0f} per second "
                      f"with {args.concurrency} concurrent clients (statuses {statuses}); latency p50 "
                      f"{latencies[len(latencies) // 2] * 1000:.0f} ms, p95 {latencies[int(len(latencies) * .95)] * 1000:.0f} ms")
    finally:
        if api is not None:
            api.terminate()
            api.wait(timeout=30)
        issuer.stop()
        stack.stop()
        shutil.rmtree(state, ignore_errors=True)
    print(f"machine: load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    asyncio.run(main())
