"""Command-line tools: `flask --app storyhub users|setup|demo|worker|serve`."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from flask_migrate import upgrade
from sqlalchemy import func, select

from storyhub.extensions import db
from storyhub.models import Role, User

users = AppGroup("users", help="Create accounts and API tokens.")


@users.command("create")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--username", required=True)
@click.option("--display-name", default="", help="Shown to staff; defaults to the username.")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="Prompted for when not given.",
)
@with_appcontext
def create_user_command(role: str, username: str, display_name: str, password: str) -> None:
    """Create an account with a role."""
    from storyhub.auth.services import AccountError, create_user

    try:
        user = create_user(username, password, Role(role), display_name)
    except AccountError as err:
        raise click.ClickException(str(err)) from err
    db.session.commit()
    click.echo(f"Created {user.role.value} '{user.username}'.")


@users.command("token")
@click.argument("username")
@click.option("--name", default="cli", help="A label to recognise the token by.")
@with_appcontext
def token_command(username: str, name: str) -> None:
    """Print a new API token for USERNAME (shown once; keep it safe)."""
    from storyhub.auth.services import issue_api_token, normalise_username

    user = db.session.scalar(select(User).where(User.username == normalise_username(username)))
    if user is None:
        raise click.ClickException(f"No account called '{username}'.")
    token = issue_api_token(user, name)
    db.session.commit()
    click.echo(token)


@users.command("showcases")
@click.argument("username")
@click.option("--allow/--deny", default=True, help="Give or take away the permission.")
@with_appcontext
def showcases_command(username: str, allow: bool) -> None:
    """Let a trainer build showcases for learning events (or stop them)."""
    from storyhub.auth.services import normalise_username

    user = db.session.scalar(select(User).where(User.username == normalise_username(username)))
    if user is None:
        raise click.ClickException(f"No account called '{username}'.")
    if user.role != Role.TRAINER:
        raise click.ClickException("Curators and administrators build showcases already.")
    user.builds_showcases = allow
    db.session.commit()
    click.echo(f"'{user.username}' {'may' if allow else 'may no longer'} build showcases.")


@click.command("setup")
@click.option(
    "--demo/--no-demo",
    default=False,
    envvar="STORYHUB_DEMO",
    help="Make this a demonstration site: demo accounts with a public password, and demo "
    "stories if empty. Refused on an archive with real stories. (Also: STORYHUB_DEMO=1.)",
)
@with_appcontext
def setup_command(demo: bool) -> None:
    """Create or upgrade the database; with --demo, make it a demonstration site."""
    upgrade(directory=current_app.extensions["migrate"].directory)
    from storyhub.themes.services import load_taxonomy

    load_taxonomy()  # subthemes shipped since the database was made
    db.session.commit()
    _remove_abandoned_files()
    if demo:
        _load_demo()
    else:
        _warn_about_public_passwords()
    _prepare_search_index()


def _load_demo() -> None:
    """Make this instance a demo (refused if it holds real stories) and add the demo data."""
    from storyhub.demo import DemoRefused, load_demo, make_demo

    try:
        make_demo()
    except DemoRefused as refused:
        raise click.ClickException(str(refused)) from refused
    load_demo(echo=click.echo)
    click.echo("This is a demonstration site: every page says so.")


def _warn_about_public_passwords() -> None:
    """Name any account still signing in with the published demo password (made before setup
    stopped adding them by default), so a real archive doesn't keep them unnoticed."""
    from storyhub.demo import accounts_with_public_password
    from storyhub.instance import is_demo

    if is_demo():
        click.echo("This is a demonstration site (made with `setup --demo`): no real stories.")
        return
    public = accounts_with_public_password()
    if public:
        click.echo(
            f"Warning: these accounts still have the public demo password: {', '.join(public)}. "
            "Anyone can sign in as them. Please remove them or give them a new password.",
            err=True,
        )


def _remove_abandoned_files() -> None:
    """Delete what a crashed web or worker process left half-made (see storyhub.uploads)."""
    from storyhub.uploads import remove_abandoned_files

    removed = remove_abandoned_files()
    if removed:
        click.echo(f"Removed {len(removed)} file(s) left by processes that stopped: {removed}")


def _prepare_search_index() -> None:
    """Create the search index; fill it from the database if it is new (e.g. after upgrading)."""
    from search import SearchUnavailable
    from storyhub.finder.indexing import get_backend, reindex
    from storyhub.models import Passage

    try:
        backend = get_backend()
        backend.ensure()
        passages = db.session.scalar(select(func.count()).select_from(Passage)) or 0
        if backend.needs_rebuild() or (passages and backend.stats().documents == 0):
            click.echo(f"Building the search index from the database ({passages:,} passages)...")
            reindex()
    except SearchUnavailable as err:
        click.echo(f"The search index is not reachable yet: {err}", err=True)


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Make this a demonstration site and add its accounts and stories (skips what exists)."""
    _load_demo()


def _warm_up_tagger() -> None:
    """Load the theme tagger while the worker waits, so the first story doesn't wait for it."""
    import threading

    def load() -> None:
        from media_pipeline.tagger import embed, shipped_model

        try:
            shipped_model()
            embed(["warming up"])
        except Exception:  # the first story loads it again and reports any real problem
            click.echo("Could not load the theme tagger ahead of time.", err=True)

    threading.Thread(target=load, name="tagger-warm-up", daemon=True).start()


def _catch_up_search() -> None:
    """Index changes committed while no worker was running."""
    from search import SearchUnavailable
    from storyhub.finder.indexing import get_backend, reindex, sync_pending

    try:
        if get_backend().needs_rebuild():
            click.echo(f"Rebuilt the search index: {reindex():,} passages.")
        written = sync_pending()
    except SearchUnavailable as err:  # the sweep tries again every few minutes
        click.echo(f"Search index not reachable yet: {err}", err=True)
        return
    if written:
        click.echo(f"Brought {written} stories up to date in the search index.")


@click.command("worker")
@click.option("--threads", type=int, default=None, help="Jobs run at once (default: config).")
@with_appcontext
def worker_command(threads: int | None) -> None:
    """Run the background worker: pick up interrupted jobs, then process the queue."""
    from storyhub.jobs import get_queue, recover_orphans
    from storyhub.jobs.queue import use_private_tmp

    recovered = recover_orphans()
    if recovered:
        click.echo(f"Picked up {len(recovered)} interrupted job(s) again: {recovered}")
    _remove_abandoned_files()
    private_tmp = use_private_tmp()
    _warm_up_tagger()
    _catch_up_search()
    workers = threads or current_app.config["WORKER_THREADS"]
    # A job sent to an idle worker starts within a fraction of a second: a blocking read on
    # Redis, frequent polls on the embedded SQLite queue (see JobQueue.consumer_options).
    queue = get_queue()
    consumer = queue.huey.create_consumer(
        workers=workers, worker_type="thread", **queue.consumer_options()
    )
    try:
        consumer.run()
    finally:
        shutil.rmtree(private_tmp, ignore_errors=True)


@click.command("serve")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
@click.option("--web-workers", default=2, type=int)
def serve_command(host: str, port: int, web_workers: int) -> None:
    """Start the site (gunicorn) and its worker together; Ctrl+C stops both."""
    env = dict(os.environ)
    flask = [sys.executable, "-m", "flask", "--app", "storyhub"]
    procs: list[subprocess.Popen[Any]] = [
        # Each in a process group of its own, which holds what it starts (gunicorn's workers):
        # stopping one that won't stop leaves none of them behind.
        subprocess.Popen([*flask, "worker"], env=env, process_group=0),
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--bind",
                f"{host}:{port}",
                "--workers",
                str(web_workers),
                # Threads, so a slow upload on a poor connection doesn't hold a whole worker.
                "--worker-class",
                "gthread",
                "--threads",
                "8",
                "--timeout",
                "600",
                "--access-logfile",
                "-",
                # gunicorn 27's control socket sits at one shared path per account; two sites
                # (or a benchmark beside `make run`) would take it from each other.
                "--no-control-socket",
                "storyhub.wsgi:app",
            ],
            env=env,
            process_group=0,
        ),
    ]
    click.echo(f"storyhub is running on http://{host}:{port}  (Ctrl+C to stop)")

    def stop(*_: Any) -> None:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        deadline = time.monotonic() + 15
        for proc in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            # Then whatever is left of its group: a gunicorn worker stuck in a request would
            # outlive its master, and hold the port.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def stop_and_exit(*_: Any) -> None:
        stop()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop_and_exit)
    try:
        while all(proc.poll() is None for proc in procs):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        stop()
    failed = [proc.returncode for proc in procs if proc.returncode not in (0, None, -2)]
    if failed:
        raise SystemExit(1)


def init_app(app: Flask) -> None:
    """Attach the commands to the app's CLI."""
    app.cli.add_command(users)
    app.cli.add_command(setup_command)
    app.cli.add_command(demo_command)
    app.cli.add_command(worker_command)
    app.cli.add_command(serve_command)
    app.cli.add_command(import_command)
    app.cli.add_command(transcribe_command)
    from storyhub.finder.cli import search_cli
    from storyhub.themes.cli import themes

    app.cli.add_command(themes)
    app.cli.add_command(search_cli)


@click.command("import")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--curator", required=True, help="Username of the curator doing the import.")
@click.option("--storyteller", required=True, help="Storyteller for rows that don't name one.")
@with_appcontext
def import_command(folder: Path, curator: str, storyteller: str) -> None:
    """Import a folder of stories (media + optional stories.csv) and queue them all."""
    from storyhub.importer import import_folder

    def account(name: str, roles: tuple[Role, ...]) -> User:
        user = db.session.scalar(select(User).where(User.username == name.lower()))
        if user is None or user.role not in roles:
            raise click.ClickException(f"No {'/'.join(r.value for r in roles)} called '{name}'.")
        return user

    click.echo(f"Importing from {folder}...")
    imported, skipped = import_folder(
        folder,
        curator=account(curator, (Role.CURATOR, Role.ADMIN)),
        default_storyteller=account(storyteller, (Role.STORYTELLER,)),
        echo=click.echo,
    )
    click.echo(f"Queued {imported} stories; skipped {skipped}. The worker prepares them now.")
    if skipped and not imported:
        raise SystemExit(1)


@click.command("transcribe")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--language", default="en", type=click.Choice(["en", "cy"]))
@click.option("--model", default=None, help="base or tiny.en (default: the configured model).")
@with_appcontext
def transcribe_command(file: Path, language: str, model: str | None) -> None:
    """Print a file's transcript as JSON (passages with start, end, text, words); store nothing."""
    import json
    import tempfile

    from media_pipeline import MediaError, validate
    from media_pipeline.audio import extract_audio
    from media_pipeline.passages import make_passages
    from media_pipeline.transcribe import transcribe
    from storyhub.processing import whisper_model_for

    config = current_app.config
    try:
        info = validate(file)
        with tempfile.TemporaryDirectory(prefix="transcribe-") as scratch:
            wav = extract_audio(file, Path(scratch) / "audio.wav", info=info, timeout=1800)
            machine = transcribe(
                wav,
                language=language,
                model=model or whisper_model_for(language),
                compute_type=config["WHISPER_COMPUTE_TYPE"],
                beam_size=config["WHISPER_BEAM_SIZE"],
                threads=config["WHISPER_THREADS"],
            )
    except MediaError as err:
        raise click.ClickException(err.message) from err
    passages = make_passages(machine)
    click.echo(
        json.dumps(
            {
                "language": machine.language,
                "model": machine.model,
                "duration": machine.duration,
                "passages": [p.to_dict() for p in passages],
            },
            ensure_ascii=False,
            indent=2,
        )
    )
