"""What each feature registered on this app: job handlers, housekeeping tasks, consent hooks.

Every feature package has an ``init_app(app)`` (called, in order, by ``create_app``) that adds what
it owns here, so "who runs jobs of this kind?" or "what happens when a story is withdrawn?" is
answered by reading the features' ``init_app`` functions, not by knowing what was imported. The
registry belongs to the app (``app.extensions``): two apps in one process never share handlers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app

from consent.archive import ConsentEvent
from consent.copies import Copy

if TYPE_CHECKING:  # the queue (which reads this registry) defines them
    from storyhub.jobs.context import JobContext, JobFailed

EXTENSION = "storyhub.registry"

Handler = Callable[["JobContext"], None]
FailureHook = Callable[["JobContext", "JobFailed"], None]
JobAccess = Callable[[Any, Any], bool]  # (user, job) -> may this person follow the job?
Task = Callable[[], None]
ConsentHook = Callable[[Any, Any], None]  # (story, consent version)
Forget = Callable[[Copy], None]


@dataclass
class Registry:
    handlers: dict[str, Handler] = field(default_factory=dict)
    on_failure: dict[str, FailureHook] = field(default_factory=dict)
    job_access: dict[str, JobAccess] = field(default_factory=dict)
    tasks: dict[str, Task] = field(default_factory=dict)
    consent_hooks: dict[ConsentEvent, list[ConsentHook]] = field(default_factory=dict)
    forgetters: dict[str, Forget] = field(default_factory=dict)


def init_app(app: Flask) -> None:
    """Give the app an empty registry (first, before any feature registers)."""
    app.extensions[EXTENSION] = Registry()


def registry(app: Flask | None = None) -> Registry:
    """The registry of ``app`` (default: the current app)."""
    found: Registry = (app or current_app).extensions[EXTENSION]
    return found


def job_handler(
    app: Flask,
    kind: str,
    handler: Handler,
    *,
    on_failure: FailureHook | None = None,
    access: JobAccess | None = None,
) -> None:
    """Run jobs of ``kind`` with ``handler``; ``on_failure`` runs after it fails; ``access`` says
    who may follow a job of this kind that has no story (without one: administrators only)."""
    found = registry(app)
    if kind in found.handlers:
        raise ValueError(f"job kind {kind!r} already has a handler")
    found.handlers[kind] = handler
    if on_failure is not None:
        found.on_failure[kind] = on_failure
    if access is not None:
        found.job_access[kind] = access


def housekeeping_task(app: Flask, name: str, task: Task) -> None:
    """A task with no arguments, safe to run any number of times: run after a commit that asks
    for it (``jobs.send(name)``) and at every sweep of the queue."""
    found = registry(app)
    if name in found.tasks:
        raise ValueError(f"task {name!r} is already registered")
    found.tasks[name] = task


def on_consent(app: Flask, event: ConsentEvent, hook: ConsentHook) -> None:
    """Run ``hook(story, version)`` whenever a story's consent is ``event`` (same transaction)."""
    registry(app).consent_hooks.setdefault(event, []).append(hook)


def on_forget(app: Flask, copy_kind: str, forget: Forget) -> None:
    """What the owner of copies of ``copy_kind`` clears when one's files are deleted."""
    registry(app).forgetters[copy_kind] = forget
