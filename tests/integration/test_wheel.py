"""The package installs whole: a wheel built from the repository, installed into a fresh
virtualenv, serves every page with its own templates and static files.

The wheel is built from a copy of the checkout (a build writes build/ and *.egg-info beside the
sources) and installed with --no-deps into a new virtualenv; the project virtualenv's
site-packages joins it through a .pth line, which lends the dependencies (Flask, torch, ...)
without running that folder's own .pth files, so the project's editable install of storyhub is
not seen. The app then runs from a scratch folder with the checkout nowhere on sys.path.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SUPPORT = ROOT / "tests" / "support"
# What a build of the checkout needs; the rest (caches, a local instance, the venv) stays behind.
NOT_SOURCES = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "instance", "test-artifacts",
    ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis", "bench",
)  # fmt: skip
# Files of the checkout the app reads at run time, and where the wheel must hold them.
RUN_TIME_FILES = {
    "templates": ("**/*.html", "storyhub/templates"),
    "storyhub/static": ("**/*", "storyhub/static"),
    "storyhub/migrations": ("**/*", "storyhub/migrations"),
    "media_pipeline/tagger": ("*.json", "media_pipeline/tagger"),
    "media_pipeline/tagger/seed": ("*.jsonl", "media_pipeline/tagger/seed"),
}


@dataclass(frozen=True)
class Installed:
    wheel: Path
    python: Path
    site_packages: Path


def run(args: list[str | Path], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run a command; on failure, fail the test with what it said."""
    done = subprocess.run(args, capture_output=True, text=True, timeout=600, **kwargs)
    assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """The wheel, built and installed alone into a new virtualenv."""
    work = tmp_path_factory.mktemp("wheel")
    sources = work / "sources"
    shutil.copytree(ROOT, sources, ignore=NOT_SOURCES)
    # No build isolation: the build uses this virtualenv's setuptools (no network in a test).
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--no-index", "--quiet", "-w", work / "dist", sources])  # fmt: skip
    (wheel,) = (work / "dist").glob("storyhub-*.whl")

    venv = work / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", venv])
    python = venv / "bin" / "python"
    site_packages = Path(
        run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
        ).stdout.strip()
    )
    # Installed before the dependencies are lent, so pip sees no other storyhub anywhere.
    run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index",
         "--quiet", wheel])  # fmt: skip
    (site_packages / "project-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return Installed(wheel, python, site_packages)


def test_the_wheel_holds_every_file_the_app_reads(installed: Installed) -> None:
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    for folder, (pattern, inside) in RUN_TIME_FILES.items():
        files = [
            p for p in (ROOT / folder).glob(pattern) if p.is_file() and "__pycache__" not in p.parts
        ]
        assert files, folder
        for path in files:
            assert f"{inside}/{path.relative_to(ROOT / folder).as_posix()}" in names, path
    # The checkout's test support stays out of the package.
    assert not [n for n in names if n.startswith("tests/")]


def test_an_installed_wheel_serves_every_page(installed: Installed, tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    (scratch / "tests").mkdir(parents=True)
    shutil.copy(SUPPORT / "every_page.py", scratch)
    for factory in ("__init__.py", "search_factory.py", "training_factory.py"):
        shutil.copy(ROOT / "tests" / factory, scratch / "tests")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env |= {
        "STORYHUB_INSTANCE_PATH": str(tmp_path / "instance"),
        "STORYHUB_SECRET_KEY": "wheel-test",
        # Jobs run in the process that sends them, as in the unit tests: no worker to start.
        "STORYHUB_QUEUE_URL": "immediate",
    }
    # The real first step of a new site: migrations and the shipped themes, from the wheel.
    run([installed.python, "-m", "flask", "--app", "storyhub", "setup"], cwd=scratch, env=env)
    output = run([installed.python, "every_page.py", ROOT], cwd=scratch, env=env).stdout
    report = json.loads(output.splitlines()[-1])

    package = installed.site_packages / "storyhub"
    for name, module_file in report["modules"].items():
        assert Path(module_file).is_relative_to(installed.site_packages), (name, module_file)
    assert not report["checkout_on_path"]
    assert Path(report["template_folder"]) == package / "templates"
    assert Path(report["static_folder"]) == package / "static"
    assert Path(report["migrations"]) == package / "migrations"

    failed = {e: p for e, p in report["pages"].items() if p["status"] != 200}
    assert not failed, json.dumps(failed, indent=1)
    html = {e: p for e, p in report["pages"].items() if p["content_type"] == "text/html"}
    # The site's pages, not a handful: every blueprint's (the API's document is JSON).
    assert len(html) >= 30, sorted(report["pages"])
    for endpoint, page in html.items():
        assert page["templates"], f"{endpoint} rendered no template"
        for template in page["templates"]:
            assert Path(template).is_relative_to(package / "templates"), (endpoint, template)
    assert "api.openapi" in report["pages"]

    assert report["static"], "the pages link no static file"
    for link, served in report["static"].items():
        assert served["status"] == 200, link
        assert served["same_bytes"], link
        assert Path(served["file"]).is_relative_to(package / "static"), link
    # What was left out, and why, is for a person reading a failure.
    print(json.dumps(report["skipped"], indent=1))
