"""Demo data, so a first `make run` shows a living archive.

The stories are made at set-up time the way many digital stories are: a voice (espeak-ng) over a
few still pictures. They go through the same validation, storage and jobs as a real upload.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flask import g, has_app_context
from sqlalchemy import func, select

from consent.describe import sharing
from consent.models import Audience
from consent.services import Choices, release
from media_pipeline.synth import render_story
from storyhub.auth.services import create_user
from storyhub.extensions import db
from storyhub.instance import DEMO, InstanceSetting, is_demo
from storyhub.jobs import execute
from storyhub.models import Language, Role, ServiceSetting, Story, TellerKind, User
from storyhub.uploads import StoryDetails, store_story_file

# Public on purpose: printed at start-up and in the README. Demo instances only.
DEMO_PASSWORD = "storyhub-demo"  # noqa: S105

# (username, display name, role)
DEMO_ACCOUNTS = [
    ("storyteller", "Mary Jones", Role.STORYTELLER),
    ("carer", "David Price", Role.STORYTELLER),
    ("curator", "Sian Curator", Role.CURATOR),
    ("trainer", "Tom Trainer", Role.TRAINER),
    ("member", "Councillor Evans", Role.MEMBER),
    ("admin", "Ada Admin", Role.ADMIN),
]


@dataclass(frozen=True)
class DemoStory:
    owner: str
    title: str
    description: str
    teller_kind: TellerKind
    language: Language
    paragraphs: list[str]
    palette: tuple[str, str]
    setting: ServiceSetting = ServiceSetting.NOT_SAID
    audio_only: bool = False
    # Released to these audiences at set-up (None: left private, for the teller to release).
    shared_with: frozenset[Audience] | None = None


DEMO_STORIES = [
    DemoStory(
        owner="storyteller",
        title="Being listened to",
        description="Mary talks about the day a social worker asked her to tell her own story.",
        teller_kind=TellerKind.SERVICE_USER,
        language=Language.ENGLISH,
        setting=ServiceSetting.HOME_CARE,
        palette=("#1d3557", "#f1faee"),
        shared_with=frozenset({Audience.TRAINING, Audience.LEARNING_EVENTS, Audience.STATISTICS}),
        paragraphs=[
            "My name is Mary. I am seventy eight, and I have lived in the same street for fifty "
            "years.",
            "For a long time, people came to my house with forms. They asked me what I could not "
            "do. Could I wash? Could I cook? Could I climb the stairs?",
            "Then a new social worker came. She sat down and said, tell me about you. Nobody had "
            "asked me that before. I told her about my garden, and my friends at the chapel.",
            "Because she listened, my support changed. Now a carer helps me get to the chapel "
            "lunch on Thursdays. I see my friends again. That matters more to me than anything.",
        ],
    ),
    DemoStory(
        owner="carer",
        title="A life of my own",
        description="David cares for his wife and talks about getting time for himself.",
        teller_kind=TellerKind.CARER,
        language=Language.ENGLISH,
        setting=ServiceSetting.CARERS_SUPPORT,
        palette=("#264653", "#e9f5f2"),
        shared_with=frozenset({Audience.TRAINING, Audience.STATISTICS}),
        paragraphs=[
            "I have looked after my wife since her stroke, four years ago now.",
            "At first I did everything on my own. I stopped going to football. I stopped seeing "
            "my brother. I was tired all the time, and I did not sleep.",
            "The carers centre helped me to find a sitting service. Every Saturday afternoon, "
            "someone we trust stays with my wife.",
            "I go to the match with my brother again. It sounds small, but it gave me back a bit "
            "of my own life, and I am a better carer for it.",
        ],
    ),
    DemoStory(
        owner="storyteller",
        title="Getting my confidence back",
        description="Mary on learning to use the bus again after a fall.",
        teller_kind=TellerKind.SERVICE_USER,
        language=Language.ENGLISH,
        setting=ServiceSetting.COMMUNITY_TEAM,
        palette=("#3d405b", "#f4f1de"),
        audio_only=True,
        paragraphs=[
            "After my fall, I was frightened to go out. I stayed in for months.",
            "A support worker came with me on the bus, once a week. The first time, my hands "
            "were shaking. By the sixth week, I went into town on my own.",
            "Now I do my own shopping again. I feel like myself.",
        ],
    ),
    DemoStory(
        owner="carer",
        title="Gwrando arna i",
        description="A short story told in Welsh about going back to the lunch club.",
        teller_kind=TellerKind.CARER,
        language=Language.WELSH,
        setting=ServiceSetting.DAY_SERVICE,
        palette=("#2b2d42", "#edf2f4"),
        shared_with=frozenset({Audience.LEARNING_EVENTS}),
        paragraphs=[
            "Fy enw i yw Dafydd. Dw i'n byw yn Abertawe gyda fy ngwraig.",
            "Ar ôl y strôc, roedd hi'n unig iawn. Roedd hi'n aros yn y tŷ bob dydd.",
            "Mae'r gweithiwr cymdeithasol wedi gwrando arnon ni. Nawr mae hi'n mynd i'r clwb "
            "cinio bob dydd Mawrth, ac mae hi'n gweld ei ffrindiau eto.",
        ],
    ),
]

VOICES = {Language.ENGLISH: "en-gb", Language.WELSH: "cy"}


def accounts_with_public_password() -> list[str]:
    """Usernames of demo accounts that still sign in with the published DEMO_PASSWORD."""
    from argon2 import PasswordHasher
    from argon2.exceptions import InvalidHashError, VerificationError

    hasher = PasswordHasher()
    found = []
    names = [username for username, _name, _role in DEMO_ACCOUNTS]
    for user in db.session.scalars(select(User).where(User.username.in_(names))):
        try:
            if user.password_hash and hasher.verify(user.password_hash, DEMO_PASSWORD):
                found.append(user.username)
        except (VerificationError, InvalidHashError):
            continue
    return sorted(found)


def ensure_accounts(echo: Callable[[str], None]) -> dict[str, User]:
    """Create any missing demo account; return them all by username."""
    accounts: dict[str, User] = {}
    for username, display_name, role in DEMO_ACCOUNTS:
        user = db.session.scalar(select(User).where(User.username == username))
        if user is None:
            user = create_user(username, DEMO_PASSWORD, role, display_name)
            echo(f"  created demo {role.value}: {username}")
        accounts[username] = user
    db.session.commit()
    return accounts


def _curate_themes(story: Story, curator: User) -> None:
    """A curator has been through some demo stories: each passage's likeliest suggested theme is
    confirmed, so the demo shows confirmed themes next to suggestions still to answer."""
    from storyhub.themes.models import TagStatus
    from storyhub.themes.services import confirm

    for passage in story.passages:
        waiting = [t for t in passage.themes if t.status == TagStatus.SUGGESTED]
        if waiting:
            confirm(max(waiting, key=lambda t: t.confidence or 0), curator)
    db.session.commit()


def _demo_session(trainer: User, echo: Callable[[str], None]) -> None:
    """A short training session made from the first passages of two shared stories."""
    from consent import can_clip
    from storyhub.training import services

    usable = [
        s
        for s in db.session.scalars(select(Story).order_by(Story.id))
        if s.passages and can_clip(trainer, s)
    ][:2]
    if not usable:
        return
    session = services.create_session(
        trainer, "Listening well", "What people tell us about being listened to."
    )
    services.add_item(trainer, session, "heading", text="What people notice")
    for story in usable:
        words = services.story_words(story)
        last = max(w.index for w in words if w.passage_id == story.passages[0].id)
        clip = services.create_clip(trainer, story, 0, last, f"The start of “{story.title}”")
        services.add_item(trainer, session, "clip", clip_id=clip.id)
    services.add_item(
        trainer,
        session,
        "prompt",
        text="What did the people supporting them do that made a difference?",
        notes="Take three or four answers, then ask what gets in the way.",
    )
    db.session.commit()
    echo(f"  added a demo training session for {trainer.display_name}: {session.title}")


def load_demo(echo: Callable[[str], None] = print) -> None:
    """Add the demo accounts and, if the archive has no stories yet, the demo stories.

    Only on a demonstration site (make_demo, below): the password is public.
    """

    if not is_demo():
        raise RuntimeError("Demo accounts are only made on a demonstration site (setup --demo).")
    echo("Preparing demo data...")
    accounts = ensure_accounts(echo)
    if db.session.scalar(select(func.count()).select_from(Story)):
        echo("  the archive already has stories; no demo stories added")
    else:
        curator = accounts["curator"]
        with tempfile.TemporaryDirectory(prefix="storyhub-demo-") as scratch:
            for number, spec in enumerate(DEMO_STORIES):
                ext = "m4a" if spec.audio_only else "mp4"
                path = render_story(
                    Path(scratch) / f"story-{number}.{ext}",
                    title=spec.title,
                    paragraphs=spec.paragraphs,
                    voice=VOICES[spec.language],
                    palette=spec.palette,
                    audio_only=spec.audio_only,
                )
                story = store_story_file(
                    path,
                    StoryDetails(
                        spec.title, spec.description, spec.language, spec.teller_kind, spec.setting
                    ),
                    uploader=curator,
                    storyteller=accounts[spec.owner],
                    original_filename=path.name,
                )
                # Prepare it now, so the demo is ready to watch when the site starts (the
                # queued copy of this job then finds it done and does nothing).
                job = story.latest_job
                assert job is not None
                execute(job.id)
                db.session.refresh(story)
                if spec.shared_with is not None:
                    release(
                        story,
                        curator,
                        Choices(
                            audiences=set(spec.shared_with),
                            clips_allowed=True,
                            notes="Demo story, released at set-up.",
                        ),
                        watched=True,
                    )
                    db.session.commit()
                if number % 2 == 0:
                    _curate_themes(story, curator)
                echo(f"  added demo story {story.id}: {spec.title} ({sharing(story).text})")
        _demo_session(accounts["trainer"], echo)
    echo("")
    echo(f"Demo accounts (password for each: {DEMO_PASSWORD}):")
    for username, _display, role in DEMO_ACCOUNTS:
        echo(f"  {role.label:<34} {username}")


class DemoRefused(Exception):
    """This archive can't become a demonstration site; the message says why, in plain words."""


def make_demo() -> None:
    """Record that this instance is a demo, or raise DemoRefused if it holds real stories.

    Stories told by the demo accounts under the demo's own titles are the demo's (an instance
    set up before demos were recorded); any other story is real, and must never sit beside
    accounts whose password is public.
    """
    if db.session.get(InstanceSetting, DEMO) is not None:
        return
    demo_tellers = {username for username, _name, _role in DEMO_ACCOUNTS}
    demo_titles = {spec.title for spec in DEMO_STORIES}
    real = db.session.scalars(
        select(Story.id)
        .join(User, Story.storyteller_id == User.id)
        .where(~(User.username.in_(demo_tellers) & Story.title.in_(demo_titles)))
        .limit(1)
    ).first()
    if real is not None:
        raise DemoRefused(
            "This archive already holds real stories, so it can't become a demonstration site: "
            "the demo accounts' passwords are public. To keep using this archive, run "
            "`flask --app storyhub setup` (without --demo). For a demo, use a new, empty "
            "instance folder (STORYHUB_INSTANCE_PATH)."
        )
    db.session.add(InstanceSetting(name=DEMO, value="1"))
    db.session.commit()
    if has_app_context():
        g.pop("storyhub_demo", None)
