"""Fuzz every operation of the JSON API from its own OpenAPI document (schemathesis).

The app runs in-process (WSGI) on a database built by the real migrations, and every request
carries a real API token of a curator (the role that may use every operation). Real objects exist
(stories, a clip, a session with items, an export and its job), and three generated ids in four
are swapped for theirs, so requests get past "not found" into the code behind it.

Each operation gets schema-valid and schema-invalid requests (schemathesis' positive and negative
modes, plus its coverage cases), and every answer must be:
- never a server error (not_a_server_error);
- a status code the document lists for that operation (status_code_conformance);
- of a content type the document lists for that status (content_type_conformance);
- valid against the document's schema for that status (response_schema_conformance);
- a 4xx for a request the document says is invalid (negative_data_rejection), except for the
  search and outcomes filters (see the config below).
Not checked: that every schema-valid request is accepted (positive_data_acceptance). The API has
rules a schema can't state (a theme that must exist, a file that must be media, word numbers
inside the story, consent that must allow clips), and it refuses those with a reason (400/422).

Bounded and deterministic: at most MAX_EXAMPLES generated requests per operation, derandomized
(the same requests on every run, so CI is stable), no example database.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask_migrate import upgrade
from hypothesis import strategies as st

from consent.models import Audience
from storyhub import create_app
from storyhub.api import openapi_document
from storyhub.auth.services import create_user, issue_api_token
from storyhub.extensions import db
from storyhub.models import Role
from storyhub.training import exports, services
from tests.search_factory import make_story
from tests.training_factory import clip_story

MAX_EXAMPLES = 100
# Only these, named (a newer schemathesis with more checks runs the same ones).
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
]
PASSAGES = [
    "Nobody asked me what I wanted after the stroke",
    "Then a social worker listened to me and things changed",
]
TRAINING = {Audience.TRAINING, Audience.STATISTICS}
# Three generated ids in four become real ones: made-up ids only ever meet the same "not found".
REAL_ID_ODDS = st.integers(0, 3).map(bool)


class AppUnderTest:
    """The app the fixture builds, for a schema loaded (at import) before any app exists.

    Every request, the checks' own included, goes in-process to this app, never to a network.
    """

    app: Flask | None = None

    def __call__(self, environ: Any, start_response: Any) -> Any:
        assert self.app is not None, "the fuzzed fixture sets the app"
        return self.app(environ, start_response)


APP = AppUnderTest()
# The document as the app builds it (the fixture checks the served one is the same), loaded now
# so pytest lists one test per operation.
schema = schemathesis.openapi.from_dict(
    openapi_document(),
    config=schemathesis.Config.from_dict(
        {
            "generation": {
                "max-examples": MAX_EXAMPLES,
                # The same requests on every run, so CI is stable; no saved failures to replay.
                "deterministic": True,
                "database": "none",
                # Every request carries the real token (below). Requests without one are the
                # business of test_api, which checks every way of getting it wrong.
                "with-security-parameters": False,
                # Unknown query parameters are ignored, as HTTP APIs do; not a fault.
                "allow-extra-parameters": False,
            },
            "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
            "operations": [
                {
                    # The search and outcomes filters are the site's forms: every value is text
                    # and an empty one means "no filter". What a query string can't carry (a
                    # list for one value, an object, null) arrives as one of those and is rightly
                    # taken; whether wrong values are refused is test_search_pages' business
                    # ("more like this" takes the same filters).
                    "include-path-regex": "^/(search|outcomes|passages/[^/]+/similar)",
                    "checks": {"negative_data_rejection": {"enabled": False}},
                }
            ],
            # Timing depends on the machine; everything else about the run is fixed.
            "suppress-health-check": ["too_slow"],
        }
    ),
)
schema.app = APP


@dataclass
class Fuzzed:
    token: str
    # Real ids by path parameter name, for the operations that don't need their own (below).
    ids: dict[str, list[int]]
    # Stories whose consent the fuzzer may change: not the one the clip and session are cut from,
    # or a withdrawal early on would leave nothing usable for the operations after it.
    consent_story_ids: list[int]
    # Deleting is done to spare objects, so the shared ones last the whole run.
    spare_ids: dict[str, list[int]]

    def real_ids(self, method: str, path: str, name: str) -> list[int]:
        if name == "story_id" and "/consent" in path:
            return self.consent_story_ids
        if method == "DELETE" and path.endswith("{" + name + "}"):
            return self.spare_ids.get(name, [])
        return self.ids.get(name, [])


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    tmp = tmp_path_factory.mktemp("api-fuzz")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("STORYHUB_INSTANCE_PATH", str(tmp / "instance"))
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "fuzz",
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'fuzz.sqlite3'}",
                "MEDIA_ROOT": str(tmp / "media"),
                # Jobs wait in the real embedded queue with no worker, so the API only asks for
                # work (as in production) and the fuzzer never waits for ffmpeg or Whisper.
                "QUEUE_URL": f"sqlite:///{tmp / 'queue.sqlite3'}",
                "SEARCH_PATH": str(tmp / "search"),
                "MAX_UPLOAD_MB": 1,
                "SERVER_NAME": "storyhub.test",
            }
        )
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        served = app.test_client().get("/api/v1/openapi.json").get_json()
        assert served == openapi_document(), "the fuzzer must use the document the API serves"
        APP.app = app
        try:
            yield _make_objects()
        finally:
            APP.app = None
            db.session.remove()
            db.engine.dispose()


def _make_objects() -> Fuzzed:
    curator = create_user("fuzzer", "correct horse battery", Role.CURATOR, "Fuzz Curator")
    teller = create_user("teller", "correct horse battery", Role.STORYTELLER, "Teller")
    db.session.commit()
    shared = clip_story(teller, PASSAGES, title="Shared", audiences=TRAINING)
    private = make_story(teller, PASSAGES, title="Private")
    for_consent = clip_story(teller, PASSAGES, title="For consent", audiences=TRAINING)
    clip = services.create_clip(curator, shared, 0, 5, "A clip", "A note")
    spare_clip = services.create_clip(curator, shared, 2, 4, "Spare clip")
    session = services.create_session(curator, "A session", "For the fuzzer")
    spare_session = services.create_session(curator, "Spare session")
    db.session.flush()
    heading = services.add_item(curator, session, "heading", text="Start")
    services.add_item(curator, session, "clip", clip_id=clip.id)
    spares = [services.add_item(curator, session, "prompt", text=f"Talk {n}") for n in range(3)]
    db.session.flush()
    export = exports.request_export(curator, session, burn_captions=False)
    token = issue_api_token(curator, "fuzz")
    db.session.commit()
    return Fuzzed(
        token=token,
        ids={
            "story_id": [shared.id, private.id],
            "passage_id": [shared.passages[0].id, private.passages[0].id],  # "more like this"
            "clip_id": [clip.id],
            "session_id": [session.id],
            "item_id": [heading.id],
            "export_id": [export.id],
            "job_id": [export.job_id or 0],
        },
        consent_story_ids=[for_consent.id, private.id],
        spare_ids={
            "clip_id": [spare_clip.id],
            "session_id": [spare_session.id],
            "item_id": [item.id for item in spares],
        },
    )


def _is_id(value: Any) -> bool:
    """A whole number (not a bool), so swapping in a real id keeps a request valid or invalid."""
    return isinstance(value, int) and not isinstance(value, bool)


@schema.parametrize()
@schema.given(data=st.data())
def test_every_operation_answers_as_documented_and_never_with_a_server_error(
    case: Any, data: st.DataObject, fuzzed: Fuzzed
) -> None:
    method, path = case.operation.method.upper(), case.operation.path
    for name, value in (case.path_parameters or {}).items():
        real = fuzzed.real_ids(method, path, name)
        if real and _is_id(value) and data.draw(REAL_ID_ODDS):
            case.path_parameters[name] = data.draw(st.sampled_from(real))
    # Ids inside JSON bodies too (a clip's story, a session item's clip).
    if isinstance(case.body, dict):
        for name in ("story_id", "clip_id"):
            real = fuzzed.ids[name]
            if _is_id(case.body.get(name)) and data.draw(REAL_ID_ODDS):
                case.body[name] = data.draw(st.sampled_from(real))
    case.call_and_validate(headers={"Authorization": f"Bearer {fuzzed.token}"})
