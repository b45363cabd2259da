"""Benchmark: `borgerting sortition select` at national scale, end to end, on synthetic pools.

    nice -n 10 .venv/bin/python benchmarks/sortition/scale.py [--only NAME ...] [--timeout S] [--max-panels N]
        [--certify] [--progress]

Each run is the real command (`python -m borgerting.cli sortition select -k K --features F
--people P --json OUT -q`) in its own process, one at a time; the pool files are written first
(domain/synth.py, seeded, not timed). Printed per run, side by side: the engine's own time (the
`seconds` of the result: LEXIMIN from the loaded pool to the distribution), the wall time of
the whole command (start-up, reading the CSV files, the engine, expanding and writing the
JSON), the CPU time of the process (on a shared machine the wall time includes waiting), and
its peak memory (ru_maxrss of that process, from wait4), with the pool's profiles, the minimum
probability, the method and how many concrete panels were written (or that there were more
than --max-panels, counted without building them).

With ``--certify`` every result is then checked by `borgerting sortition certify` (the independent
checker, its own process; all levels; its wall time printed) before the pool files are removed.

Instances: a scaling curve with 6 categories (n = 1k, 5k, 20k, 100k; k = n / 50, at most
1,000) and the national shape of issue 17 (100,000 volunteers, 10 categories, k = 1,000).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from services.sortition.domain.synth import synth_pool  # noqa: E402

# name: (n, k, categories)
INSTANCES = {
    "curve_1k": (1_000, 20, 6),
    "curve_5k": (5_000, 100, 6),
    "curve_20k": (20_000, 400, 6),
    "curve_100k": (100_000, 1_000, 6),
    "national_100k_10cat": (100_000, 1_000, 10),
}


def write_pool(folder: Path, n: int, k: int, categories: int) -> None:
    people, quotas, _ = synth_pool(n, k, categories=categories)
    with open(folder / "features.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["feature", "value", "min", "max"])
        for q in quotas:
            w.writerow([q["category"], q["value"], q["min"], q["max"]])
    with open(folder / "people.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(people[0]))
        w.writeheader()
        w.writerows(people)


def _proc_usage(pid: int) -> tuple[float, float]:
    """(CPU seconds, RSS MB) of a running process, from /proc (0, 0 where /proc is missing)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        cpu = (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
        rss = int(stat[21]) * os.sysconf("SC_PAGE_SIZE") / 2**20
        return cpu, rss
    except (OSError, IndexError, ValueError):
        return 0.0, 0.0


def _echo_progress(p: subprocess.Popen, t0: float, lines: list[str]) -> None:
    """Print the command's progress lines (stderr) with its CPU time and RSS at that moment."""
    for raw in p.stderr:
        line = raw.decode(errors="replace").rstrip()
        lines.append(line)
        cpu, rss = _proc_usage(p.pid)
        print(f"  [{time.perf_counter() - t0:8.1f} s wall {cpu:8.1f} s cpu {rss:7.1f} MB] {line.strip()}", flush=True)


def run(folder: Path, k: int, timeout: float, max_panels: int, progress: bool = False) -> dict:
    out = folder / "result.json"
    cmd = [sys.executable, "-m", "borgerting.cli", "sortition", "select", "-k", str(k), "--features",
           str(folder / "features.csv"), "--people", str(folder / "people.csv"), "--json", str(out),
           "--max-panels", str(max_panels), *([] if progress else ["-q"])]
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"})
    lines: list[str] = []
    echo = threading.Thread(target=_echo_progress, args=(p, t0, lines), daemon=True) if progress else None
    if echo:
        echo.start()
    deadline = t0 + timeout
    while True:
        pid, status, usage = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            p.kill()
            _, status, usage = os.wait4(p.pid, 0)
            return {"error": f"not finished after {timeout:.0f} s (killed)", "wall": time.perf_counter() - t0,
                    "peak_mb": usage.ru_maxrss / 1024, "cpu": usage.ru_utime + usage.ru_stime}
        time.sleep(0.2)
    wall = time.perf_counter() - t0
    row = {"wall": wall, "peak_mb": usage.ru_maxrss / 1024, "cpu": usage.ru_utime + usage.ru_stime}
    if echo:
        echo.join(timeout=5)
    if os.waitstatus_to_exitcode(status) != 0:
        text = "\n".join(lines) if echo else p.stderr.read().decode(errors="replace")
        return {**row, "error": (text or "failed")[-400:]}
    res = json.loads(out.read_text(encoding="utf-8"))
    levels = res["stats"].get("levels") or [None]
    return {**row, "engine": res["seconds"], "types": res["types"], "min": res["min_probability"],
            "relaxed_min": levels[0], "method": res["stats"].get("method"),
            "panels": "more than cap" if res["panels"] is None else len(res["panels"]),
            "json_mb": out.stat().st_size / 2**20}


def certify_run(folder: Path, timeout: float) -> str:
    """`borgerting sortition certify` on the run's result: "certified (L of L levels, S s)" or why not."""
    cmd = [sys.executable, "-m", "borgerting.cli", "sortition", "certify", str(folder / "result.json"),
           "--features", str(folder / "features.csv"), "--people", str(folder / "people.csv")]
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, capture_output=True, cwd=ROOT, timeout=timeout, env={**os.environ, "PYTHONPATH": str(ROOT)})
    except subprocess.TimeoutExpired:
        return f"certify not finished after {timeout:.0f} s"
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        return f"NOT certified ({wall:.0f} s): {p.stderr.decode(errors='replace').strip()[-300:]}"
    out = json.loads(p.stdout.decode().strip().splitlines()[-1])
    return f"certified ({out['levels_proved']} of {out['levels']} levels, {out['panels_checked']} panels, {wall:.0f} s)"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", nargs="*", choices=list(INSTANCES), help="instance names")
    ap.add_argument("--timeout", type=float, default=1800.0, help="seconds per run")
    ap.add_argument("--max-panels", type=int, default=200_000, help="select's --max-panels")
    ap.add_argument("--certify", action="store_true", help="check every result with `borgerting sortition certify`")
    ap.add_argument("--progress", action="store_true",
                    help="print the command's progress lines with its CPU seconds and RSS at that moment")
    args = ap.parse_args()
    print(f"{'instance':22s} {'n':>7s} {'k':>5s} cat {'profiles':>8s} {'engine s':>9s} {'wall s':>8s} {'cpu s':>8s} "
          f"{'peak MB':>8s}  result", flush=True)
    for name, (n, k, cats) in INSTANCES.items():
        if args.only and name not in args.only:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            write_pool(folder, n, k, cats)
            r = run(folder, k, args.timeout, args.max_panels, args.progress)
            if args.certify and "error" not in r:
                r["certified"] = certify_run(folder, args.timeout)
        head = f"{name:22s} {n:7d} {k:5d} {cats:3d} "
        if "error" in r:
            print(head + f"{'':>8s} {'':>9s} {r['wall']:8.1f} {r['cpu']:8.1f} {r['peak_mb']:8.1f}  ERROR {r['error']}",
                  flush=True)
            continue
        exact = ("" if r["relaxed_min"] is None else
                 "  = relaxed bound" if r["min"] >= r["relaxed_min"] - 1e-7 else f"  relaxed bound {r['relaxed_min']}")
        print(head + f"{r['types']:8d} {r['engine']:9.1f} {r['wall']:8.1f} {r['cpu']:8.1f} {r['peak_mb']:8.1f}  "
              f"min {r['min']:.5f}{exact}, panels {r['panels']}, json {r['json_mb']:.1f} MB ({r['method']})"
              + (f"; {r['certified']}" if "certified" in r else ""),
              flush=True)


if __name__ == "__main__":
    main()
