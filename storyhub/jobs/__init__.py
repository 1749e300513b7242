"""Background jobs: an embedded persistent queue (Huey on SQLite) and the job table.

Huey was chosen because the same task API runs on its SQLite storage (no server: the default) and
on Redis or PostgreSQL when an organisation moves workers to other machines; only ``QUEUE_URL``
changes. The queue carries nothing but a job id. The ``jobs`` table holds the truth (state,
progress, a readable failure), so a job the queue lost, or one a crashed worker dropped, is found
again by ``recover_orphans`` and re-run.
"""

from storyhub.jobs.queue import (
    JobContext,
    JobFailed,
    access,
    execute,
    get_queue,
    handler,
    init_app,
    may_follow,
    recover_orphans,
    send,
    submit,
    task,
)

__all__ = [
    "JobContext",
    "JobFailed",
    "access",
    "execute",
    "get_queue",
    "handler",
    "init_app",
    "may_follow",
    "recover_orphans",
    "send",
    "submit",
    "task",
]
