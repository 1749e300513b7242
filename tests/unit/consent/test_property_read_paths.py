"""Property: no read path ever returns a story outside its current consent.

Hypothesis generates consent histories for a few real stories (release, change, renew, withdraw
and erase, by the teller or by staff with or without a reason, re-release after a withdrawal,
refused choices, and time passing, up to, onto and past review dates; another person named in the
story who agreed or not, a curator recording them removed, the teller recording they agreed
later) and applies them through
``consent.services``, committing after each. A small model written here, not the policy, tracks
each story's current consent and says who may see and manage it; it also predicts which actions
the services must refuse. After every action the model is compared with the current consent
version, and with ``can_view``, ``can_manage`` and ``viewable_stories`` (default purpose and every
purpose, both ways). At the end of each example every read path is asked through the real app,
signed in as each user (one of each role, two storytellers): every GET route about a story or its
job (found in the URL map, so routes added later are asked too: page, media of every role,
captions, job progress, the consent pages, "where used", the API story and consent), the story
list, the home page, "my stories", the reviews list and the API list.

Users and stories are made once per test (password hashing and media processing are slow) and
the histories carry on from one example to the next, as does the model. Erasure can't be undone,
so only two stories are really erased per run, spread out; erased stories stay, and every action
on them must be refused and every path must refuse them. A failing example therefore replays on
whatever state the examples before it left (Hypothesis may call it flaky while shrinking); the
notes it prints give every story's state, and last actions, after each action.

Time is moved by the one clock every consent rule reads: ``consent.policy.today()`` (used by the
policy, by the services that set review dates, and by the sharing text) takes the date from
``consent.policy.utcnow``, which the test points at its own calendar. Nothing is written to the
database by hand.
"""

from __future__ import annotations

import calendar
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from flask import Flask, current_app, url_for
from flask.testing import FlaskClient
from hypothesis import HealthCheck, Phase, event, given, note, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

import consent.policy
from consent import Audience, ConsentStatus, Purpose, can_manage, can_view, viewable_stories
from consent.policy import people_to_remove
from consent.services import (
    Choices,
    ConsentError,
    change,
    erase,
    person_agreed,
    person_removed,
    release,
    renew,
    withdraw,
)
from storyhub.auth.services import issue_api_token
from storyhub.extensions import db
from storyhub.models import Job, MediaFile, MediaRole, Role, Story, StoryState, User
from tests.conftest import login

# --- the model: the consent rule, written out again independently of consent/policy.py ---------

STAFF = frozenset({Role.CURATOR, Role.ADMIN})
# What each audience-reading role reads for, and the audience the teller must have chosen for it.
READS_FOR = {Role.TRAINER: Purpose.TRAINING, Role.MEMBER: Purpose.LEARNING_EVENT}
NEEDS = {
    Purpose.TRAINING: Audience.TRAINING,
    Purpose.LEARNING_EVENT: Audience.LEARNING_EVENTS,
    Purpose.STATISTICS: Audience.STATISTICS,
}
# Real stories made once per run; making one (validation, thumbnail, transcript) is the slowest
# step here. Erasure can't be undone, so only this many are really erased in a run, and not all
# at once: the n-th waits for the (n x ERASE_AFTER)-th example. Other erasures the services would
# accept are skipped; those they must refuse are always tried.
STORIES = 4
ERASURES_PER_RUN = 2
ERASE_AFTER = 8
RECENT_ON_HOME = 6


def months_later(start: date, months: int) -> date:
    """``start`` plus ``months`` calendar months, the day clamped to the month's length."""
    year, month = divmod(start.year * 12 + start.month - 1 + months, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(start.day, last))


@dataclass
class Person:
    id: int
    role: Role
    username: str
    client: FlaskClient
    token: str

    def get(self, path: str, **headers: str) -> Any:
        """GET ``path`` as this person: signed in, and with their token for the API."""
        if path.startswith("/api/"):
            headers["Authorization"] = f"Bearer {self.token}"
        return self.client.get(path, headers=headers)

    def __str__(self) -> str:
        return f"{self.username} ({self.role.value})"


@dataclass
class StoryModel:
    """What the test believes about one story's current consent."""

    id: int
    teller_id: int
    title: str
    status: ConsentStatus = ConsentStatus.ACTIVE
    released: bool = False
    audiences: frozenset[Audience] = frozenset()
    review: date | None = None
    # Another person named in the story ("Alun"): there at all, agreed, removed by a curator.
    other: bool = False
    other_agreed: bool = False
    other_removed: bool = False
    # Its web copy could not be made again after a redaction: held back from audiences.
    held_back: bool = False
    history: list[str] = field(default_factory=list)

    @property
    def held(self) -> bool:
        """Someone in it hasn't agreed and hasn't been removed: nobody else may see it."""
        return self.other and not self.other_agreed and not self.other_removed

    @property
    def erased(self) -> bool:
        return self.status == ConsentStatus.ERASED

    def shared_with(self, audience: Audience, today: date) -> bool:
        return (
            self.status == ConsentStatus.ACTIVE
            and self.released
            and (self.review is None or today <= self.review)
            and not self.held
            and audience in self.audiences
        )

    def visible_to(self, person: Person, today: date, purpose: Purpose | None = None) -> bool:
        if self.erased:
            return False
        if person.id == self.teller_id or person.role in STAFF:
            return True
        if self.held_back:
            return False
        reads_for = READS_FOR.get(person.role)
        if reads_for is None or (purpose is not None and purpose != reads_for):
            return False
        return self.shared_with(NEEDS[reads_for], today)

    def review_due(self, by: date) -> bool:
        """Whether staff are asked to review it: shared, with a review date on or before ``by``."""
        return (
            self.status == ConsentStatus.ACTIVE
            and self.released
            and self.review is not None
            and self.review <= by
        )

    def kind(self, today: date) -> str:
        """A name for the state this story is in, to show what the examples covered."""
        if self.status != ConsentStatus.ACTIVE:
            return f"{self.status.value}{' after release' if self.released else ''}"
        if not self.released:
            return "not released"
        if self.review is not None and self.review < today:
            return "shared, review passed"
        if self.held_back:
            return "shared, held back"
        if self.held:
            return "held back: someone in it hasn't agreed"
        return "shared, review due today" if self.review == today else "shared"

    def signature(self, today: date) -> tuple[Any, ...]:
        """Everything its read paths' answers depend on, today."""
        return (
            self.status,
            self.released,
            self.audiences,
            self.review,
            self.held,
            self.held_back,
            self.kind(today),
        )

    def manageable_by(self, person: Person) -> bool:
        return not self.erased and (person.id == self.teller_id or person.role in STAFF)

    def __str__(self) -> str:
        shared = ",".join(sorted(a.value for a in self.audiences)) or "-"
        return (
            f"story {self.id} (teller {self.teller_id}, {self.status.value}, "
            f"released={self.released}, audiences={shared}, review={self.review}, "
            f"other={self.other}/agreed={self.other_agreed}/removed={self.other_removed}; "
            f"held back={self.held_back}; "
            f"last: {'; '.join(self.history[-3:]) or 'uploaded'})"
        )


# --- actions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Release:
    slot: int
    audiences: frozenset[Audience]
    months: int
    watched: bool
    other: str = "nobody"  # another person named in the wizard: "nobody", "agreed", "not agreed"


@dataclass(frozen=True)
class Change:
    slot: int
    audiences: frozenset[Audience]
    months: int
    other: str = "nobody"


@dataclass(frozen=True)
class PersonRemoved:
    """A curator (or someone who may not) records the other person removed from the story."""

    slot: int
    actor: str


@dataclass(frozen=True)
class PersonAgreed:
    """The teller (or staff for them) records that the other person agreed."""

    slot: int
    actor: str


@dataclass(frozen=True)
class Renew:
    slot: int
    months: int


@dataclass(frozen=True)
class Withdraw:
    slot: int
    actor: str  # "teller", "curator" or "admin"
    reason: str


@dataclass(frozen=True)
class Erase:
    slot: int
    actor: str
    reason: str


@dataclass(frozen=True)
class TimePasses:
    days: int


@dataclass(frozen=True)
class UntilReview:
    """Move the calendar to a story's review date, the day before it, or the day after."""

    slot: int
    offset: int


@dataclass(frozen=True)
class HoldBack:
    """Making the story's web copy again fails (held) or, later, succeeds (shared again)."""

    slot: int
    held: bool


Action = (
    Release | Change | Renew | Withdraw | Erase | TimePasses | UntilReview
    | PersonRemoved | PersonAgreed | HoldBack
)  # fmt: skip

slots = st.integers(0, STORIES - 1)
# Months outside 1..36 are refused by the services; they are generated now and then on purpose.
months = st.one_of(st.integers(1, 36), st.sampled_from([0, 37]))
chosen = st.frozensets(st.sampled_from(list(Audience)))
actors = st.sampled_from(["teller", "curator", "admin"])
reasons = st.sampled_from(["", "  ", "The teller asked us by phone"])
# Mostly someone who hasn't agreed: that is the state that must hold a story back.
others = st.sampled_from(["nobody", "agreed", "not agreed", "not agreed", "not agreed"])
by_kind: dict[str, st.SearchStrategy[Any]] = {
    "release": st.builds(
        Release, slots, chosen, months, st.sampled_from([True, True, False]), others
    ),
    "change": st.builds(Change, slots, chosen, months, others),
    "person removed": st.builds(PersonRemoved, slots, actors),
    "person agreed": st.builds(PersonAgreed, slots, actors),
    "renew": st.builds(Renew, slots, months),
    "withdraw": st.builds(Withdraw, slots, actors, reasons),
    "time passes": st.builds(TimePasses, st.sampled_from([1, 27, 95, 200, 400, 1200])),
    "until review": st.builds(UntilReview, slots, st.integers(-1, 1)),
    "erase": st.builds(Erase, slots, actors, reasons),
    "hold back": st.builds(HoldBack, slots, st.booleans()),
}
# How often each kind is drawn: releases most, as most states worth asking about need one.
weights = {"release": 4, "change": 2, "renew": 2, "withdraw": 3, "time passes": 2}
weights |= {"until review": 2, "erase": 2, "person removed": 1, "person agreed": 1}
weights |= {"hold back": 2}
actions: st.SearchStrategy[Action] = st.sampled_from(
    [kind for kind, weight in weights.items() for _ in range(weight)]
).flatmap(by_kind.__getitem__)

# --- the world: users, their clients and tokens, the calendar, the stories -----------------


@dataclass
class Calendar:
    day: date


@dataclass
class World:
    people: list[Person]
    calendar: Calendar
    models: dict[int, StoryModel]
    examples: int = 0
    erasures: int = 0
    # Each story's state when its own read paths were last asked about (see check_read_paths).
    asked: dict[int, tuple[Any, ...]] = field(default_factory=dict)

    @property
    def stories(self) -> list[StoryModel]:
        return sorted(self.models.values(), key=lambda m: m.id)

    def person(self, role: Role) -> Person:
        return next(p for p in self.people if p.role == role)


@pytest.fixture
def world(
    app: Flask,
    make_user: Callable[..., User],
    make_story: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[World]:
    calendar_ = Calendar(datetime.now(UTC).date())
    # The one clock behind consent.policy.today(), which policy, services and describe all call.
    monkeypatch.setattr(
        consent.policy, "utcnow", lambda: datetime.combine(calendar_.day, time(12), tzinfo=UTC)
    )
    roles = [Role.STORYTELLER, Role.STORYTELLER, Role.CURATOR, Role.TRAINER, Role.MEMBER]
    people = []
    for role in [*roles, Role.ADMIN]:
        user = make_user(role)
        token = issue_api_token(user, "property test")
        db.session.commit()
        client = app.test_client()
        assert login(client, user.username).status_code == 302
        people.append(Person(user.id, role, user.username, client, token))
    tellers = [p for p in people if p.role == Role.STORYTELLER]
    models: dict[int, StoryModel] = {}
    for number in range(STORIES):
        teller = tellers[number % len(tellers)]
        title = f"Story {uuid.uuid4().hex[:12]}"
        story = make_story(db.session.get(User, teller.id), "wav", title=title)
        assert story.state == StoryState.READY, "consent can only be released on a ready story"
        models[story.id] = StoryModel(id=story.id, teller_id=teller.id, title=title)
    yield World(people, calendar_, models)


# --- applying actions through the real services --------------------------------------------


def named(model: StoryModel, other: str) -> dict[str, Any]:
    """The other person after the wizard names them (or not): a curator's removal of the same
    name stays recorded; naming nobody forgets it."""
    there = other != "nobody"
    return {
        "other": there,
        "other_agreed": other == "agreed",
        "other_removed": there and model.other and model.other_removed,
    }


def people(other: str) -> list[dict[str, Any]]:
    return [] if other == "nobody" else [{"name": "Alun", "agreed": other == "agreed"}]


def predict(model: StoryModel, action: Action, actor: Person, today: date) -> dict[str, Any] | None:
    """The model's new fields after ``action``, or None if the services must refuse it."""
    if model.erased:
        return None
    acting_for_teller = actor.id != model.teller_id
    if isinstance(action, PersonRemoved):
        staff = actor.role in STAFF
        if not staff or not model.other or model.other_agreed or model.other_removed:
            return None
        return {"other_removed": True}
    if isinstance(action, PersonAgreed):
        if not model.other or model.other_agreed:
            return None
        return {"other_agreed": True}
    if isinstance(action, Release):
        # A held-back story is released again once its video is ready again.
        if not action.watched or not 1 <= action.months <= 36 or model.held_back:
            return None
        return {
            "status": ConsentStatus.ACTIVE,
            "released": True,
            "audiences": action.audiences,
            "review": months_later(today, action.months),
            **named(model, action.other),
        }
    if isinstance(action, Change | Renew):
        if model.status != ConsentStatus.ACTIVE or not model.released:
            return None
        if not 1 <= action.months <= 36:
            return None
        new: dict[str, Any] = {"review": months_later(today, action.months)}
        if isinstance(action, Change):
            new["audiences"] = action.audiences
            new.update(named(model, action.other))
        return new
    if isinstance(action, Withdraw):
        if model.status == ConsentStatus.WITHDRAWN:
            return None
        if acting_for_teller and not action.reason.strip():
            return None
        return {"status": ConsentStatus.WITHDRAWN}
    if isinstance(action, Erase):
        if acting_for_teller and not action.reason.strip():
            return None
        return {"status": ConsentStatus.ERASED}
    raise AssertionError(f"not a consent action: {action!r}")


def call_service(story: Story, action: Action, by: User) -> None:
    if isinstance(action, Release):
        choices = Choices(
            audiences=set(action.audiences),
            review_months=action.months,
            third_parties=people(action.other),
        )
        release(story, by, choices, watched=action.watched)
    elif isinstance(action, Change):
        choices = Choices(
            audiences=set(action.audiences),
            review_months=action.months,
            third_parties=people(action.other),
        )
        change(story, by, choices)
    elif isinstance(action, PersonRemoved):
        person_removed(story, by, 0, None)
    elif isinstance(action, PersonAgreed):
        person_agreed(story, by, 0)
    elif isinstance(action, Renew):
        renew(story, by, action.months)
    elif isinstance(action, Withdraw):
        withdraw(story, by, action.reason)
    elif isinstance(action, Erase):
        erase(story, by, action.reason)


def apply(world: World, action: Action) -> None:
    """Carry out one action; the model changes only when the services accepted it."""
    today = world.calendar.day
    if isinstance(action, TimePasses):
        world.calendar.day = today + timedelta(days=action.days)
        return
    model = world.stories[action.slot]
    if isinstance(action, UntilReview):
        if model.review is not None and model.review + timedelta(days=action.offset) > today:
            world.calendar.day = model.review + timedelta(days=action.offset)  # time only passes
        return
    if isinstance(action, HoldBack):
        hold_back(model, action.held)
        return
    actor_name = getattr(action, "actor", "teller")
    actor = (
        next(p for p in world.people if p.id == model.teller_id)
        if actor_name == "teller"
        else world.person(Role(actor_name))
    )
    expected = predict(model, action, actor, today)
    if isinstance(action, Erase) and expected is not None:
        waiting = world.examples < ERASE_AFTER * (world.erasures + 1)
        if world.erasures >= ERASURES_PER_RUN or waiting:
            event("an erasure the services would accept skipped")
            return
        world.erasures += 1
    story = db.session.get(Story, model.id)
    by = db.session.get(User, actor.id)
    assert story is not None and by is not None
    try:
        call_service(story, action, by)
    except ConsentError as refused:
        db.session.rollback()
        assert expected is None, f"{action} by {actor} on {model} was refused: {refused}"
    else:
        db.session.commit()
        assert expected is not None, f"{action} by {actor} on {model} was accepted on {today}"
        for name, value in expected.items():
            setattr(model, name, value)
        model.history.append(f"{type(action).__name__} by {actor.role.value} on {today}")


def hold_back(model: StoryModel, held: bool) -> None:
    """A failed re-render goes through the real failure hook; a later success does what the
    render job does then (making a real web copy here would cost seconds per example)."""
    from storyhub.jobs import JobContext, JobFailed
    from storyhub.processing import RENDER_STORY
    from storyhub.registry import registry

    story = db.session.get(Story, model.id)
    if model.erased or story is None:
        return
    if held:
        on_failure = registry().on_failure[RENDER_STORY]
        on_failure(JobContext(0, story.id), JobFailed("media", "failed"))
    else:
        story.state, story.failure_message = StoryState.READY, None
        db.session.commit()
    model.held_back = held
    model.history.append("re-render failed" if held else "re-rendered")


# --- checks --------------------------------------------------------------------------------


def check_records(world: World) -> None:
    """The current consent versions hold what the model says (a check on the services)."""
    db.session.expire_all()
    for model in world.models.values():
        story = db.session.get(Story, model.id)
        assert story is not None and story.consent is not None
        current = story.consent
        actual = (
            current.status, current.released, current.audiences, current.review_date,
            bool(people_to_remove(current)), current.people_held,
        )  # fmt: skip
        wanted = (
            model.status, model.released, set(model.audiences), model.review, model.held,
            model.held,
        )  # fmt: skip
        assert actual == wanted, f"{model}: the current consent version holds {actual}"


def check_policy(world: World) -> None:
    """``can_view``, ``can_manage`` and ``viewable_stories`` agree with the model, both ways."""
    today = world.calendar.day
    db.session.expire_all()
    stories = {s.id: s for s in db.session.scalars(select(Story))}
    assert set(stories) == set(world.models)
    problems = []
    for person in world.people:
        user = db.session.get(User, person.id)
        for purpose in (None, *Purpose):
            wanted = {m.id for m in world.models.values() if m.visible_to(person, today, purpose)}
            query = select(Story.id).where(viewable_stories(user, purpose))
            listed = set(db.session.scalars(query))
            allowed = {i for i, s in stories.items() if can_view(user, s, purpose)}
            for name, got in (("viewable_stories", listed), ("can_view", allowed)):
                for story_id in got ^ wanted:
                    problems.append(
                        f"{name}({person}, {purpose}) on {today}: "
                        f"{'allows' if story_id in got else 'refuses'} {world.models[story_id]}"
                    )
        for story_id, story in stories.items():
            model = world.models[story_id]
            if can_manage(user, story) != model.manageable_by(person):
                problems.append(f"can_manage({person}) disagrees on {model}")
    assert not problems, "\n".join(problems)


def story_link(story_id: int) -> str:
    return f'href="/stories/{story_id}"'


# The answer each read path of one story must give: to someone who may see it (``sees``), who may
# manage it (``manages``, the teller and staff), or neither. Paths not named here (added later)
# are still asked: they must say 403 or 404 to anyone who may not see the story.
SEEN = {"stories.show", "stories.captions", "api.get_story", "stories.job_status", "api.get_job"}
MANAGED = {
    "stories.story_uses",
    "stories.consent_wizard",
    "stories.consent_withdraw",
    "stories.consent_erase",
}


# The upload as it came and the sound taken from it still hold any name a curator removed: the
# teller and staff only. The web copy and the picture: whoever may see the story.
UNREDACTED_MEDIA = {MediaRole.ORIGINAL, MediaRole.AUDIO}


def wanted_status(
    endpoint: str, sees: bool, manages: bool, kept: bool, role: MediaRole | None = None
) -> int | None:
    """The status a read path must answer with, or None where only a refusal is checked."""
    if endpoint == "stories.media":
        allowed = manages if role in UNREDACTED_MEDIA else sees
        return 200 if allowed and kept else 404
    if endpoint in SEEN:
        return 200 if sees else 404
    if endpoint in MANAGED:
        return 200 if manages else 404
    if endpoint == "api.get_consent":
        return 200 if manages else 403 if sees else 404
    return None


def story_paths(story_id: int, job_id: int) -> list[tuple[str, str, MediaRole | None]]:
    """(endpoint, path, media role) for every GET route about one story or its job."""
    paths = []
    for rule in current_app.url_map.iter_rules():
        arguments = set(rule.arguments)
        if "GET" not in (rule.methods or ()) or not arguments:
            continue
        if arguments <= {"story_id", "role"}:
            for role in MediaRole if "role" in arguments else [None]:
                values: dict[str, Any] = {"story_id": story_id}
                if role is not None:
                    values["role"] = role.value
                path = url_for(rule.endpoint, _external=False, **values)
                paths.append((rule.endpoint, path, role))
        elif arguments == {"job_id"}:
            path = url_for(rule.endpoint, job_id=job_id, _external=False)
            paths.append((rule.endpoint, path, None))
    return paths


def check_read_paths(world: World) -> None:
    """Ask every read path, as every user, about every story and every list.

    A story's own paths are not asked again while nothing their answers depend on has changed
    since they were last asked (the same requests on the same state add nothing but time); the
    lists are asked every time.
    """
    today = world.calendar.day
    problems: list[str] = []
    stories = sorted(world.models.values(), key=lambda m: m.id, reverse=True)  # newest first
    changed = [m for m in stories if world.asked.get(m.id) != m.signature(today)]
    for model in stories:
        event(f"asked over HTTP: {model.kind(today)}{'' if model in changed else ' (again)'}")
    # Which files are kept: one that isn't (say, after erasure) is a 404 for everyone; one that
    # is kept is served exactly to those who may see the story.
    rows = db.session.execute(select(MediaFile.story_id, MediaFile.role)).all()
    kept = {(story_id, role) for story_id, role in rows}
    # The original stays until erasure (so the media checks are never empty-handed), and
    # erasure deletes every file.
    for model in stories:
        files = {role for story_id, role in kept if story_id == model.id}
        assert (MediaRole.ORIGINAL in files) if not model.erased else not files, f"{model}"
    paths = {}
    for model in changed:
        # The story's latest job: its processing, or the purge after a withdrawal or erasure.
        job_id = db.session.scalar(select(func.max(Job.id)).where(Job.story_id == model.id))
        assert job_id is not None
        paths[model.id] = story_paths(model.id, job_id)

    for person in world.people:
        get = person.get
        for model in changed:
            sees, manages = model.visible_to(person, today), model.manageable_by(person)
            for endpoint, path, role in paths[model.id]:
                ranged = role == MediaRole.ORIGINAL
                response = get(path, **({"Range": "bytes=0-15"} if ranged else {}))
                got = response.status_code
                wanted = wanted_status(endpoint, sees, manages, (model.id, role) in kept, role)
                if model.held_back and endpoint == "stories.consent_wizard":
                    wanted = None  # the wizard waits (a redirect) until the video is ready again
                if wanted == 200 and ranged:
                    wanted = 206
                if wanted is None:
                    # A path this test doesn't know: it may be for managers only, so only a
                    # refusal to those who may not see the story is required.
                    if (not sees and got not in (403, 404)) or got >= 500:
                        problems.append(f"{person} GET {path} ({endpoint}): {got} for {model}")
                elif got != wanted:
                    problems.append(
                        f"{person} GET {path} on {today}: {got}, wanted {wanted}, for {model}"
                    )
                elif sees and endpoint == "stories.show" and model.title not in response.text:
                    problems.append(f"{person}: the page of {model} doesn't show its title")

        visible = [m for m in stories if m.visible_to(person, today)]
        index = get("/stories").get_data(as_text=True)
        home = get("/").get_data(as_text=True)
        recent = visible[:RECENT_ON_HOME]
        for model in stories:
            for name, html, shown in (
                ("/stories", index, model in visible),
                ("/", home, model in recent),
            ):
                for mark in (model.title, story_link(model.id)):
                    if (mark in html) != shown:
                        problems.append(
                            f"{person} GET {name} on {today}: {mark!r} "
                            f"{'missing' if shown else 'shown'} for {model}"
                        )
        listed = {s["id"] for s in get("/api/v1/stories?limit=200").get_json()["stories"]}
        for story_id in listed ^ {m.id for m in visible}:
            problems.append(
                f"{person} GET /api/v1/stories on {today}: "
                f"{'lists' if story_id in listed else 'leaves out'} {world.models[story_id]}"
            )
        reviews = get("/consent/reviews")
        if person.role not in STAFF:
            if reviews.status_code != 403:
                problems.append(f"{person} GET /consent/reviews: {reviews.status_code}")
        else:
            due, html = months_later(today, 1), reviews.get_data(as_text=True)
            for model in stories:
                if (story_link(model.id) in html) != model.review_due(due):
                    problems.append(f"{person} GET /consent/reviews on {today} is wrong on {model}")
        mine = get("/stories/mine")
        if person.role != Role.STORYTELLER:
            if mine.status_code != 403:
                problems.append(f"{person} GET /stories/mine: {mine.status_code}")
            continue
        html = mine.get_data(as_text=True)
        for model in stories:
            own, titled, linked = (
                model.teller_id == person.id,
                model.title in html,
                story_link(model.id) in html,
            )
            if own and not model.erased and not (titled and linked):
                problems.append(f"{person} GET /stories/mine leaves out {model}")
            if not own and (titled or linked):
                problems.append(f"{person} GET /stories/mine lists {model}")
            # The teller's own erased story keeps a bare card here ("This story was erased.",
            # linking to a 404): its title and words must be gone.
            if own and model.erased and titled:
                problems.append(f"{person} GET /stories/mine shows the erased title of {model}")
    assert not problems, "\n".join(problems)
    world.asked.update((m.id, m.signature(today)) for m in changed)


# --- the property --------------------------------------------------------------------------


# Slow (about 40 s): thirty random histories, every read path after each step.
@pytest.mark.slow
@settings(
    max_examples=30,
    deadline=None,
    # No "explain" phase: it reruns a failing example many times, minutes each with real requests.
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=st.lists(actions, min_size=3, max_size=12))
def test_no_read_path_returns_a_story_outside_its_current_consent(
    world: World, history: list[Action]
) -> None:
    world.examples += 1
    check_records(world)
    for action in history:
        apply(world, action)
        note(f"after {action}, on {world.calendar.day}: " + "; ".join(map(str, world.stories)))
        check_records(world)
        check_policy(world)
        for model in world.stories:
            event(f"after an action: {model.kind(world.calendar.day)}")
    check_read_paths(world)


def test_the_model_of_review_dates_matches_the_calendar() -> None:
    """The model's month arithmetic (used for expected review dates) is itself right."""
    assert months_later(date(2025, 1, 31), 1) == date(2025, 2, 28)
    assert months_later(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert months_later(date(2025, 11, 30), 3) == date(2026, 2, 28)
    assert months_later(date(2025, 12, 15), 12) == date(2026, 12, 15)
    assert months_later(date(2025, 6, 1), 36) == date(2028, 6, 1)
