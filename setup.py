"""The one build step pyproject.toml can't declare: the top-level ``templates/`` folder goes into
the wheel as ``storyhub/templates/`` (found there by ``storyhub.paths.templates_folder``).

Everything else about the package is in pyproject.toml. setuptools can't map a folder from
outside a package into a package that ``packages.find`` discovers (``package-dir`` only applies
to packages listed by hand), and listing every package by hand would silently drop the next one.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

TEMPLATES = Path("templates")
INSTALLED_AS = Path("storyhub", "templates")


class BuildPyWithTemplates(build_py):
    """build_py, plus the templates copied into the built ``storyhub`` package."""

    def run(self) -> None:
        super().run()
        # An editable install reads the checkout's templates/ directly: nothing to copy.
        if not self.editable_mode:
            self.copy_tree(str(TEMPLATES), str(Path(self.build_lib) / INSTALLED_AS))

    def get_source_files(self) -> list[str]:
        # What the sdist holds: the templates too, so a wheel built from the sdist has them.
        return [*super().get_source_files(), *map(str, sorted(TEMPLATES.rglob("*.html")))]


setup(cmdclass={"build_py": BuildPyWithTemplates})
