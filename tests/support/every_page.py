"""Serve every page of an installed storyhub and say what happened, as JSON on stdout.

    python every_page.py CHECKOUT

tests/integration/test_wheel.py runs this with the interpreter of a fresh virtualenv that holds
the built wheel, from a scratch folder, after ``flask --app storyhub setup`` made the instance
(STORYHUB_* settings in the environment). It imports storyhub from wherever that interpreter finds
it and reports where that was, so the test can prove the pages came from the installed files and
not from the checkout. The test data comes from copies of tests/search_factory.py and
tests/training_factory.py put beside this file.

Each page is asked for by an administrator first, then by the other roles and a visitor until
one may see it: a page nobody gets is a failure too.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from importlib import import_module
from pathlib import Path
from typing import Any

CSRF = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"'
)
ARGUMENT = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
STATIC_LINK = re.compile(r"""(?:href|src)=["'](/static/[^"'?#]+)""")
PASSWORD = "correct horse battery"
PASSAGES = [
    "I felt alone after the move and nobody called.",
    "Then the club asked me to come along on Tuesdays.",
]
# Routes that hand out files made by jobs (exports, packs), not pages: their files need the
# export and pack jobs, which the unit tests run for real.
NOT_PAGES = {"training.download", "showcases.take_pack"}


def main(checkout: Path) -> dict[str, Any]:
    """Build a small archive on the instance, then ask for every GET route."""
    from flask import Flask, template_rendered
    from flask.testing import FlaskClient

    from storyhub import create_app

    app = create_app()
    # After the app, which imports them in the order they need.
    first_party = [import_module(m) for m in ("storyhub", "consent", "media_pipeline", "search")]
    report: dict[str, Any] = {
        "modules": {m.__name__: m.__file__ for m in first_party},
        "checkout_on_path": [p for p in sys.path if p and Path(p).resolve() == checkout],
        "template_folder": str(Path(app.root_path, app.template_folder or "")),
        "static_folder": app.static_folder,
        "migrations": app.extensions["migrate"].directory,
    }
    with app.app_context():
        users, values = make_archive(app)

    rendered: list[str] = []

    def remember(sender: Flask, template: Any, context: dict[str, Any], **extra: Any) -> None:
        rendered.append(template.filename)

    template_rendered.connect(remember, app, weak=False)
    clients: dict[str, FlaskClient] = {}
    for role, username in users.items():
        clients[role] = app.test_client()
        sign_in(clients[role], username)
    clients["visitor"] = app.test_client()

    pages: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    linked: set[str] = set()
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" not in (rule.methods or ()) or rule.endpoint == "static":
            continue
        if rule.endpoint.startswith("api.") and rule.endpoint != "api.openapi":
            skipped[rule.rule] = "the JSON API (token auth): tests/integration/test_api_fuzz.py"
            continue
        if rule.endpoint in NOT_PAGES:
            skipped[rule.rule] = "a file made by a job, not a page"
            continue
        missing = set(rule.arguments) - set(values)
        if missing:
            skipped[rule.rule] = f"no value for {sorted(missing)}"
            continue
        path = ARGUMENT.sub(lambda m: str(values[m.group(1)]), rule.rule)
        tried: dict[str, int] = {}
        for who, client in clients.items():
            rendered.clear()
            response = client.get(path)
            tried[who] = response.status_code
            if response.status_code == 200:
                break
        page = {"path": path, "tried": tried, "status": response.status_code}
        page["content_type"] = response.mimetype
        page["templates"] = list(rendered)
        if response.mimetype == "text/html":
            linked.update(STATIC_LINK.findall(response.get_data(as_text=True)))
        pages[rule.endpoint] = page
    report["pages"] = pages
    report["skipped"] = skipped
    report["static"] = {link: static_file(app, clients["visitor"], link) for link in sorted(linked)}
    return report


def make_archive(app: Any) -> tuple[dict[str, str], dict[str, Any]]:
    """A user of each role, the storyteller's story (real video) with a clip, a session and a
    showcase; returns the usernames by role and a value for each route argument."""
    from consent.models import Audience
    from storyhub.auth.services import create_invitation, create_user
    from storyhub.extensions import db
    from storyhub.models import Job, JobState, MediaRole, Role
    from storyhub.showcases import services as showcases
    from storyhub.training import clip_files
    from storyhub.training import services as lessons
    from tests.training_factory import clip_story, make_video

    people = {role: create_user(role.value, PASSWORD, role) for role in Role}
    db.session.commit()
    video = make_video(Path(tempfile.mkdtemp(prefix="storyhub-wheel-")) / "story.mp4", 3)
    story = clip_story(
        people[Role.STORYTELLER],
        PASSAGES,
        title="Finding the club",
        audiences=set(Audience),
        video=video,
    )
    job = Job(kind="process_story", story=story, state=JobState.DONE, progress=1.0)
    db.session.add(job)
    clip = lessons.create_clip(people[Role.TRAINER], story, 0, 3, "Alone", "")
    lesson = lessons.create_session(people[Role.TRAINER], "Loneliness", "An hour")
    lessons.add_item(people[Role.TRAINER], lesson, "clip", clip_id=clip.id)
    showcase = showcases.create_showcase(people[Role.CURATOR], "Council learning day")
    item = showcases.add_item(showcase, story)
    showcases.set_members(showcase, [people[Role.MEMBER].id])
    invitation = create_invitation(people[Role.ADMIN], Role.STORYTELLER, "New teller")
    db.session.commit()
    # The clip's file, cut by its job (run at once here: the queue is "immediate").
    assert clip_files.request_file(people[Role.TRAINER], clip) is not None
    db.session.commit()
    order = [Role.ADMIN, Role.CURATOR, Role.TRAINER, Role.STORYTELLER, Role.MEMBER]
    values = {
        "story_id": story.id,
        "job_id": job.id,
        "role": MediaRole.RENDITION.value,
        "clip_id": clip.id,
        "session_id": lesson.id,
        "showcase_id": showcase.id,
        "item_id": item.id,
        "token": invitation.token,
    }
    return {role.value: people[role].username for role in order}, values


def sign_in(client: Any, username: str) -> None:
    """Sign in through the real form, CSRF token and all."""
    match = CSRF.search(client.get("/login").get_data(as_text=True))
    assert match, "no CSRF token on the sign-in page"
    token = match.group(1) or match.group(2)
    answer = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token}
    )
    assert answer.status_code == 302, f"{username} could not sign in: {answer.status_code}"


def static_file(app: Any, client: Any, link: str) -> dict[str, Any]:
    """Fetch a linked static file; say whether it is the installed package's file."""
    response = client.get(link)
    on_disk = Path(app.static_folder, link.removeprefix("/static/"))
    served = response.get_data()
    response.close()
    return {
        "status": response.status_code,
        "file": str(on_disk),
        "same_bytes": on_disk.is_file() and on_disk.read_bytes() == served,
    }


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]).resolve())))
