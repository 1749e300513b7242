"""The authorisation matrix: every route in the URL map, asked by every role and by a visitor who
has not signed in, answers as the declared POLICY says; a route without a policy entry fails.

Then object-level checks: another storyteller's story, another trainer's clips and sessions (and
what sharing a session changes), and a showcase a member was not given are all refused.

How the app refuses (what the POLICY's ``not_found`` records):

- a visitor who has not signed in is sent to /login (pages) or gets 401 (the API);
- a signed-in person whose role can't use a feature at all gets 403;
- an object the person may not see or change (a story, clip, session, showcase) is "not found"
  (404), the same answer as a missing id, so ids can't be probed. The one kind of 403 about an
  object is for someone who may see it but whose role may not edit it that way (a teller
  redacting or tagging their own story, a trainer asking the API for a shared story's consent).

Every request uses real objects the asker is entitled to (their own clip and session, the
teller's own story, a showcase shared with the member), so an allowed request gets a real answer
(2xx, a redirect, or a 400 for an empty form) and a 404 always means a refusal. Forms are sent
with a valid CSRF token, so a refusal seen is the authorisation, never CSRF.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from consent.models import Audience
from storyhub.auth.services import create_invitation, hash_password, issue_api_token
from storyhub.extensions import db
from storyhub.models import Job, JobState, MediaFile, MediaRole, Passage, Role, Story, User
from storyhub.showcases import services as showcasing
from storyhub.showcases.models import Showcase, ShowcasePack
from storyhub.storage import get_storage
from storyhub.themes.models import PassageTheme, Subtheme, TagStatus
from storyhub.themes.services import REFIT_TAGGER
from storyhub.training import clip_files
from storyhub.training import services as training
from storyhub.training.models import Clip, Lesson, LessonExport
from tests import search_factory
from tests.conftest import PASSWORD, csrf_token, login
from tests.training_factory import clip_story, make_video

# --- the policy ------------------------------------------------------------------------------

Who = Role | None  # None: a visitor who has not signed in
EVERYONE: tuple[Who, ...] = (None, *Role)
STORYTELLER, CURATOR, TRAINER, MEMBER, ADMIN = (
    Role.STORYTELLER,
    Role.CURATOR,
    Role.TRAINER,
    Role.MEMBER,
    Role.ADMIN,
)


@dataclass(frozen=True)
class Rule:
    """Who may use a route. Signed-in roles outside ``allowed`` get 404 if in ``not_found``,
    else 403; a visitor outside it is sent to sign in (pages) or gets 401 (the API)."""

    allowed: frozenset[Who]
    not_found: frozenset[Role]
    why: str

    def refusal(self, who: Role) -> int:
        return 404 if who in self.not_found else 403


def anyone(why: str) -> Rule:
    """Public: no account needed."""
    return Rule(frozenset(EVERYONE), frozenset(), why)


def signed_in(why: str) -> Rule:
    """Every role (with objects that role may see)."""
    return Rule(frozenset(Role), frozenset(), why)


def only(*roles: Role, why: str, not_found: Iterable[Role] = ()) -> Rule:
    """These roles; the rest get 403, or 404 where the object is hidden from them."""
    hidden = frozenset(not_found)
    assert not hidden & set(roles), "an allowed role can't also be refused"
    return Rule(frozenset(roles), hidden, why)


def hidden_from_others(*roles: Role, why: str) -> Rule:
    """These roles; to every other role the object is simply not there (404)."""
    return only(*roles, why=why, not_found=set(Role) - set(roles))


STAFF = (CURATOR, ADMIN)
TELLER_AND_STAFF = (STORYTELLER, CURATOR, ADMIN)  # the matrix's storyteller tells its story
CLIPPERS = (TRAINER, CURATOR, ADMIN)
DASHBOARD = (TRAINER, MEMBER, CURATOR, ADMIN)
BUILDERS = (CURATOR, ADMIN)  # and trainers an administrator allows (not the matrix's trainer)

READ_STORY = signed_in(
    "whoever may see the story: its teller, staff, and the roles it is shared for"
)
MANAGE_STORY = hidden_from_others(
    *TELLER_AND_STAFF, why="the story's teller and staff; to viewers it is not there"
)
EDIT_THEMES = only(
    *STAFF, why="confirmed themes feed search and the dashboard: staff only, viewers get 403"
)
TRAINING = only(*CLIPPERS, why="trainers (and staff) with their own clips and sessions")
BUILD_SHOWCASE = hidden_from_others(*BUILDERS, why="those who look after the showcase")
WATCH_SHOWCASE = hidden_from_others(
    CURATOR, ADMIN, MEMBER, why="its builders and the members it is shared with"
)
API_CONSENT = only(
    *TELLER_AND_STAFF,
    why="teller and staff; a viewer of the story gets 403 (it exists for them), others 404",
)

POLICY: dict[str, Rule | dict[str, Rule]] = {
    # Public pages.
    "static": anyone("CSS and JavaScript"),
    "main.home": anyone("the welcome page, or each role's start page"),
    "main.healthz": anyone("for load balancers"),
    "auth.login": anyone("signing in (a signed-in person is sent home)"),
    "auth.join": anyone("the invitation link itself is the credential"),
    "api.openapi": anyone("the API's description"),
    "api_docs.page": anyone("the API's description, readable"),
    "api_docs.static": anyone("the API docs page's script"),
    "api_docs.swagger_ui": anyone("Swagger UI's files, for the API docs page"),
    "showcases.event": anyone("an event's guests type its code (the code is the credential)"),
    "language": anyone("the Cymraeg / English link on every page"),
    # Accounts.
    "auth.logout": signed_in("signing out"),
    "auth.invitations": only(*STAFF, why="curators invite storytellers, admins anyone"),
    "auth.invite": only(*STAFF, why="curators invite storytellers, admins anyone"),
    # Stories.
    "stories.index": signed_in("the stories this person may see"),
    "stories.mine": only(STORYTELLER, why="a teller's own stories (staff use the full list)"),
    "stories.upload": only(*TELLER_AND_STAFF, why="tellers upload their own; staff help them"),
    "stories.show": READ_STORY,
    "stories.media": READ_STORY,  # the web copy; the unredacted original: see the test below
    "stories.captions": READ_STORY,
    "stories.played": READ_STORY,  # the player's POST when playback starts (a view counted)
    "stories.job_status": READ_STORY,
    "stories.retry": MANAGE_STORY,
    "stories.consent_wizard": MANAGE_STORY,
    "stories.consent_renew": MANAGE_STORY,
    "stories.consent_withdraw": MANAGE_STORY,
    "stories.consent_erase": MANAGE_STORY,
    "stories.story_uses": MANAGE_STORY,
    "stories.reviews": only(*STAFF, why="staff chase consent reviews"),
    "stories.edit_passage_view": MANAGE_STORY,
    "stories.join_passage_view": MANAGE_STORY,
    "stories.approve_view": MANAGE_STORY,
    "stories.redact_view": only(
        *STAFF,
        why="deciding what identifies someone is a curator's job: the teller gets 403",
        not_found=(TRAINER, MEMBER),
    ),
    "stories.unredact_view": only(
        *STAFF,
        why="only a curator's audited undo brings removed words back: the teller gets 403",
        not_found=(TRAINER, MEMBER),
    ),
    # Other people in a story: the teller records that someone agreed; removing them (name,
    # picture) and saying it is done is a curator's job, like redaction.
    "stories.people": MANAGE_STORY,
    "stories.person_agreed_view": MANAGE_STORY,
    "stories.remove_name_view": only(
        *STAFF,
        why="removing a person is a curator's job: the teller gets 403",
        not_found=(TRAINER, MEMBER),
    ),
    "stories.cover_view": only(
        *STAFF,
        why="covering the picture is a curator's job: the teller gets 403",
        not_found=(TRAINER, MEMBER),
    ),
    "stories.person_removed_view": only(
        *STAFF,
        why="saying a person is removed is a curator's job: the teller gets 403",
        not_found=(TRAINER, MEMBER),
    ),
    "stories.people_to_remove_view": only(*STAFF, why="staff remove people before sharing"),
    # Themes.
    "themes.confirm": EDIT_THEMES,
    "themes.reject": EDIT_THEMES,
    "themes.valence": EDIT_THEMES,
    "themes.add": EDIT_THEMES,
    "themes.confirm_all": EDIT_THEMES,
    "themes.suggest_again": EDIT_THEMES,
    "themes.taxonomy": only(ADMIN, why="the list of themes is the administrators'"),
    "themes.rename": only(ADMIN, why="the list of themes is the administrators'"),
    "themes.learning": only(ADMIN, why="what the tagger learnt is the administrators'"),
    "themes.use_version": only(ADMIN, why="what the tagger learnt is the administrators'"),
    "themes.stop_learning": only(ADMIN, why="what the tagger learnt is the administrators'"),
    # The coding out to research programs, and codebooks in.
    "qda.export_page": only(*STAFF, why="staff decide what coding leaves the archive"),
    "qda.export_qdpx": only(*STAFF, why="staff decide what coding leaves the archive"),
    "qda.export_csv": only(*STAFF, why="staff decide what coding leaves the archive"),
    "qda.import_codebook": only(ADMIN, why="the list of themes is the administrators'"),
    # Search and the dashboard.
    "search.search": signed_in("finds only passages of stories this person may see"),
    "search.similar": READ_STORY,  # "more like this": from a passage of a story one may see
    "search.admin": only(ADMIN, why="the index's health"),
    "search.rebuild": only(ADMIN, why="rebuilding the index"),
    "dashboard.dashboard": only(*DASHBOARD, why="anonymous counts, not for storytellers"),
    "dashboard.printable": only(*DASHBOARD, why="anonymous counts, not for storytellers"),
    "dashboard.passages": only(*DASHBOARD, why="passages behind a count, as far as one may see"),
    "dashboard.export_csv": only(*DASHBOARD, why="anonymous counts, not for storytellers"),
    # Clips and sessions (web).
    "training.clips": TRAINING,
    "training.new_clip": TRAINING,
    "training.edit_clip": TRAINING,
    "training.clip_file": TRAINING,
    "training.delete_clip": TRAINING,
    "training.sessions": TRAINING,
    "training.session": TRAINING,
    "training.session_details": TRAINING,
    "training.add_item": TRAINING,
    "training.update_item": TRAINING,
    "training.move_item": TRAINING,
    "training.remove_item": TRAINING,
    "training.reorder": TRAINING,
    "training.share": TRAINING,
    "training.duplicate": TRAINING,
    "training.delete_session": TRAINING,
    "training.play": TRAINING,
    "training.played": TRAINING,  # the room's POST when a clip starts playing (a use)
    "training.export": TRAINING,
    "training.download": TRAINING,
    # Showcases.
    "showcases.showcases": {
        "GET": only(*BUILDERS, MEMBER, why="builders: every showcase; members: theirs"),
        "POST": only(*BUILDERS, why="making a showcase"),
    },
    "showcases.edit": BUILD_SHOWCASE,
    "showcases.details": BUILD_SHOWCASE,
    "showcases.add": BUILD_SHOWCASE,
    "showcases.change_item": BUILD_SHOWCASE,
    "showcases.code": BUILD_SHOWCASE,
    "showcases.members": BUILD_SHOWCASE,
    "showcases.make_pack": BUILD_SHOWCASE,
    "showcases.take_pack": BUILD_SHOWCASE,
    "showcases.present": WATCH_SHOWCASE,
    "showcases.media": WATCH_SHOWCASE,
    "showcases.captions": WATCH_SHOWCASE,
    "showcases.played": WATCH_SHOWCASE,  # the presenter's POST when an item starts playing
    # The API: stories, jobs and consent.
    "api.list_stories": READ_STORY,
    "api.get_story": READ_STORY,
    "api.get_job": READ_STORY,
    "api.create_story": only(*TELLER_AND_STAFF, why="the same people as the upload page"),
    "api.get_consent": API_CONSENT,
    "api.set_consent": API_CONSENT,
    "api.renew_consent": API_CONSENT,
    "api.withdraw_consent": API_CONSENT,
    "api.search": signed_in("finds only passages of stories this person may see"),
    "api.similar_passages": READ_STORY,
    "api.outcomes": only(*DASHBOARD, why="the dashboard's counts"),
    "api.outcome_passages": only(*DASHBOARD, why="passages behind a count"),
    # The API: clips and sessions.
    "api.list_clips": TRAINING,
    "api.create_clip": TRAINING,
    "api.story_words": TRAINING,
    "api.get_clip": TRAINING,
    "api.update_clip": TRAINING,
    "api.delete_clip": TRAINING,
    "api.request_clip_file": TRAINING,
    "api.download_clip_file": TRAINING,
    "api.list_sessions": TRAINING,
    "api.create_session": TRAINING,
    "api.get_session": TRAINING,
    "api.update_session": TRAINING,
    "api.delete_session": TRAINING,
    "api.add_session_item": TRAINING,
    "api.update_session_item": TRAINING,
    "api.remove_session_item": TRAINING,
    "api.reorder_session": TRAINING,
    "api.duplicate_session": TRAINING,
    "api.export_session": TRAINING,
    "api.list_session_exports": TRAINING,
    "api.download_export": TRAINING,
    # Agreement between curators: blind double coding (the matrix's curator and administrator
    # are the round's two coders) and the figures.
    "agreement.start": only(*STAFF, why="staff who may tag the story code it blind"),
    "agreement.code": only(*STAFF, why="the round's two coders; anyone else's round is not found"),
    "agreement.compare": only(*STAFF, why="the round's two coders compare and settle"),
    "agreement.figures": only(*STAFF, why="agreement figures for curators and administrators"),
}

# Requests whose success uses up their object: each gets a new one, so later cases still find
# theirs. Signing out (and opening an invitation, which signs the browser out) is done in a second
# browser holding the same session, so the role's own browser stays signed in.
FRESH_STORY = {"stories.consent_withdraw", "api.withdraw_consent"}
FRESH_CLIP = {"training.delete_clip", "api.delete_clip"}
FRESH_SESSION = {"training.delete_session", "api.delete_session"}
FRESH_ITEM = {"training.remove_item", "api.remove_session_item"}
FRESH_SHOWCASE = {"showcases.members"}
SIGNS_OUT = {"auth.logout", "auth.join"}

PASSAGES = [
    "I was lonely after the stroke and nobody called",
    "Then the volunteers came every Tuesday and we talked",
    "Now I go to the club and I help with the tea",
]
SHARED = {Audience.TRAINING, Audience.LEARNING_EVENTS, Audience.STATISTICS}
# What a form or JSON body carries besides the CSRF token. Everything else is sent empty: an
# allowed request then stops at its own validation (a 400, or a redirect with a message).
FORM: dict[str, dict[str, str]] = {"stories.consent_renew": {"months": "12"}}
JSON: dict[str, dict[str, Any]] = {
    # The current choices again: an empty body would stop sharing the story with everyone.
    "api.set_consent": {"audiences": sorted(a.value for a in SHARED), "clips_allowed": True},
}


# The route arguments World.values can fill with a real object's id (or a real word).
STORY_ARGUMENTS = {"story_id", "passage_id", "tag_id", "job_id", "role", "subtheme_id", "index"}
TRAINING_ARGUMENTS = {"clip_id", "session_id", "item_id", "export_id", "kind"}
OTHER_ARGUMENTS = {
    "showcase_id", "pack_id", "filename", "token", "version_id", "round_id", "code"
}  # fmt: skip
ROUTE_ARGUMENTS = frozenset(STORY_ARGUMENTS | TRAINING_ARGUMENTS | OTHER_ARGUMENTS)


def rule_for(endpoint: str, method: str) -> Rule | None:
    entry = POLICY.get(endpoint)
    if isinstance(entry, dict):
        return entry.get(method)
    return entry


def routes(app: Flask) -> list[tuple[str, str, str, tuple[str, ...]]]:
    """Every (endpoint, method, rule, argument names) in the URL map, HEAD and OPTIONS aside."""
    found = []
    for url_rule in app.url_map.iter_rules():
        for method in sorted((url_rule.methods or set()) - {"HEAD", "OPTIONS"}):
            arguments = tuple(sorted(url_rule.arguments))
            found.append((url_rule.endpoint, method, url_rule.rule, arguments))
    return sorted(found)


def fill(rule: str, values: dict[str, Any]) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: str(values[m.group(1)]), rule)


# --- the world the requests are made in ------------------------------------------------------


@dataclass
class Actor:
    """Someone making requests: a browser (with its CSRF token) and an API token."""

    role: Role | None
    user: User | None
    client: FlaskClient
    csrf: str
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.role.value if self.role else "anonymous"

    def twin(self) -> Actor:
        """A second browser holding the same session, to sign out of without losing this one."""
        client = self.client.application.test_client()
        cookie = self.client.get_cookie("session", domain="storyhub.test")
        if cookie is not None:
            client.set_cookie("session", cookie.value, domain="storyhub.test")
        return Actor(self.role, self.user, client, self.csrf, self.headers)


@dataclass
class World:
    """One user of each role, and real objects each of them is entitled to."""

    app: Flask
    password_hash: str
    video: Path
    people: dict[Role, int] = field(default_factory=dict)
    browsers: dict[Who, Actor] = field(default_factory=dict)
    story_id: int = 0
    clips: dict[Role, int] = field(default_factory=dict)
    sessions: dict[Role, int] = field(default_factory=dict)
    headings: dict[Role, int] = field(default_factory=dict)
    exports: dict[Role, int] = field(default_factory=dict)
    showcase_id: int = 0
    showcase_item_id: int = 0
    pack_id: int = 0

    # Making people.

    def person(self, role: Role) -> User:
        """A new account (its password hashed once for the module: hashing takes a while)."""
        number = db.session.scalar(select(func.count(User.id))) or 0
        user = User(
            username=f"{role.value}-{number + 1}",
            display_name=f"{role.label} {number + 1}",
            role=role,
            password_hash=self.password_hash,
        )
        db.session.add(user)
        db.session.commit()
        return user

    def actor(self, role: Role | None, user: User | None = None) -> Actor:
        """A new browser (and API token), signed in through the real form as ``user`` or as a
        new account with ``role``; or nobody, for None."""
        client = self.app.test_client()
        if role is None:
            return Actor(None, None, client, csrf_token(client, "/login"))
        user = user or self.person(role)
        response = login(client, user.username)
        assert response.status_code == 302, response.get_data(as_text=True)
        token = issue_api_token(user, "authorisation matrix")
        db.session.commit()
        # The home page's sign-out form carries the session's token.
        return Actor(
            role, user, client, csrf_token(client, "/"), {"Authorization": f"Bearer {token}"}
        )

    def user(self, role: Role) -> User:
        """The world's own user with ``role`` (the teller of its story, the owner of a clip)."""
        if role not in self.people:
            self.people[role] = self.person(role).id
        user = db.session.get(User, self.people[role])
        assert user is not None
        return user

    def as_(self, who: Who) -> Actor:
        """The world's user with role ``who`` (or nobody), signed in in a browser of their own."""
        if who not in self.browsers:
            self.browsers[who] = self.actor(who, self.user(who) if who else None)
        return self.browsers[who]

    # Making things.

    def shared_story(self, teller: User, *, video: bool = False) -> int:
        story = clip_story(
            teller,
            PASSAGES,
            title="Finding the club",
            audiences=SHARED,
            clips_allowed=True,
            video=self.video if video else None,
        )
        add_parts(story)
        return story.id

    def new_clip(self, owner: Role) -> int:
        story = db.session.get(Story, self.story_id)
        assert story is not None
        clip = training.create_clip(self.user(owner), story, 0, 3, "Lonely", "my note")
        db.session.commit()
        return clip.id

    def new_session(self, owner: Role) -> int:
        session = training.create_session(self.user(owner), "Loneliness", "An hour")
        training.add_item(self.user(owner), session, "heading", text="Before")
        db.session.commit()
        return session.id

    def new_item(self, owner: Role) -> int:
        session = db.session.get(Lesson, self.sessions[owner])
        assert session is not None
        item = training.add_item(self.user(owner), session, "prompt", text="What helped?")
        db.session.commit()
        return item.id

    def new_showcase(self) -> int:
        showcase = showcasing.create_showcase(self.user(CURATOR), "Council learning day")
        story = db.session.get(Story, self.story_id)
        assert story is not None
        showcasing.add_item(showcase, story)
        showcasing.set_members(showcase, [self.user(MEMBER).id])
        db.session.commit()
        return showcase.id

    def blind_round(self) -> int:
        """The story's blind coding, by the world's curator and administrator (made once)."""
        from storyhub.agreement import services as agreement

        story = db.session.get(Story, self.story_id)
        assert story is not None
        found = agreement.open_round(story) or agreement.start_round(
            story, self.user(CURATOR), self.user(ADMIN).id
        )
        db.session.commit()
        return found.id

    def new_invitation(self) -> str:
        made = create_invitation(self.user(ADMIN), Role.STORYTELLER, "New teller")
        db.session.commit()
        return made.token

    # Asking.

    def values(
        self,
        endpoint: str,
        arguments: Iterable[str],
        owner: Role,
        *,
        consume: bool = False,
        story_id: int | None = None,
    ) -> dict[str, Any]:
        """Real values for a route's arguments: ``owner``'s clip and session, the teller's story;
        with ``consume``, new ones where the request would use them up."""

        def fresh(kinds: set[str]) -> bool:
            return consume and endpoint in kinds

        story = story_id or (
            self.shared_story(self.user(STORYTELLER)) if fresh(FRESH_STORY) else self.story_id
        )
        parts = story_parts(story)
        showcase = self.new_showcase() if fresh(FRESH_SHOWCASE) else self.showcase_id
        known: dict[str, Callable[[], Any]] = {
            "story_id": lambda: story,
            # The last passage has none after it to join: the transcript stays as it is.
            "passage_id": lambda: parts.last if "join" in endpoint else parts.first,
            "tag_id": lambda: parts.tag,
            "job_id": lambda: parts.job,
            "role": lambda: MediaRole.RENDITION.value,
            "subtheme_id": lambda: db.session.scalar(select(func.min(Subtheme.id))),
            "index": lambda: 0,  # the first other person in the story (there may be none)
            "version_id": lambda: 1,  # what the tagger learnt (none kept: a kind message)
            "filename": lambda: {
                "api_docs.static": "api-docs.js",
                "api_docs.swagger_ui": "swagger-ui.css",
            }.get(endpoint, "css/storyhub.css"),
            "token": self.new_invitation,
            "code": lambda: "cy",  # the language link
            "clip_id": lambda: self.new_clip(owner) if fresh(FRESH_CLIP) else self.clips[owner],
            "session_id": lambda: (
                self.new_session(owner) if fresh(FRESH_SESSION) else self.sessions[owner]
            ),
            "item_id": lambda: (
                self.showcase_item_id
                if endpoint.startswith("showcases.")
                else self.new_item(owner)
                if fresh(FRESH_ITEM)
                else self.headings[owner]
            ),
            "export_id": lambda: self.exports[owner],
            "kind": lambda: "captions",
            "showcase_id": lambda: showcase,
            "pack_id": lambda: self.pack_id,
            "round_id": self.blind_round,
        }
        assert set(known) == ROUTE_ARGUMENTS
        return {name: known[name]() for name in arguments}

    def ask(self, actor: Actor, endpoint: str, method: str, path: str) -> Any:
        """Make the request as ``actor``: forms with their CSRF token, the API with its token."""
        if path.startswith("/api/"):
            body = JSON.get(endpoint, {}) if method in ("POST", "PUT", "PATCH") else None
            return actor.client.open(path, method=method, headers=actor.headers, json=body)
        if method == "GET":
            return actor.client.get(path)
        data = {"csrf_token": actor.csrf, **FORM.get(endpoint, {})}
        return actor.client.open(path, method=method, data=data)


@dataclass(frozen=True)
class Parts:
    first: int
    last: int
    tag: int
    job: int


def add_parts(story: Story) -> None:
    """A suggested theme on the first passage, and a finished processing job."""
    subtheme = db.session.scalars(select(Subtheme).order_by(Subtheme.id)).first()
    assert subtheme is not None
    story.passages[0].themes.append(
        PassageTheme(subtheme=subtheme, status=TagStatus.SUGGESTED, confidence=0.8)
    )
    db.session.add(Job(kind="process_story", story=story, state=JobState.DONE, progress=1.0))
    db.session.commit()


def story_parts(story_id: int) -> Parts:
    passages = db.session.scalars(
        select(Passage.id).where(Passage.story_id == story_id).order_by(Passage.position)
    ).all()
    tag = db.session.scalar(
        select(PassageTheme.id).join(Passage).where(Passage.story_id == story_id)
    )
    job = db.session.scalar(select(Job.id).where(Job.story_id == story_id))
    assert passages and tag and job
    return Parts(passages[0], passages[-1], tag, job)


def store_text(key: str, text: str, workdir: Path) -> str:
    """Put a small file in the app's storage under ``key``."""
    source = workdir / key.replace("/", "-")
    source.write_text(text, encoding="utf-8")
    get_storage().put_file(source, key)
    return key


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real web copy (a few seconds), so media, clip files and packs are real bytes."""
    return make_video(tmp_path_factory.mktemp("authorisation") / "story.mp4", 3)


@pytest.fixture(scope="module")
def password_hash() -> str:
    return hash_password(PASSWORD)


@pytest.fixture
def world(app: Flask, password_hash: str, video: Path, tmp_path: Path) -> World:
    """A teller's story shared for everything; each trainer-like role's own clip and session
    (with an export); a showcase holding the story, shared with the member."""
    built = World(app, password_hash, video)
    built.story_id = built.shared_story(built.user(STORYTELLER), video=True)
    # A refit of the theme tagger already waiting, as when the worker is busy: curators'
    # decisions join it instead of each training a tagger for seconds (test_themes trains).
    db.session.add(Job(kind=REFIT_TAGGER, message="Learning from confirmed themes"))
    db.session.commit()
    for role in CLIPPERS:
        built.clips[role] = built.new_clip(role)
        built.sessions[role] = built.new_session(role)
        session = db.session.get(Lesson, built.sessions[role])
        assert session is not None
        built.headings[role] = session.items[0].id
        # An export as its job leaves one (the export tests make them for real): its captions.
        key = store_text(f"exports/{role.value}.vtt", "WEBVTT\n", tmp_path)
        export = LessonExport(
            session=session,
            requested_by=built.user(role),
            files={"captions": key},
            story_ids=[built.story_id],
        )
        db.session.add(export)
        db.session.commit()
        built.exports[role] = export.id
    built.showcase_id = built.new_showcase()
    showcase = db.session.get(Showcase, built.showcase_id)
    assert showcase is not None
    built.showcase_item_id = showcase.items[0].id
    # A pack as its job leaves one (the showcase tests make them for real).
    key = store_text("packs/matrix.zip", "not opened here", tmp_path)
    pack = ShowcasePack(showcase=showcase, requested_by=built.user(CURATOR), file_key=key)
    db.session.add(pack)
    db.session.commit()
    built.pack_id = pack.id
    return built


def cut_clip_files(world: World) -> None:
    """Cut each role's clip to a file (a real job, run at once), so downloads have bytes."""
    for role in CLIPPERS:
        clip = db.session.get(Clip, world.clips[role])
        assert clip is not None
        assert clip_files.request_file(world.user(role), clip) is not None
        db.session.commit()
        db.session.refresh(clip)
        assert clip_files.file_ready(clip), role


# --- judging an answer -----------------------------------------------------------------------

REDIRECTS = (301, 302, 303, 307, 308)


def verdict(rule: Rule, who: Who, api: bool, response: Any) -> str | None:
    """What is wrong with ``response`` under ``rule`` for ``who``; None when it is right."""
    status = response.status_code
    to_login = status in REDIRECTS and "/login" in response.headers.get("Location", "")
    if status >= 500:
        return f"answered {status} (a server error)"
    if who in rule.allowed:
        if status in (401, 403, 404, 405) or to_login:
            return f"refused ({status} {response.headers.get('Location', '')})".strip()
        if status == 400 and "Please try that again" in response.get_data(as_text=True):
            return "stopped by CSRF, so the authorisation was never asked"
        return None
    if who is None:
        if api:
            return None if status == 401 else f"answered {status}, not 401"
        return None if to_login else f"answered {status}, not a redirect to /login"
    expected = rule.refusal(who)
    if status != expected:
        return f"answered {status}, not {expected}"
    if api and not (response.is_json and "error" in response.get_json()):
        return "refused without the API's JSON error"
    return None


# --- the matrix ------------------------------------------------------------------------------


def test_every_route_has_a_policy_and_every_policy_a_route(app: Flask) -> None:
    found = routes(app)
    missing = sorted(f"{e} {m}" for e, m, _, _ in found if rule_for(e, m) is None)
    assert not missing, f"Routes without a policy (add them to POLICY): {', '.join(missing)}"
    pairs = {(e, m) for e, m, _, _ in found}
    stale = sorted(
        f"{endpoint} {method}"
        for endpoint, entry in POLICY.items()
        for method in (entry if isinstance(entry, dict) else {"*": entry})
        if not any(e == endpoint and method in ("*", m) for e, m in pairs)
    )
    assert not stale, f"POLICY entries for routes that no longer exist: {', '.join(stale)}"
    unknown = sorted({name for *_, arguments in found for name in arguments} - ROUTE_ARGUMENTS)
    assert not unknown, f"Teach World.values a real value for: {', '.join(unknown)}"


def test_every_route_answers_every_role_and_visitors_as_the_policy_says(
    app: Flask, world: World
) -> None:
    cut_clip_files(world)
    failures = []
    checked = 0
    found = routes(app)
    for endpoint, method, rule_path, arguments in found:
        rule = rule_for(endpoint, method)
        assert rule is not None, f"{endpoint} {method}: add it to POLICY"
        for who in EVERYONE:
            # Roles that don't train are refused before any lookup; they ask for the trainer's.
            owner = who if who in CLIPPERS else TRAINER
            assert owner is not None
            # A request that may succeed and use up its object gets a new one.
            consume = method != "GET" and who in rule.allowed
            path = fill(rule_path, world.values(endpoint, arguments, owner, consume=consume))
            actor = world.as_(who)
            if endpoint in SIGNS_OUT:
                actor = actor.twin()
            response = world.ask(actor, endpoint, method, path)
            checked += 1
            problem = verdict(rule, who, path.startswith("/api/"), response)
            if problem:
                failures.append(
                    f"{method} {path} ({endpoint}) as {actor.name}: {problem}; policy: {rule.why}"
                )
    assert not failures, "\n".join(failures)
    assert checked == len(found) * len(EVERYONE) > 600
    # Nobody was signed out along the way, so every answer above was given to its role.
    for role in Role:
        assert world.as_(role).client.get("/stories").status_code == 200, role


# --- object level: other people's things -----------------------------------------------------


def story_snapshot(story_id: int) -> tuple[Any, ...]:
    """Everything a request about a story could change."""
    db.session.expire_all()
    story = db.session.get(Story, story_id)
    assert story is not None
    transcript = story.transcript
    return (
        story.consent_id,
        story.state,
        story.title,
        (transcript.revision, transcript.approved_at) if transcript else None,
        tuple((p.id, p.text, p.speaker, repr(p.words)) for p in story.passages),
        tuple(sorted((t.id, t.status, t.valence) for p in story.passages for t in p.themes)),
        tuple(sorted((m.role, m.storage_key) for m in story.media)),
        tuple(j.id for j in story.jobs),
    )


def add_original(story_id: int, video: Path) -> None:
    """The teller's upload as it was received: real bytes, before any redaction."""
    key = f"stories/{story_id}/original.mp4"
    size = get_storage().put_file(video, key)
    db.session.add(
        MediaFile(
            story_id=story_id,
            role=MediaRole.ORIGINAL,
            storage_key=key,
            content_type="video/mp4",
            size_bytes=size,
        )
    )
    db.session.commit()


def private_story(teller: User) -> int:
    """A ready story its teller has not shared with anyone yet."""
    story = search_factory.make_story(teller, PASSAGES, title="Not shared yet")
    add_parts(story)
    return story.id


def object_routes(app: Flask, *names: str) -> Iterator[tuple[str, str, str, tuple[str, ...]]]:
    """The routes taking any of the arguments ``names`` (a story id, a clip id...)."""
    for endpoint, method, rule_path, arguments in routes(app):
        if set(names) & set(arguments):
            yield endpoint, method, rule_path, arguments


def test_another_storytellers_story_is_not_found_on_any_route_and_nothing_changes(
    app: Flask, world: World, video: Path
) -> None:
    """Pages, media bytes, captions, transcript edits, redaction, consent, jobs and the API."""
    teller = world.user(STORYTELLER)
    unshared = private_story(teller)
    for story_id in (world.story_id, unshared):
        add_original(story_id, video)
    # Another teller may see neither story; a trainer and a member, not the unshared one.
    askers = [
        (world.actor(STORYTELLER), (world.story_id, unshared)),
        (world.as_(TRAINER), (unshared,)),
        (world.as_(MEMBER), (unshared,)),
    ]
    before = {s: story_snapshot(s) for s in (world.story_id, unshared)}
    failures = []
    checked = 0
    # A passage's routes ("more like this") name the story through one of its passages.
    routes_ = object_routes(app, "story_id", "job_id", "passage_id")
    for endpoint, method, rule_path, arguments in routes_:
        rule = rule_for(endpoint, method)
        assert rule is not None
        for asker, story_ids in askers:
            assert asker.role is not None
            for story_id in story_ids:
                values = world.values(endpoint, arguments, TRAINER, story_id=story_id)
                paths = [fill(rule_path, values)]
                if endpoint == "stories.media":
                    paths.append(fill(rule_path, {**values, "role": "original"}))
                for path in paths:
                    status = world.ask(asker, endpoint, method, path).status_code
                    checked += 1
                    # Where the role may use the route, only the object can be why: not found.
                    expected = (404,) if asker.role in rule.allowed else (403, 404)
                    if status not in expected:
                        failures.append(f"{method} {path} as {asker.name}: {status}")
    assert not failures, "\n".join(failures)
    assert checked > 100
    assert {s: story_snapshot(s) for s in before} == before
    # The teller still reaches both, so the refusals above were about who asked.
    for story_id in (world.story_id, unshared):
        assert world.as_(STORYTELLER).client.get(f"/stories/{story_id}").status_code == 200


def training_snapshot(owner: User) -> tuple[Any, ...]:
    """Everything about ``owner``'s clips and sessions that a request could change."""
    db.session.expire_all()
    clips = db.session.scalars(select(Clip).where(Clip.owner_id == owner.id).order_by(Clip.id))
    sessions = db.session.scalars(
        select(Lesson).where(Lesson.owner_id == owner.id).order_by(Lesson.id)
    )
    return (
        tuple((c.id, c.title, c.note, c.start, c.end, c.file_key) for c in clips),
        tuple(
            (
                s.id,
                s.title,
                s.summary,
                tuple((i.id, i.kind, i.text, i.notes, i.position, i.clip_id) for i in s.items),
                tuple(sorted(share.user_id for share in s.shares)),
                tuple(e.id for e in s.exports),
            )
            for s in sessions
        ),
    )


def ask_about_training(
    app: Flask,
    world: World,
    asker: Actor,
    names: tuple[str, ...],
    allowed: frozenset[str] = frozenset(),
) -> list[str]:
    """Ask every route taking any of ``names`` about the trainer's own clip and session, as
    ``asker``; returns what was wrong: an ``allowed`` endpoint refused, any other not a 404."""
    failures = []
    for endpoint, method, rule_path, arguments in object_routes(app, *names):
        path = fill(rule_path, world.values(endpoint, arguments, TRAINER))
        response = world.ask(asker, endpoint, method, path)
        rule = rule_for(endpoint, method)
        assert rule is not None and TRAINER in rule.allowed
        if endpoint in allowed:
            problem = verdict(rule, TRAINER, path.startswith("/api/"), response)
        else:
            problem = None if response.status_code == 404 else f"{response.status_code}, not 404"
        if problem:
            failures.append(f"{method} {path} ({endpoint}): {problem}")
    return failures


def test_another_trainers_clips_and_sessions_are_not_found_and_nothing_changes(
    app: Flask, world: World
) -> None:
    """Seeing, running, exporting, copying, changing, sharing and deleting; pages and API."""
    trainer = world.user(TRAINER)
    other = world.actor(TRAINER)
    before = training_snapshot(trainer)
    failures = ask_about_training(app, world, other, ("clip_id", "session_id"))
    assert not failures, "\n".join(failures)
    assert training_snapshot(trainer) == before
    # Staff have no say over a trainer's own work either (it is theirs until shared).
    failures = ask_about_training(app, world, world.as_(CURATOR), ("clip_id", "session_id"))
    assert not failures, "\n".join(failures)
    assert training_snapshot(trainer) == before


# What a trainer a session is shared with may do with it: open, run, export and copy it; only
# its owner changes it. A clip inside it may be read, never changed, cut to a file or deleted.
SHARED_SESSION_OPENS = frozenset(
    {
        "training.session",
        "training.play",
        "training.played",
        "training.export",
        "training.download",
        "training.duplicate",
        "api.get_session",
        "api.list_session_exports",
        "api.export_session",
        "api.download_export",
        "api.duplicate_session",
    }
)
SHARED_CLIP_READS = frozenset({"api.get_clip"})


def test_a_shared_session_is_opened_run_exported_and_copied_but_only_its_owner_changes_it(
    app: Flask, world: World
) -> None:
    trainer = world.user(TRAINER)
    colleague = world.actor(TRAINER)
    assert colleague.user is not None
    session = db.session.get(Lesson, world.sessions[TRAINER])
    assert session is not None
    training.set_shares(trainer, session, [colleague.user.id])
    db.session.commit()
    before = training_snapshot(trainer)
    failures = ask_about_training(app, world, colleague, ("session_id",), SHARED_SESSION_OPENS)
    # Sharing a session shares no clip outside it.
    failures += ask_about_training(app, world, colleague, ("clip_id",))
    assert not failures, "\n".join(failures)
    assert training_snapshot(trainer) == before

    clip = db.session.get(Clip, world.clips[TRAINER])
    session = db.session.get(Lesson, world.sessions[TRAINER])
    assert clip is not None and session is not None
    training.add_item(trainer, session, "clip", clip_id=clip.id)
    db.session.commit()
    before = training_snapshot(trainer)
    failures = ask_about_training(app, world, colleague, ("clip_id",), SHARED_CLIP_READS)
    assert not failures, "\n".join(failures)
    assert training_snapshot(trainer) == before


def test_a_showcase_is_not_found_by_a_member_it_is_not_shared_with_nor_by_another_events_code(
    app: Flask, world: World
) -> None:
    outsider = world.actor(MEMBER)
    guest = world.as_(None)
    now = datetime.now(UTC)
    other_event = showcasing.create_showcase(
        world.user(CURATOR),
        "Another event",
        opens_at=now - timedelta(hours=1),
        closes_at=now + timedelta(hours=1),
    )
    code = showcasing.new_code(other_event)
    db.session.commit()
    entered = guest.client.post("/event", data={"code": code, "csrf_token": guest.csrf})
    assert entered.status_code == 302
    # A code starts the visitor's session afresh, with a new form token (as its pages carry).
    guest = replace(guest, csrf=csrf_token(guest.client, "/event"))
    failures = []
    for endpoint, method, rule_path, arguments in object_routes(app, "showcase_id"):
        path = fill(rule_path, world.values(endpoint, arguments, TRAINER))
        for asker in (outsider, guest):
            if asker is guest and rule_for(endpoint, method) is not WATCH_SHOWCASE:
                continue  # a code only ever opens watching; the builder asks guests to sign in
            status = world.ask(asker, endpoint, method, path).status_code
            if status != 404:
                failures.append(f"{method} {path} ({endpoint}) as {asker.name}: {status}")
    assert not failures, "\n".join(failures)
    present = f"/showcases/{world.showcase_id}/present"
    assert world.as_(MEMBER).client.get(present).status_code == 200
    assert guest.client.get(f"/showcases/{other_event.id}/present").status_code == 200
    assert "Council learning day" not in outsider.client.get("/showcases").get_data(as_text=True)
    assert "Council learning day" in world.as_(MEMBER).client.get("/showcases").get_data(
        as_text=True
    )


def test_only_the_teller_and_staff_fetch_the_unredacted_original(world: World, video: Path) -> None:
    """Redaction silences names in the web copy; the original upload still holds them."""
    add_original(world.story_id, video)
    path = f"/stories/{world.story_id}/media/original"
    for role in TELLER_AND_STAFF:
        assert world.as_(role).client.get(path).status_code == 200, role
    for role in (TRAINER, MEMBER):
        assert world.as_(role).client.get(path).status_code == 404, role
