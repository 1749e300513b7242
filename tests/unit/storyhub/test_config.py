"""Configuration: safe embedded defaults, STORYHUB_* overrides, and a stable secret key."""

from __future__ import annotations

from pathlib import Path

import pytest

from storyhub import create_app


def test_defaults_are_embedded_in_the_instance_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("DATABASE_URL", "MEDIA_ROOT", "QUEUE_URL", "SECRET_KEY", "MAX_UPLOAD_MB"):
        monkeypatch.delenv(f"STORYHUB_{name}", raising=False)
    monkeypatch.setenv("STORYHUB_INSTANCE_PATH", str(tmp_path))
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'storyhub.sqlite3'}"
    assert app.config["MEDIA_ROOT"] == str(tmp_path / "media")
    assert app.config["QUEUE_URL"] == f"sqlite:///{tmp_path / 'queue.sqlite3'}"
    assert app.config["MAX_UPLOAD_MB"] == 2048
    # Only the upload routes take a large body; every other request, a small one.
    assert app.config["MAX_UPLOAD_CONTENT_LENGTH"] > 2048 * 1024 * 1024
    assert app.config["MAX_CONTENT_LENGTH"] == 1024 * 1024
    # A secret key is made once and kept, so sessions survive restarts and several workers.
    key = app.config["SECRET_KEY"]
    assert len(key) >= 32 and (tmp_path / "secret_key").read_text().strip() == key
    assert create_app().config["SECRET_KEY"] == key
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_environment_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORYHUB_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("STORYHUB_DATABASE_URL", f"sqlite:///{tmp_path / 'other.db'}")
    monkeypatch.setenv("STORYHUB_MEDIA_ROOT", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("STORYHUB_MAX_UPLOAD_MB", "500")
    monkeypatch.setenv("STORYHUB_SECRET_KEY", "from-the-environment")
    monkeypatch.setenv("STORYHUB_SECURE_COOKIES", "true")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'other.db'}"
    assert app.config["MEDIA_ROOT"] == str(tmp_path / "elsewhere")
    assert app.config["UPLOAD_STAGING"] == str(tmp_path / "elsewhere" / ".staging")
    assert app.config["MAX_UPLOAD_MB"] == 500
    assert app.config["SECRET_KEY"] == "from-the-environment"
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_an_unknown_queue_url_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORYHUB_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("STORYHUB_QUEUE_URL", "carrier-pigeon://loft")
    with pytest.raises(ValueError, match="STORYHUB_QUEUE_URL"):
        create_app()
