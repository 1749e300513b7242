"""`flask themes ...`: tag and measure with the shipped tagger; refit and re-suggest in place."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any, TextIO

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from media_pipeline.tagger import (
    KINDS,
    cross_validate_shipped,
    embed,
    evaluate,
    expected_calibration_error,
    real_rows,
    reliability,
    shipped_model,
)


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise click.ClickException(f"{path}:{number}: not JSON ({err.msg}).") from err
            if not isinstance(row, dict) or not isinstance(row.get("text"), str):
                raise click.ClickException(f'{path}:{number}: each line needs a "text".')
            rows.append(row)
    return rows


def _open_out(target: str) -> TextIO:
    return sys.stdout if target == "-" else open(target, "w", encoding="utf-8")


@click.group("themes")
def themes() -> None:
    """Outcome themes: tag passages, measure the tagger, learn from curators."""


@themes.command("tag")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("target", type=click.Path(dir_okay=False, allow_dash=True))
def tag_command(source: Path, target: str) -> None:
    """Tag lines {"id", "text"} of SOURCE; write {"id", "labels", "subthemes", "scores"} to TARGET.

    Uses the shipped tagger only (fitted to the seed set), never an organisation's own.
    """
    rows = _read_jsonl(source)
    started = time.perf_counter()
    model = shipped_model()
    texts = [row["text"] for row in rows]
    suggestions = model.suggest(embed(texts), texts)
    with _open_out(target) as out:
        for row, suggestion in zip(rows, suggestions, strict=True):
            out.write(
                json.dumps(
                    {
                        "id": row.get("id"),
                        "labels": list(suggestion.kinds),
                        "subthemes": list(suggestion.subthemes),
                        "scores": dict(suggestion.scores),
                    }
                )
                + "\n"
            )
    elapsed = time.perf_counter() - started
    click.echo(f"Tagged {len(rows)} passages in {elapsed:.1f} s.", err=True)


@themes.command("evaluate")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--cv",
    "cross_validated",
    is_flag=True,
    help="Cross-validate instead: each fold scored by a tagger trained without it.",
)
@click.option("--repeats", default=5, show_default=True, help="With --cv: how many times.")
@click.option("--folds", default=5, show_default=True, help="With --cv: parts per repeat.")
def evaluate_command(source: Path, cross_validated: bool, repeats: int, folds: int) -> None:
    """Per-kind precision, recall and F1, and macro-F1, of the shipped tagger on SOURCE's labels.

    With --cv, SOURCE's passages are split into folds instead, and each fold is scored by a
    tagger fitted and calibrated as the shipped one is but without that fold: an honest figure
    for passages the tagger has not seen, even when SOURCE is among what it learnt from.
    """
    rows = _read_jsonl(source)
    if any(not isinstance(row.get("labels"), list) for row in rows):
        raise click.ClickException('Each line needs "labels" (a list of kinds, or ["none"]).')
    if cross_validated:
        _cross_validate(rows, repeats, folds)
        return
    model = shipped_model()
    texts = [row["text"] for row in rows]
    suggestions = model.suggest(embed(texts), texts)
    result = evaluate([row["labels"] for row in rows], [s.kinds for s in suggestions])
    click.echo(f"{'kind':<13}{'precision':>10}{'recall':>8}{'F1':>7}{'passages':>10}")
    for score in result.kinds:
        click.echo(
            f"{score.kind:<13}{score.precision:>10.3f}{score.recall:>8.3f}"
            f"{score.f1:>7.3f}{score.support:>10}"
        )
    click.echo(
        f"macro-F1 over {', '.join(KINDS)}: {result.macro_f1:.3f} ({result.passages} passages)"
    )
    learnt = {row["text"] for row in real_rows()}
    seen = sum(1 for text in texts if text in learnt)
    if seen:
        click.echo(
            f"{seen} of these passages are among those the tagger learnt from, so this is not "
            "an honest estimate: use --cv for one."
        )


def _cross_validate(rows: list[dict[str, Any]], repeats: int, folds: int) -> None:
    if repeats < 1 or not 2 <= folds <= len(rows) // 2:
        raise click.ClickException(
            "Use at least 1 repeat, and between 2 folds and half the passages."
        )
    result = cross_validate_shipped(
        rows, repeats=repeats, folds=folds, progress=lambda done: click.echo(done, err=True)
    )
    click.echo(f"{repeats} x {folds}-fold cross-validation, {len(rows)} passages (mean ± sd)")
    click.echo(f"{'kind':<13}{'precision':>16}{'recall':>16}{'F1':>16}")
    for kind in KINDS:
        cells = "".join(
            "{:>16}".format("{:.3f} ± {:.3f}".format(*result.kind(kind, m)))
            for m in ("precision", "recall", "f1")
        )
        click.echo(f"{kind:<13}{cells}")
    mean, spread = result.macro_f1
    values = [r.macro_f1 for r in result.repeats]
    click.echo(
        f"macro-F1 over {', '.join(KINDS)}: {mean:.3f} ± {spread:.3f} "
        f"(repeats from {min(values):.3f} to {max(values):.3f})"
    )
    click.echo("Reliability of the kinds' calibrated scores (all folds and repeats):")
    click.echo(f"{'predicted':<12}{'scores':>8}{'mean predicted':>16}{'observed':>10}")
    for b in reliability(result.calibrated, result.truth):
        click.echo(f"{b.low:.1f}-{b.high:.1f}{b.count:>13}{b.predicted:>16.3f}{b.observed:>10.3f}")
    click.echo(
        "Expected calibration error: "
        f"{expected_calibration_error(result.raw, result.truth):.3f} before calibration, "
        f"{expected_calibration_error(result.calibrated, result.truth):.3f} after."
    )


@themes.command("refit")
@with_appcontext
def refit_command() -> None:
    """Learn again from every curator decision now (a new version of what the tagger learnt)."""
    from storyhub.extensions import db
    from storyhub.themes.services import refit

    row = refit()
    db.session.commit()
    if row is None:
        click.echo("No curator decisions yet: the shipped tagger is used.")
    else:
        click.echo(
            f"Learnt from {row.curator_examples} decisions on {row.examples} passages"
            f" (version {row.id}{', in use' if row.in_use else ', waiting for an administrator'})."
        )


@themes.command("suggest")
@click.option("--again", is_flag=True, help="Replace undecided suggestions on every passage.")
@with_appcontext
def suggest_command(again: bool) -> None:
    """Suggest themes for passages that have none yet (or for all, --again)."""
    from storyhub.extensions import db
    from storyhub.models import Story
    from storyhub.themes.services import suggest_for_story

    made = 0
    for story in db.session.scalars(select(Story).order_by(Story.id)):
        made += suggest_for_story(story, again=again)
        db.session.commit()
    click.echo(f"Made {made} suggestions.")
