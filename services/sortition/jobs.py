"""Background jobs of the sortition service: the panel draw and replacements.

A job's state lives in `sortition.jobs`, never only in memory. `JobWorker` runs inside the API
process (roles `api` and `all`): it claims a pending job with `FOR UPDATE SKIP LOCKED` (or a
running one whose heartbeat is older than `STALE_SECONDS`: its process died), runs the CPU-heavy
engine in a daemon thread so the event loop keeps serving requests, writes progress and a
heartbeat every `HEARTBEAT_SECONDS`, and commits the outcome (panel, events, audit entries) in
one transaction, only if it still holds the job. A job whose process died `MAX_ATTEMPTS` times is
marked failed with a message saying so; a new draw can then be started. On a clean shutdown a
running job is handed back (pending) for the next worker.

The engine's inputs are fixed at the freeze (pool snapshot, quotas, algorithm, lottery size,
reserves) and the reveal (seed contributions; the volunteers left out because they withdrew
before the first reveal), so a job that is run again computes the same draw; a replacement's
inputs (drop-outs, exclusions) are fixed when it is requested.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

import sqlalchemy as sa
import structlog
from prometheus_client import Counter, Gauge, Histogram

from services.sortition import models as m
from services.sortition.domain import SortitionInputError
from services.sortition.domain.runs import JobLost, JobRejected, Progress
from shared.bus.outbox import Tx
from shared.runtime import Runtime
from shared.settings import get_settings

log = structlog.get_logger()

HEARTBEAT_SECONDS = get_settings().sortition_job_heartbeat
STALE_SECONDS = get_settings().sortition_job_stale
IDLE_SECONDS = 1.0
MAX_ATTEMPTS = 3

JOBS_FINISHED = Counter("borgerting_sortition_jobs_total",
                        "Draw and replacement jobs ended in this process, by outcome "
                        "(succeeded|failed|handed_back|lost|interrupted)", ["kind", "outcome"])
JOB_SECONDS = Histogram("borgerting_sortition_job_duration_seconds", "Duration of succeeded jobs", ["kind"],
                        buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600))
JOBS_RUNNING = Gauge("borgerting_sortition_jobs_running", "Jobs this process is running now")


def _in_thread(fn: Callable[[], Any], name: str) -> asyncio.Future:
    """Run fn in a daemon thread (a dead process must not wait for it at exit)."""
    loop = asyncio.get_running_loop()
    fut: asyncio.Future = loop.create_future()

    def settle(result, exc) -> None:
        if fut.done():
            return
        if exc is not None:
            fut.set_exception(exc)
        else:
            fut.set_result(result)

    def target() -> None:
        try:
            result, exc = fn(), None
        except BaseException as e:  # noqa: BLE001 - handed to the event loop
            result, exc = None, e
        try:
            loop.call_soon_threadsafe(settle, result, exc)
        except RuntimeError:  # the loop is gone (shutdown)
            pass

    threading.Thread(target=target, name=name, daemon=True).start()
    return fut


@dataclass(frozen=True)
class JobSteps:
    """What a job does to the assembly, injected by app.py (the handlers' functions): the worker
    knows the jobs table and the thread, not what a draw writes. Each step runs in its own
    transaction; `inputs` and `succeeded` may raise JobRejected (the job fails with its message)
    and `succeeded` raises JobLost when the job is no longer ours."""

    inputs: Callable[[Tx, dict], Awaitable[Callable[[Progress], dict]]]  # reads, returns the computation
    succeeded: Callable[..., Awaitable[None]]  # (tx, job_id, worker, result, *, seconds)
    failed: Callable[[Tx, uuid.UUID, str, str], Awaitable[None]]  # (tx, job_id, worker, error)


class JobWorker:
    def __init__(self, rt: Runtime, steps: JobSteps) -> None:
        self.rt = rt
        self.steps = steps
        self.id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.wakeup = asyncio.Event()
        self.current: uuid.UUID | None = None

    def wake(self) -> None:
        self.wakeup.set()

    async def run(self, stop: asyncio.Event) -> None:
        log.info("job worker started", worker=self.id)
        while not stop.is_set():
            try:
                job = await self.claim()
            except Exception as exc:  # database away: try again shortly
                log.warning("job claim failed", error=repr(exc))
                job = None
            if job is None:
                self.wakeup.clear()
                waiters = [asyncio.create_task(self.wakeup.wait()), asyncio.create_task(stop.wait())]
                await asyncio.wait(waiters, timeout=IDLE_SECONDS, return_when=asyncio.FIRST_COMPLETED)
                for w in waiters:
                    w.cancel()
                continue
            await self.execute(job, stop)

    async def claim(self):
        async with self.rt.transaction() as tx:
            s = tx.session
            stale = sa.text(f"now() - interval '{float(STALE_SECONDS)} seconds'")
            # a job whose process died too often: give up on it, clearly
            error = f"the process running this job stopped {MAX_ATTEMPTS} times; start it again"
            gave_up = (await s.execute(
                sa.update(m.jobs)
                .where(m.jobs.c.status == "running", m.jobs.c.heartbeat_at < stale, m.jobs.c.attempts >= MAX_ATTEMPTS)
                .values(status="failed", finished_at=sa.func.now(), error=error)
                .returning(m.jobs.c.id, m.jobs.c.assembly_id, m.jobs.c.kind)
            )).all()
            for j in gave_up:
                await tx.audit(f"{j.kind}.failed", j.assembly_id, object_id=j.id, details={"error": error})
            pick = (
                sa.select(m.jobs.c.id)
                .where(sa.or_(m.jobs.c.status == "pending",
                              sa.and_(m.jobs.c.status == "running", m.jobs.c.heartbeat_at < stale)))
                .order_by(m.jobs.c.created_at)
                .limit(1)
                .with_for_update(skip_locked=True)
                .scalar_subquery()
            )
            row = (await s.execute(
                sa.update(m.jobs).where(m.jobs.c.id == pick)
                .values(status="running", worker=self.id, attempts=m.jobs.c.attempts + 1,
                        started_at=sa.func.coalesce(m.jobs.c.started_at, sa.func.now()),
                        heartbeat_at=sa.func.now(), error=None)
                .returning(*m.jobs.c)
            )).mappings().first()
            return dict(row) if row else None

    async def _beat(self, job_id: uuid.UUID, state: dict) -> None:
        async with self.rt.transaction() as tx:
            res = await tx.session.execute(
                sa.update(m.jobs).where(m.jobs.c.id == job_id, m.jobs.c.worker == self.id,
                                        m.jobs.c.status == "running")
                .values(heartbeat_at=sa.func.now(), progress=round(state["progress"], 4), message=state["message"])
            )
            if res.rowcount == 0:
                raise JobLost()

    async def _fail(self, job_id: uuid.UUID, error: str) -> None:
        async with self.rt.transaction() as tx:
            await self.steps.failed(tx, job_id, self.id, error)

    async def execute(self, job: dict, stop: asyncio.Event) -> None:
        job_id = job["id"]
        structlog.contextvars.bind_contextvars(job_id=str(job_id), assembly_id=str(job["assembly_id"]))
        log.info("job started", kind=job["kind"], attempt=job["attempts"])
        self.current = job_id
        kind, outcome = job["kind"], "interrupted"
        JOBS_RUNNING.inc()
        state = {"progress": 0.0, "message": "loading the frozen pool"}

        def progress(msg: str, frac: float) -> None:  # called from the engine thread
            state["message"], state["progress"] = msg[:300], max(state["progress"], min(1.0, frac))

        try:
            async with self.rt.transaction() as tx:
                compute = await self.steps.inputs(tx, job)
            started = time.monotonic()
            fut = _in_thread(lambda: compute(progress), f"sortition-{job['kind']}-{str(job_id)[:8]}")
            stopping = asyncio.ensure_future(stop.wait())
            try:
                while not fut.done():
                    await asyncio.wait([fut, stopping], timeout=HEARTBEAT_SECONDS,
                                       return_when=asyncio.FIRST_COMPLETED)
                    if stop.is_set() and not fut.done():
                        await self.release(job_id)
                        outcome = "handed_back"
                        return
                    await self._beat(job_id, state)
            finally:
                stopping.cancel()
            try:
                result = fut.result()
            except SortitionInputError as exc:
                log.info("job failed: input", error=str(exc))
                await self._fail(job_id, str(exc))
                outcome = "failed"
                return
            except Exception as exc:
                log.error("job failed", exc_info=exc)
                await self._fail(job_id, f"internal error ({type(exc).__name__}); see the service log, job {job_id}")
                outcome = "failed"
                return
            async with self.rt.transaction() as tx:
                await self.steps.succeeded(tx, job_id, self.id, result, seconds=time.monotonic() - started)
            outcome = "succeeded"
            JOB_SECONDS.labels(kind).observe(time.monotonic() - started)
            log.info("job succeeded", kind=kind, seconds=round(time.monotonic() - started, 2),
                     steps=result.get("seconds"))
        except JobLost:
            outcome = "lost"
            log.warning("job taken over by another worker; dropping our result")
        except JobRejected as exc:
            await self._fail(job_id, str(exc))
            outcome = "failed"
        except Exception as exc:  # database trouble while finishing: the job stays running and goes stale
            log.error("job interrupted", exc_info=exc)
        finally:
            JOBS_RUNNING.dec()
            JOBS_FINISHED.labels(kind, outcome).inc()
            self.current = None
            structlog.contextvars.unbind_contextvars("job_id", "assembly_id")

    async def release(self, job_id: uuid.UUID) -> None:
        """Clean shutdown mid-job: hand the job back so the next worker starts it at once."""
        try:
            async with self.rt.transaction() as tx:
                await tx.session.execute(
                    sa.update(m.jobs).where(m.jobs.c.id == job_id, m.jobs.c.worker == self.id,
                                            m.jobs.c.status == "running")
                    .values(status="pending", worker=None, attempts=m.jobs.c.attempts - 1,
                            message="interrupted by a shutdown; waiting for a worker")
                )
            log.info("job handed back on shutdown")
        except Exception as exc:
            log.warning("could not hand the job back; it will go stale and be taken over", error=repr(exc))
