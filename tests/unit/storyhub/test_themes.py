"""Outcome themes in the app: the taxonomy in the database, suggestions in the pipeline, curators'
decisions (who and when), span tags, learning from confirmations, erasure, admin, and the CLI."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select

from consent.models import Audience
from consent.services import Choices, erase, release
from media_pipeline.passages import Passage as CutPassage
from media_pipeline.transcribe import Transcript as MachineTranscript
from media_pipeline.transcribe import Word
from storyhub.extensions import db
from storyhub.models import AuditEvent, Job, Passage, Role, StoryState
from storyhub.themes import services
from storyhub.themes.models import PassageTheme, Subtheme, TaggerModel, TagStatus, ThemeKind
from storyhub.transcripts import merge_with_next, save_machine_transcript, split_passage
from tests.conftest import csrf_token

pytestmark = pytest.mark.slow

LISTENED = (
    "The social worker sat with my mother for an hour and wrote down what she wanted, "
    "not what the form said."
)
NEUTRAL = "I was born in 1948 in a house on Station Road, the youngest of five."
WALKING = "After six weeks with the physio I can walk to the post office again on my own."


def give_words(story: Any, texts: list[str]) -> list[Passage]:
    """Replace the story's transcript with passages of ``texts`` (half a second a word)."""
    clock, cuts, all_words = 0.0, [], []
    for text in texts:
        words = []
        for token in text.split():
            words.append(Word(clock, clock + 0.4, " " + token))
            clock += 0.5
        cuts.append(CutPassage(words[0].start, words[-1].end, text, words))
        all_words += words
        clock += 1.0
    save_machine_transcript(story, MachineTranscript("en", clock, all_words, model="test"), cuts)
    db.session.commit()
    return sorted(story.passages, key=lambda p: p.position)


@pytest.fixture
def story(make_story: Callable[..., Any]) -> Any:
    made = make_story(title="Mum's care")
    assert made.state == StoryState.READY, made.failure_message
    return made


def tags(passage: Passage, status: TagStatus | None = None) -> dict[str, PassageTheme]:
    db.session.refresh(passage)
    return {t.subtheme.key: t for t in passage.themes if status is None or t.status == status}


def test_migrations_load_the_taxonomy_and_setup_adds_only_whats_missing(app: Flask) -> None:
    assert db.session.scalar(select(func.count()).select_from(Subtheme)) == 18
    listened = db.session.scalar(select(Subtheme).where(Subtheme.key == "listened-to"))
    assert listened is not None and listened.kind == ThemeKind.PROCESS
    assert services.load_taxonomy() == 0
    db.session.delete(listened)
    db.session.flush()
    assert services.load_taxonomy() == 1


def test_the_pipeline_suggests_themes_with_a_confidence(story: Any) -> None:
    listened, neutral, walking = give_words(story, [LISTENED, NEUTRAL, WALKING])
    assert services.suggest_for_story(story) > 0
    db.session.commit()
    assert all(p.themes_suggested_at is not None for p in story.passages)
    suggested = tags(listened, TagStatus.SUGGESTED)
    assert "listened-to" in suggested
    assert 0.5 <= (suggested["listened-to"].confidence or 0) <= 1
    assert suggested["listened-to"].decided_by is None
    assert "mobility" in tags(walking, TagStatus.SUGGESTED)
    assert tags(neutral) == {}
    # Asking again leaves the passages it already did alone.
    assert services.suggest_for_story(story) == 0


def test_welsh_passages_get_no_machine_suggestions(story: Any) -> None:
    from storyhub.models import Language

    story.language = Language.WELSH
    (passage,) = give_words(story, [LISTENED])
    services.suggest_for_story(story)
    db.session.commit()
    assert tags(passage) == {} and passage.themes_suggested_at is not None


def post(client: Any, url: str, story: Any, **data: Any) -> Any:
    data["csrf_token"] = csrf_token(client, f"/stories/{story.id}")
    return client.post(url, data=data)


def test_a_curator_confirms_rejects_and_adds_and_each_decision_says_who_and_when(
    story: Any, login_as: Callable[..., Any]
) -> None:
    listened, neutral, walking = give_words(story, [LISTENED, NEUTRAL, WALKING])
    services.suggest_for_story(story)
    db.session.commit()
    curator, who = login_as(Role.CURATOR)
    page = curator.get(f"/stories/{story.id}").get_data(as_text=True)
    assert "theme-suggested" in page and "% sure" in page

    tag = tags(listened)["listened-to"]
    response = post(curator, f"/stories/{story.id}/themes/{tag.id}/confirm", story)
    assert response.status_code == 302
    confirmed = tags(listened)["listened-to"]
    assert confirmed.status == TagStatus.CONFIRMED
    assert confirmed.decided_by_id == who.id and confirmed.decided_at is not None
    page = curator.get(f"/stories/{story.id}").get_data(as_text=True)
    assert f"Confirmed by {who.display_name}" in page

    other = tags(walking)["mobility"]
    post(curator, f"/stories/{story.id}/themes/{other.id}/reject", story)
    assert tags(walking)["mobility"].status == TagStatus.REJECTED

    stigma = db.session.scalar(select(Subtheme).where(Subtheme.key == "dealing-with-stigma"))
    assert stigma is not None
    post(
        curator,
        f"/stories/{story.id}/passages/{neutral.id}/themes",
        story,
        subtheme=stigma.id,
        valence="negative",
    )
    added = tags(neutral)["dealing-with-stigma"]
    assert added.status == TagStatus.CONFIRMED and added.confidence is None
    assert added.valence is not None and added.valence.value == "negative"
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"theme.confirmed", "theme.rejected"} <= actions
    # Each decision queued a refit; the immediate queue has already run them.
    assert db.session.scalar(select(func.count()).select_from(TaggerModel)) >= 1


def test_a_curator_tags_a_span_of_words(story: Any, login_as: Callable[..., Any]) -> None:
    (passage,) = give_words(story, [LISTENED])
    curator, _ = login_as(Role.CURATOR)
    respect = db.session.scalar(select(Subtheme).where(Subtheme.key == "treated-with-respect"))
    assert respect is not None
    post(
        curator,
        f"/stories/{story.id}/passages/{passage.id}/themes",
        story,
        subtheme=respect.id,
        words="wrote down what she wanted",
    )
    tag = tags(passage)["treated-with-respect"]
    first = next(w for w in passage.words if w["text"].strip() == "wrote")
    last = next(w for w in passage.words if w["text"].strip() == "wanted,")
    assert (tag.span_start, tag.span_end) == (first["start"], last["end"])
    page = curator.get(f"/stories/{story.id}").get_data(as_text=True)
    assert "“wrote down what she wanted,”" in page
    # Words that aren't there are refused kindly, and nothing is added.
    response = post(
        curator,
        f"/stories/{story.id}/passages/{passage.id}/themes",
        story,
        subtheme=respect.id,
        words="sang a song",
    )
    assert response.status_code == 302
    assert len(tags(passage)) == 1


def test_the_script_gets_the_new_panel_without_a_page_load(
    story: Any, login_as: Callable[..., Any]
) -> None:
    (passage,) = give_words(story, [LISTENED])
    services.suggest_for_story(story)
    db.session.commit()
    curator, _ = login_as(Role.CURATOR)
    tag = tags(passage)["listened-to"]
    token = csrf_token(curator, f"/stories/{story.id}")
    response = curator.post(
        f"/stories/{story.id}/themes/{tag.id}/confirm",
        data={"csrf_token": token},
        headers={"X-Requested-With": "storyhub-themes"},
    )
    body = response.get_json()
    assert response.status_code == 200 and body["ok"]
    assert body["html"].startswith(f'<div class="themes" id="themes-{passage.id}"')
    assert "theme-confirmed" in body["html"]


def test_forged_values_and_other_peoples_ids_are_refused(
    story: Any, make_story: Callable[..., Any], login_as: Callable[..., Any]
) -> None:
    (passage,) = give_words(story, [LISTENED])
    services.suggest_for_story(story)
    other = make_story(title="Someone else's")
    (other_passage,) = give_words(other, [WALKING])
    services.suggest_for_story(other)
    db.session.commit()
    other_tag = next(iter(tags(other_passage).values()))
    curator, _ = login_as(Role.CURATOR)
    # A tag of another story, through this story's URL.
    assert (
        post(curator, f"/stories/{story.id}/themes/{other_tag.id}/confirm", story).status_code
        == 404
    )
    assert (
        post(
            curator, f"/stories/{story.id}/passages/{other_passage.id}/themes", story, subtheme=1
        ).status_code
        == 404
    )
    # A subtheme that doesn't exist, or a made-up experience value.
    before = len(tags(passage))
    response = post(
        curator, f"/stories/{story.id}/passages/{passage.id}/themes", story, subtheme="99999"
    )
    assert response.status_code == 302 and len(tags(passage)) == before
    tag = next(iter(tags(passage).values()))
    assert (
        post(
            curator, f"/stories/{story.id}/themes/{tag.id}/confirm", story, valence="ecstatic"
        ).status_code
        == 400
    )
    assert tags(passage)[tag.subtheme.key].status == TagStatus.SUGGESTED


def test_only_curators_decide_and_others_see_confirmed_themes_only(
    story: Any, login_as: Callable[..., Any]
) -> None:
    listened, walking = give_words(story, [LISTENED, WALKING])
    services.suggest_for_story(story)
    db.session.commit()
    tag = tags(listened)["listened-to"]
    services.confirm(tag, db.session.get(type(story.storyteller), story.storyteller_id))
    db.session.commit()
    release(story, story.storyteller, Choices(audiences={Audience.TRAINING}), watched=True)
    db.session.commit()
    walking_tag = tags(walking)["mobility"]

    trainer, _ = login_as(Role.TRAINER)
    page = trainer.get(f"/stories/{story.id}").get_data(as_text=True)
    assert "Listened to" in page and "theme-confirmed" in page
    assert "theme-suggested" not in page and "Add a theme" not in page
    assert (
        post(trainer, f"/stories/{story.id}/themes/{walking_tag.id}/confirm", story).status_code
        == 403
    )

    teller = story.storyteller
    from tests.conftest import login

    client = trainer.application.test_client()
    login(client, teller.username)
    assert (
        post(client, f"/stories/{story.id}/themes/{walking_tag.id}/confirm", story).status_code
        == 403
    )
    assert tags(walking)["mobility"].status == TagStatus.SUGGESTED


def test_confirming_a_handful_of_passages_changes_later_suggestions(
    story: Any, make_story: Callable[..., Any], login_as: Callable[..., Any], app: Flask
) -> None:
    """An organisation adds its own theme; after curators confirm it on four passages, the
    tagger suggests it for a new story about the same thing (it had never suggested it)."""
    admin, _ = login_as(Role.ADMIN)
    token = csrf_token(admin, "/admin/themes")
    admin.post(
        "/admin/themes",
        data={
            "csrf_token": token,
            "kind": "maintenance",
            "label": "Pets and animals",
            "description": "",
        },
    )
    pets = db.session.scalar(select(Subtheme).where(Subtheme.label == "Pets and animals"))
    assert pets is not None and pets.key == "pets-and-animals"
    about_pets = [
        "My little dog Bess is the reason I get out of bed and go round the park.",
        "The cat sits on my lap every evening and I talk to her about my day.",
        "When they said I couldn't take my budgie into the home I nearly refused to go.",
        "Feeding the birds and watching the robin come to the feeder keeps me going.",
    ]
    new_story = make_story(title="Later story")
    (later,) = give_words(
        new_story, ["Walking my dog Patch round the field every morning is what keeps me going."]
    )
    services.suggest_for_story(new_story)
    db.session.commit()
    assert "pets-and-animals" not in tags(later)

    curator, _ = login_as(Role.CURATOR)
    for passage in give_words(story, about_pets):
        post(curator, f"/stories/{story.id}/passages/{passage.id}/themes", story, subtheme=pets.id)
    assert db.session.scalar(select(func.count()).select_from(TaggerModel)) >= 1
    _, adaptation, tagger_id = services.current_tagger()
    assert adaptation is not None and adaptation.decisions == 4 and tagger_id is not None
    assert adaptation.new_labels == ("pets-and-animals",)

    services.suggest_for_story(new_story, again=True)
    db.session.commit()
    suggested = tags(later, TagStatus.SUGGESTED)
    assert "pets-and-animals" in suggested
    assert suggested["pets-and-animals"].tagger_id == tagger_id


def test_splits_and_joins_keep_curators_decisions(
    story: Any, make_user: Callable[..., Any]
) -> None:
    curator = make_user(Role.CURATOR)
    first, second = give_words(story, [LISTENED, WALKING])
    by_key = {s.key: s for s in services.all_subthemes()}
    services.add_tag(first, by_key["listened-to"], curator)
    mid = first.words[6]
    services.add_tag(
        first, by_key["treated-with-respect"], curator, span=(mid["start"], first.words[-1]["end"])
    )
    services.add_tag(second, by_key["mobility"], curator)
    db.session.commit()

    new = split_passage(first, 5, curator)
    db.session.commit()
    assert set(tags(first, TagStatus.CONFIRMED)) == {"listened-to"}
    assert set(tags(new, TagStatus.CONFIRMED)) == {"listened-to", "treated-with-respect"}

    merge_with_next(new, curator)
    db.session.commit()
    joined = tags(new, TagStatus.CONFIRMED)
    assert {"listened-to", "treated-with-respect", "mobility"} <= set(joined)
    assert joined["mobility"].span_start == second.start  # it still marks the words it was on


def test_corrected_words_get_fresh_suggestions_and_decisions_stay(
    story: Any, make_user: Callable[..., Any]
) -> None:
    from storyhub.transcripts import edit_passage

    curator = make_user(Role.CURATOR)
    (passage,) = give_words(story, [NEUTRAL])
    services.suggest_for_story(story)
    respect = next(s for s in services.all_subthemes() if s.key == "treated-with-respect")
    services.add_tag(passage, respect, curator)
    db.session.commit()
    assert set(tags(passage, TagStatus.SUGGESTED)) == set()
    edit_passage(passage, WALKING, curator)
    db.session.commit()  # the suggestion job runs after the commit
    assert "mobility" in tags(passage, TagStatus.SUGGESTED)
    assert tags(passage)["treated-with-respect"].status == TagStatus.CONFIRMED


def test_erasing_a_story_removes_its_words_its_tags_and_what_was_learnt(
    story: Any, make_user: Callable[..., Any]
) -> None:
    curator = make_user(Role.CURATOR)
    (passage,) = give_words(story, [LISTENED])
    services.add_tag(passage, services.all_subthemes()[0], curator)
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(TaggerModel)) == 1
    erase(story, story.storyteller)
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Passage)) == 0
    assert db.session.scalar(select(func.count()).select_from(PassageTheme)) == 0
    assert story.transcript is None
    # The refit after erasure has no curator examples left: back to the shipped tagger.
    assert db.session.scalar(select(func.count()).select_from(TaggerModel)) == 0
    assert services.current_tagger()[1:] == (None, None)
    refits = db.session.scalars(select(Job).where(Job.kind == services.REFIT_TAGGER))
    assert all(job.state.value == "done" for job in refits)


def test_admins_add_and_rename_themes_and_tags_stay(
    story: Any, login_as: Callable[..., Any], make_user: Callable[..., Any]
) -> None:
    (passage,) = give_words(story, [LISTENED])
    listened = next(s for s in services.all_subthemes() if s.key == "listened-to")
    services.add_tag(passage, listened, make_user(Role.CURATOR))
    db.session.commit()
    admin, _ = login_as(Role.ADMIN)
    page = admin.get("/admin/themes").get_data(as_text=True)
    assert "Listened to" in page and "1 confirmed tag" in page
    token = csrf_token(admin, "/admin/themes")
    admin.post(
        f"/admin/themes/{listened.id}",
        data={
            "csrf_token": token,
            "label": "Heard and understood",
            "description": "Someone asked what matters.",
        },
    )
    db.session.refresh(listened)
    assert listened.label == "Heard and understood" and listened.key == "listened-to"
    assert tags(passage)["listened-to"].subtheme.label == "Heard and understood"
    # Kinds are fixed; names are unique; others can't touch the list.
    admin.post("/admin/themes", data={"csrf_token": token, "kind": "wellbeing", "label": "X"})
    admin.post(
        "/admin/themes",
        data={"csrf_token": token, "kind": "process", "label": "heard and understood"},
    )
    assert db.session.scalar(select(func.count()).select_from(Subtheme)) == 18
    curator, _ = login_as(Role.CURATOR)
    assert curator.get("/admin/themes").status_code == 403


def test_cli_tags_a_file_and_measures_against_labels(
    runner: FlaskCliRunner, tmp_path: Path
) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(
        "\n".join(
            json.dumps(row)
            for row in [
                {"id": "a", "text": LISTENED, "labels": ["process"]},
                {"id": "b", "text": WALKING, "labels": ["change"]},
                {"id": "c", "text": NEUTRAL, "labels": ["none"]},
            ]
        )
    )
    target = tmp_path / "out.jsonl"
    result = runner.invoke(args=["themes", "tag", str(source), str(target)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in target.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["a", "b", "c"]
    assert "process" in rows[0]["labels"] and "listened-to" in rows[0]["subthemes"]
    assert set(rows[0]["scores"]) >= {"maintenance", "process", "change", "listened-to"}
    assert rows[2]["labels"] == [] and rows[2]["subthemes"] == []

    result = runner.invoke(args=["themes", "evaluate", str(source)])
    assert result.exit_code == 0, result.output
    assert "macro-F1" in result.output and "process" in result.output

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1}\n')
    result = runner.invoke(args=["themes", "tag", str(bad), str(target)])
    assert result.exit_code != 0 and 'needs a "text"' in result.output


def test_two_stories_with_the_same_words_processed_at_once_both_keep_their_embeddings(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two jobs (worker threads or processes) embed the same new passage at the same time: the
    cache keeps one copy and neither job fails (the second story's job used to fail)."""
    import threading

    import numpy as np

    from storyhub.themes.models import TextEmbedding

    monkeypatch.setattr(
        services, "embed", lambda texts: np.ones((len(texts), 384), dtype=np.float32)
    )
    words = ["Thank you for listening to my story."]
    services.vectors_for(words)  # this job embedded them and is about to commit
    failures: list[BaseException] = []

    def other_job() -> None:
        with app.app_context():
            try:
                services.vectors_for(words)
                db.session.commit()
            except BaseException as exc:
                failures.append(exc)
            finally:
                db.session.remove()

    other = threading.Thread(target=other_job)
    other.start()
    other.join(timeout=1)  # it stores them first (or waits for this job's commit)
    db.session.commit()
    other.join()
    assert failures == []
    assert db.session.scalar(select(func.count()).select_from(TextEmbedding)) == 1


# Slow (about 20 s): fits taggers on the seed set for each fold.
@pytest.mark.slow
def test_cli_cross_validates_a_labelled_file(runner: FlaskCliRunner, tmp_path: Path) -> None:
    from media_pipeline.tagger import real_rows

    source = tmp_path / "real.jsonl"
    source.write_text("\n".join(json.dumps(row) for row in real_rows()[:12]))
    result = runner.invoke(args=["themes", "evaluate", str(source)])
    assert result.exit_code == 0, result.output
    assert "12 of these passages are among those the tagger learnt from" in result.output

    result = runner.invoke(
        args=["themes", "evaluate", "--cv", "--repeats", "1", "--folds", "2", str(source)]
    )
    assert result.exit_code == 0, result.output
    assert "1 x 2-fold cross-validation, 12 passages" in result.output
    assert "macro-F1 over maintenance, process, change:" in result.output
    assert "Reliability" in result.output and "Expected calibration error" in result.output

    result = runner.invoke(args=["themes", "evaluate", "--cv", "--folds", "9", str(source)])
    assert result.exit_code != 0 and "between 2 folds and half the passages" in result.output
