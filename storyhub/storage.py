"""Where media files live, behind one small interface.

The default keeps files in a local folder. An S3-compatible backend can implement the same
methods for organisations that run several machines; nothing outside this module knows paths.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import Protocol

from flask import Flask, current_app


class Storage(Protocol):
    def put_file(self, source: Path, key: str) -> int:
        """Move (or copy) ``source`` into storage under ``key``; return its size in bytes."""

    def local_path(self, key: str) -> Path:
        """A path on this machine where the file for ``key`` can be read."""

    def exists(self, key: str) -> bool:
        """Whether a file is stored under ``key``."""

    def delete(self, key: str) -> None:
        """Remove the file for ``key`` if it exists."""


class LocalStorage:
    """Files under one root folder, keys as relative paths."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        # Keys are made by us, but a forged or corrupted key must never reach outside the root.
        if not path.is_relative_to(self.root) or path == self.root:
            raise ValueError(f"storage key outside the media root: {key!r}")
        return path

    def put_file(self, source: Path, key: str) -> int:
        dest = self._path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            # A hard link is instant and leaves the source for its owner to clean up.
            os.link(source, dest)
        except OSError:
            shutil.copyfile(source, dest)
        return dest.stat().st_size

    def local_path(self, key: str) -> Path:
        return self._path(key)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        path = self._path(key)
        path.unlink(missing_ok=True)
        # Tidy the story's folder once its last file is gone, so a refused upload leaves nothing.
        parent = path.parent
        while parent != self.root and parent.is_relative_to(self.root):
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent


def new_story_folder() -> str:
    """A fresh, unguessable folder key for one story's files."""
    return f"stories/{uuid.uuid4().hex}"


def init_app(app: Flask) -> None:
    """Create the configured storage backend and make it available as ``get_storage()``."""
    root = Path(app.config["MEDIA_ROOT"])
    root.mkdir(parents=True, exist_ok=True)
    Path(app.config["UPLOAD_STAGING"]).mkdir(parents=True, exist_ok=True)
    app.extensions["storyhub.storage"] = LocalStorage(root)


def get_storage() -> Storage:
    """The current app's storage backend."""
    storage: Storage = current_app.extensions["storyhub.storage"]
    return storage
