"""The search pages and the index's upkeep: the application side of the ``search`` package."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The search page; the index kept in step with the database after every commit."""
    from storyhub.finder import indexing
    from storyhub.finder.routes import bp
    from storyhub.registry import housekeeping_task, job_handler

    app.register_blueprint(bp)
    indexing.watch_changes()
    housekeeping_task(app, indexing.SYNC_TASK, indexing.sync_task)
    job_handler(app, indexing.REINDEX_JOB, indexing.reindex_job)
