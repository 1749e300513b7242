"""`flask search ...`: rebuild the index, bring it up to date, or show its state."""

from __future__ import annotations

import time

import click
from flask.cli import with_appcontext

from search import SearchUnavailable


@click.group("search")
def search_cli() -> None:
    """Look after the search index."""


@search_cli.command("reindex")
@with_appcontext
def reindex_command() -> None:
    """Rebuild the index from the database; searches keep working until the switch."""
    from storyhub.finder.indexing import get_backend, reindex

    started = time.perf_counter()
    click.echo(f"Rebuilding the {get_backend().name} search index from the database...")

    def progress(count: int) -> None:
        click.echo(f"  {count:,} passages written")

    try:
        count = reindex(progress)
    except SearchUnavailable as err:
        raise click.ClickException(str(err)) from err
    click.echo(f"Done: {count:,} passages indexed in {time.perf_counter() - started:.1f} s.")


@search_cli.command("sync")
@with_appcontext
def sync_command() -> None:
    """Index every change still waiting (the worker does this by itself after each change)."""
    from storyhub.finder.indexing import sync_pending

    try:
        click.echo(f"{sync_pending()} stories brought up to date.")
    except SearchUnavailable as err:
        raise click.ClickException(str(err)) from err


@search_cli.command("status")
@with_appcontext
def status_command() -> None:
    """Show the engine, its health, its size and how far behind the database it is."""
    from storyhub.finder.indexing import get_backend, index_lag

    stats = get_backend().stats()
    lag = index_lag()
    click.echo(f"engine: {stats.engine} ({'healthy' if stats.healthy else 'NOT healthy'})")
    click.echo(f"passages indexed: {stats.documents:,}; size: {stats.size_bytes / 1e6:.1f} MB")
    click.echo(f"changes waiting: {lag['waiting']}; oldest: {lag['oldest_seconds']:.0f} s")
    click.echo(stats.detail)
