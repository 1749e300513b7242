"""Where the files the app reads at run time are, in a checkout and in an installed wheel."""

from __future__ import annotations

from pathlib import Path
from typing import Final

PACKAGE_DIR: Final = Path(__file__).resolve().parent


def templates_folder() -> Path:
    """The page templates: ``storyhub/templates`` in an installed wheel, else the checkout's
    top-level ``templates/``.

    The design keeps the templates at the top of the repository; the build (``setup.py``) copies
    them into the wheel beside the code, since an installed package has no checkout around it.
    """
    installed = PACKAGE_DIR / "templates"
    return installed if installed.is_dir() else PACKAGE_DIR.parent / "templates"


def instance_folder() -> Path:
    """The default instance folder (database, media, index) when STORYHUB_INSTANCE_PATH is unset:
    ``instance/`` in the checkout, or, for an installed wheel, in the folder it is started from
    (never inside site-packages)."""
    checkout = PACKAGE_DIR.parent
    if (checkout / "templates").is_dir() and (checkout / "pyproject.toml").is_file():
        return checkout / "instance"
    return Path.cwd() / "instance"
