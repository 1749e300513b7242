"""Background jobs: an embedded persistent queue (Huey on SQLite) and the job table.

Huey was chosen because the same task API runs on its SQLite storage (no server: the default) and
on Redis or PostgreSQL when an organisation moves workers to other machines; only ``QUEUE_URL``
changes. The queue carries nothing but a job id. The ``jobs`` table holds the truth (state,
progress, a readable failure), so a job the queue lost, or one a crashed worker dropped, is found
again by ``recover_orphans`` and re-run. Which function runs a kind of job is registered by the
feature that owns it, in its ``init_app`` (``storyhub.registry.job_handler``).
"""

from storyhub.jobs.context import JobContext, JobFailed
from storyhub.jobs.queue import (
    execute,
    get_queue,
    init_app,
    may_follow,
    recover_orphans,
    send,
    submit,
)

__all__ = [
    "JobContext",
    "JobFailed",
    "execute",
    "get_queue",
    "init_app",
    "may_follow",
    "recover_orphans",
    "send",
    "submit",
]
