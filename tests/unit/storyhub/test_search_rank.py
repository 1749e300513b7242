"""`flask search rank`: a corpus ranked as live search would, for measuring relevance."""

from __future__ import annotations

import json
from pathlib import Path

from flask.testing import FlaskCliRunner

CORPUS = [
    {"id": "hermit", "text": "Most of my friends have drifted off; I'm close to being a hermit."},
    {"id": "bus", "text": "The bus pass means I can get to the market on Tuesdays."},
    {"id": "carer", "text": "My carer listened to me and sorted out my medication."},
    {
        "id": "cymraeg",
        "text": "Mae fy ffrindiau wedi mynd, dw i ar fy mhen fy hun.",
        "language": "cy",
    },
]
QUERIES = [
    {"id": "q1", "query": "feeling lonely and isolated"},  # no word in common with "hermit"
    {"id": "q2", "query": '"bus pass"'},
    {"id": "q3", "query": "ffrindiau"},
]


def write_jsonl(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def rank(runner: FlaskCliRunner, tmp_path: Path, *options: str) -> dict[str, list[str]]:
    corpus = write_jsonl(tmp_path / "corpus.jsonl", CORPUS)
    queries = write_jsonl(tmp_path / "queries.jsonl", QUERIES)
    out = tmp_path / "out.jsonl"
    result = runner.invoke(args=["search", "rank", str(corpus), str(queries), str(out), *options])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["id"] for line in lines] == ["q1", "q2", "q3"]  # one line a query, in order
    return {line["id"]: line["ranked"] for line in lines}


def test_hybrid_ranks_by_meaning_and_keeps_phrases_strict(
    runner: FlaskCliRunner, tmp_path: Path
) -> None:
    ranked = rank(runner, tmp_path)  # hybrid by default, as the search page
    assert ranked["q1"][0] == "hermit"
    assert "cymraeg" not in ranked["q1"]  # an English model doesn't rank Welsh by meaning
    assert ranked["q2"] == ["bus"]  # a quoted phrase must be there, in every mode
    assert ranked["q3"] == ["cymraeg"]  # Welsh is found by its words


def test_words_mode_needs_every_word(runner: FlaskCliRunner, tmp_path: Path) -> None:
    ranked = rank(runner, tmp_path, "--mode", "words")
    assert ranked["q1"] == []
    assert ranked["q2"] == ["bus"]


def test_a_bad_corpus_line_is_a_clear_error(runner: FlaskCliRunner, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text('{"id": "a", "text": "fine"}\n{"id": "b"}\n')
    queries = write_jsonl(tmp_path / "queries.jsonl", QUERIES)
    result = runner.invoke(
        args=["search", "rank", str(corpus), str(queries), str(tmp_path / "out.jsonl")]
    )
    assert result.exit_code != 0
    assert "corpus line 2 needs id and text" in result.output
