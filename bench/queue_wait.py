"""How long does a job sent on a quiet site wait before the worker starts it?

A story uploaded to an idle site should start being prepared within a second, on the embedded
SQLite queue and on Redis. The wait is measured from the commit that sends the job (the job is
sent to the queue by that commit) to the moment the worker claims it (the job row's
``started_at``), with the real worker process in between.

For each queue (--queues sqlite,redis), one round, no manual steps:

1. make a throwaway site (instance folder, database) with the real CLI; for Redis, start a
   private redis-server on a free loopback port (nothing saved to disk);
2. start the job worker as in production (`flask --app storyhub worker`, its default threads),
   send one job and wait for it, so the worker is past its start-up work (loading the tagger);
3. let it idle for --idle seconds (long enough for Huey's polling to back off fully), then
   sample its CPU time over --cpu-seconds: the cost of waiting for work;
4. --repeat times: idle --idle seconds, then commit a "rebuild the search index" job (a real job,
   a few milliseconds on an empty archive) and poll the job row until it has started.

It prints a Markdown table (min / median / max wait, idle CPU) and exits non-zero when a job
never starts. Everything it made (worker, redis-server, temporary files) is removed at the end.

    .venv/bin/python bench/queue_wait.py [--queues sqlite,redis] [--repeat 5] [--idle 15]
                                          [--cpu-seconds 30]

STORYHUB_* settings in the shell are ignored (a benchmark never touches a real site).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
sys.path.insert(0, str(PROJECT_ROOT))
sys.path.insert(0, str(BENCH_DIR))  # the throwaway-site helpers are shared with the other benches

from transcribe import Worker  # noqa: E402
from upload_memory import flask_cli, free_port, site_env  # noqa: E402

QUEUES = ("sqlite", "redis")
START_TIMEOUT = 180.0  # the first job waits for the worker's start-up (tagger, search catch-up)
JOB_TIMEOUT = 30.0


@dataclass
class Result:
    queue: str
    waits: list[float] = field(default_factory=list)
    idle_cpu_percent: float = 0.0
    load: float = 0.0
    error: str = ""


@contextlib.contextmanager
def redis_server(folder: Path) -> Iterator[str]:
    """A private redis-server on a free loopback port, saving nothing; yields its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError(
            "redis-server is not installed: bash scripts/system-packages.sh redis-server"
        )
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    try:
        import redis

        client = redis.Redis(host="127.0.0.1", port=port)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def use_site(env: dict[str, str]) -> None:
    """Point this process's app at the throwaway site (create_app reads the environment)."""
    for key in [k for k in os.environ if k.startswith("STORYHUB_")]:
        del os.environ[key]
    os.environ.update({k: v for k, v in env.items() if k.startswith("STORYHUB_")})


def send_and_wait(worker: Worker, timeout: float) -> float:
    """Commit a job, wait for the worker to claim it; seconds from the commit to its start."""
    from storyhub.extensions import db
    from storyhub.finder.indexing import REINDEX_JOB
    from storyhub.jobs import submit
    from storyhub.models import Job, as_utc

    job = submit(REINDEX_JOB, message="Benchmark: how long a job waits")
    job_id = job.id
    sent_at = dt.datetime.now(dt.UTC)
    db.session.commit()  # sends the job to the queue (after the commit)
    deadline = time.monotonic() + timeout
    while True:
        db.session.expire_all()
        started_at = db.session.get(Job, job_id).started_at  # type: ignore[union-attr]
        db.session.rollback()  # end the read, so the worker's writes are never held up
        if started_at is not None:
            return (as_utc(started_at) - sent_at).total_seconds()
        worker.check()
        if time.monotonic() > deadline:
            raise RuntimeError(f"job {job_id} did not start in {timeout:.0f} s")
        time.sleep(0.005)


def idle(worker: Worker, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        worker.check()
        time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))


def run_queue(queue: str, root: Path, args: argparse.Namespace) -> Result:
    """One round on a fresh site: start-up job, idle CPU, then --repeat idle-then-send waits."""
    result = Result(queue)
    env = site_env(root / "instance", max_upload_mb=64)
    with contextlib.ExitStack() as stack:
        if queue == "redis":
            env["STORYHUB_QUEUE_URL"] = stack.enter_context(redis_server(root / "redis"))
        flask_cli(env, "setup", "--no-demo")
        use_site(env)
        from storyhub import create_app

        app = create_app()
        stack.enter_context(app.app_context())
        worker = Worker(env, root / "worker.log")
        stack.callback(worker.stop)
        worker_proc = worker.start()
        print(f"  {queue}: starting the worker", flush=True)
        send_and_wait(worker, START_TIMEOUT)
        print(
            f"  {queue}: idle {args.idle:.0f} s, then CPU over {args.cpu_seconds:.0f} s", flush=True
        )
        idle(worker, args.idle)
        before = worker_proc.cpu_times()
        idle(worker, args.cpu_seconds)
        after = worker_proc.cpu_times()
        used = (after.user - before.user) + (after.system - before.system)
        result.idle_cpu_percent = 100 * used / args.cpu_seconds
        for number in range(1, args.repeat + 1):
            if number > 1:
                idle(worker, args.idle)
            wait = send_and_wait(worker, JOB_TIMEOUT)
            result.waits.append(wait)
            print(f"  {queue} #{number}: waited {wait:.3f} s", flush=True)
        result.load = os.getloadavg()[0]
    return result


def table(results: list[Result], args: argparse.Namespace) -> str:
    lines = [
        f"| queue | jobs | wait min s | **median s** | max s | idle worker CPU (% of a core, "
        f"{args.cpu_seconds:.0f} s) | load avg 1 min | result |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        if r.waits:
            figures = (
                f"{min(r.waits):.3f} | **{statistics.median(r.waits):.3f}** | {max(r.waits):.3f}"
            )
        else:
            figures = "- | - | -"
        verdict = r.error or ("under 1 s" if r.waits and max(r.waits) < 1 else "over 1 s")
        lines.append(
            f"| {r.queue} | {len(r.waits)} | {figures} | {r.idle_cpu_percent:.2f} | "
            f"{r.load:.2f} | {verdict} |"
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queues", default=",".join(QUEUES), help="sqlite, redis or both")
    parser.add_argument("--repeat", type=int, default=5, help="jobs sent per queue")
    parser.add_argument(
        "--idle", type=float, default=15.0,
        help="seconds the worker idles before each job (Huey's backoff must be complete)",
    )  # fmt: skip
    parser.add_argument("--cpu-seconds", type=float, default=30.0, help="idle CPU sample length")
    args = parser.parse_args(argv)
    args.queues = [q.strip() for q in args.queues.split(",") if q.strip()]
    unknown = set(args.queues) - set(QUEUES)
    if unknown:
        parser.error(f"unknown queue(s): {', '.join(sorted(unknown))}")
    return args


def _raise_exit(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_exit)
    print(
        f"{dt.date.today()} {platform.node()}, {os.cpu_count()} cores; "
        f"idle {args.idle:.0f} s before each of {args.repeat} jobs",
        flush=True,
    )
    results = []
    for queue in args.queues:
        with tempfile.TemporaryDirectory(prefix=f"storyhub-queue-{queue}-") as root:
            try:
                results.append(run_queue(queue, Path(root), args))
            except RuntimeError as err:
                print(f"  {queue}: {err}", file=sys.stderr)
                results.append(Result(queue, error="failed"))
    print()
    print(table(results, args))
    return 0 if all(r.waits and not r.error for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
