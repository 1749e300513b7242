"""`flask search ...`: rebuild the index, bring it up to date, show its state, or rank a corpus."""

from __future__ import annotations

import json
import time
from typing import Any

import click
from flask.cli import with_appcontext

from search import SearchMode, SearchUnavailable


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


@search_cli.command("rank")
@click.argument("corpus", type=click.File(encoding="utf-8"))
@click.argument("queries", type=click.File(encoding="utf-8"))
@click.argument("out", type=click.File("w", encoding="utf-8"))
@click.option(
    "--mode",
    type=click.Choice([m.value for m in SearchMode]),
    default=SearchMode.HYBRID.value,
    show_default=True,
    help="Match by words, by meaning, or both fused (as the search page does).",
)
@with_appcontext
def rank_command(corpus: Any, queries: Any, out: Any, mode: str) -> None:
    """Rank CORPUS.jsonl ({"id", "text"} lines) for each of QUERIES.jsonl ({"id", "query"}) as
    live search would, writing {"id", "ranked": [up to 20 ids]} lines to OUT.jsonl."""
    from storyhub.finder.ranking import BadCorpus, rank, read_jsonl

    try:
        passages = read_jsonl(corpus, ("id", "text"), "corpus")
        asked = read_jsonl(queries, ("id", "query"), "queries")
    except BadCorpus as err:
        raise click.ClickException(str(err)) from err
    started = time.perf_counter()
    try:
        for line in rank(passages, asked, SearchMode(mode)):
            out.write(json.dumps(line) + "\n")
    except SearchUnavailable as err:
        raise click.ClickException(str(err)) from err
    seconds = time.perf_counter() - started
    click.echo(
        f"Ranked {len(passages):,} passages for {len(asked)} queries ({mode}) in {seconds:.1f} s.",
        err=True,
    )
