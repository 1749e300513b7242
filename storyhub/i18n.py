"""Welsh and English: which language a page is in, and the catalogues that translate it.

Every string a person sees is marked for translation (``_()`` / ``{% trans %}`` in templates,
``gettext``/``lazy_gettext``/``ngettext`` from Flask-Babel in Python, ``_()`` in storyhub.js) and
translated in ``storyhub/translations/cy/LC_MESSAGES/messages.po`` (the terms every translation
uses are in ``storyhub/translations/GLOSSARY.md``). ``make translations`` extracts, updates and
compiles the catalogues; the tests fail on a string left unmarked or untranslated.

The language of a page, first match wins:

* the API (``/api/``): the request's ``Accept-Language`` (clients say what they want each time);
* a person signed in who chose a language: their account's choice, on any device;
* anyone else: the ``language`` cookie set by the "Cymraeg" / "English" link;
* a first visit: the browser's ``Accept-Language``; English when it names neither.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from babel.messages.extract import extract_javascript
from flask import Flask, has_request_context, redirect, request
from flask_babel import Babel, get_locale, gettext
from flask_login import current_user
from werkzeug.wrappers import Response

from storyhub.extensions import db

LANGUAGES: Final = ("en", "cy")
DEFAULT_LANGUAGE: Final = "en"
# Each language is named in itself: a person who can't read the page can still find their own.
LANGUAGE_NAMES: Final = {"en": "English", "cy": "Cymraeg"}
COOKIE: Final = "language"
COOKIE_AGE: Final = 365 * 24 * 3600
JS_SOURCE: Final = Path(__file__).parent / "static" / "js" / "storyhub.js"

babel = Babel()


def _from_browser() -> str:
    return request.accept_languages.best_match(LANGUAGES) or DEFAULT_LANGUAGE


def choose_language() -> str:
    """The language of this request (the order is in the module's docstring)."""
    if not has_request_context():
        return DEFAULT_LANGUAGE  # a job, the CLI or a test outside a request: no one to ask
    if request.path.startswith("/api/") or request.path == "/api":
        return _from_browser()
    chosen = getattr(current_user, "language", None) if current_user else None
    if chosen in LANGUAGES:
        return str(chosen)
    cookie = request.cookies.get(COOKIE)
    if cookie in LANGUAGES:
        return str(cookie)
    return _from_browser()


def current_language() -> str:
    """ "en" or "cy": the language this page is being written in."""
    return str(get_locale() or DEFAULT_LANGUAGE)


def _safe_next(target: str | None) -> str:
    # Only a path on this site: the link can't be used to send someone elsewhere.
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target:
        return "/"
    return target


def switch_language(code: str) -> Response:
    """Remember ``code`` for this browser and, when signed in, for the account; go back."""
    response = redirect(_safe_next(request.args.get("next")))
    if code not in LANGUAGES:
        return response
    response.set_cookie(COOKIE, code, max_age=COOKIE_AGE, samesite="Lax", httponly=True)
    if current_user.is_authenticated and current_user.language != code:
        current_user.language = code
        db.session.commit()
    return response


def remember_on_sign_in(user: object) -> None:
    """A person signing in for the first time keeps the language they were reading in."""
    if getattr(user, "language", None) is None:
        user.language = current_language()  # type: ignore[attr-defined]


@cache
def js_messages() -> tuple[str, ...]:
    """The messages storyhub.js asks for with ``_("...")``, read from the script itself (so
    the list can't drift from the code)."""
    with JS_SOURCE.open("rb") as source:
        found = [
            str(message)
            for _line, _func, message, _comments in extract_javascript(source, {"_": None}, [], {})
            if isinstance(message, str)
        ]
    return tuple(dict.fromkeys(found))


def js_catalogue() -> dict[str, str]:
    """The script's messages in the current language, for the page to hand to storyhub.js."""
    return {message: gettext(message) for message in js_messages()}


def init_app(app: Flask) -> None:
    """Choose each request's language; the switch link; what templates need to show both."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    babel.init_app(app, locale_selector=choose_language)

    @app.get("/language/<code>")
    def language(code: str) -> Response:
        return switch_language(code)

    @app.context_processor
    def _languages() -> dict[str, object]:
        here = current_language()
        other = "en" if here == "cy" else "cy"
        return {
            "page_language": here,
            "other_language": other,
            "other_language_name": LANGUAGE_NAMES[other],
            "js_catalogue": js_catalogue,
        }

    @app.after_request
    def _varies_by_language(response: Response) -> Response:
        # The same address reads differently by language: caches must keep them apart.
        response.vary.add("Accept-Language")
        response.vary.add("Cookie")
        return response
