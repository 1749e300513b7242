"""Find words people would see that are not marked for translation.

Templates, Python and storyhub.js are read (not run) and anything that looks like words for a
person and is not inside ``_()``/``gettext``/``ngettext``/``lazy_gettext``/``N_`` or a
``{% trans %}`` block is reported as ``path:line: text``. Python strings that are not for people
(developer errors, log lines, command-line output) are recognised by where they are; one that is
shown nowhere can say so on its line with a ``# untranslated: <why>`` comment.

Run ``python -m tests.support.unmarked [paths...]`` to list them while marking a part.
"""

from __future__ import annotations

import ast
import re
import sys
import warnings
from collections.abc import Iterable, Iterator
from html.parser import HTMLParser
from pathlib import Path

with warnings.catch_warnings():  # Babel's own JavaScript lexer, which the extractor uses too
    warnings.simplefilter("ignore", DeprecationWarning)
    from babel.messages.jslexer import tokenize, unquote_string
from jinja2 import Environment, nodes

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
PYTHON_PACKAGES = ("storyhub", "consent", "media_pipeline", "search")
SCRIPTS = (ROOT / "storyhub" / "static" / "js" / "storyhub.js",)

# Python files whose strings no person using the site reads: the command line is for operators,
# migrations and the demo's content are data, the tagger's seed is training text.
PYTHON_SKIPPED = (
    "storyhub/cli.py",
    "storyhub/config.py",
    "storyhub/themes/cli.py",
    "storyhub/migrations/",
    "storyhub/demo.py",
    "media_pipeline/tagger/",
    "media_pipeline/synth.py",
    "media_pipeline/__main__.py",
    "media_pipeline/whisper_models.py",
    "search/",
)

MARKERS = {
    "_",
    "gettext",
    "ngettext",
    "pgettext",
    "npgettext",
    "lazy_gettext",
    "lazy_ngettext",
    "N_",
}
# Jinja calls whose string arguments are names, not words: addresses, attributes, formats.
JINJA_NAME_CALLS = {
    "url_for", "get", "startswith", "endswith", "split", "selectattr", "rejectattr", "map",
    "attr", "strftime", "format_date", "format_datetime", "format_time", "include", "csrf_token",
    "dict", "items", "pop", "setdefault", "groupby", "sort", "sum", "tojson", "css_string",
    "dateformat", "datetimeformat", "timeformat", "timedeltaformat",
}  # fmt: skip
# HTML attributes that people read (or hear, from a screen reader).
READ_ATTRIBUTES = {"placeholder", "title", "alt", "aria-label", "aria-description",
                   "aria-roledescription", "aria-valuetext", "label"}  # fmt: skip
NOT_WORDS = {"storyhub"}  # the product's name, the same in every language
PLACEHOLDER = "\x07"

_LETTERS = re.compile(r"[^\W\d_]{2,}")


def looks_like_words(text: str, *, lowercase_phrases: bool) -> bool:
    """Whether ``text`` reads as words for a person (not a name, a selector or a format)."""
    text = text.replace(PLACEHOLDER, " ").strip()
    words = _LETTERS.findall(text)
    if not words or text in NOT_WORDS or all(w in NOT_WORDS for w in words):
        return False
    if re.search(
        r"[\[\]#>={}<$\\|]|https?:|^[.:/]|\.html$|\.(js|css|py|mp4|vtt|pdf|csv|json)\b", text
    ):
        return False
    if text.count(",") >= 4 or re.match(r"[A-Z][a-z]+[A-Z]\w*:", text):
        return False  # file syntax: "Format: Name, Fontname, ...", "WrapStyle: 0"
    if re.fullmatch(r"[\w-]+(\.[\w-]+)+(\(\))?\.?", text):
        return False  # a dotted name: "LessonItem.position", "prof."
    if re.fullmatch(r"[A-Z][a-zà-ÿ]+[.!?…:]?", text):
        return True  # one capitalised word: "Back", "Next"
    if len(words) < 2:
        return False
    if re.match(r"^[^\w]*[A-Z][a-z]", text) or re.search(r"[a-z][.!?…]$", text):
        return True
    return lowercase_phrases and " " in text


# Templates ---------------------------------------------------------------------------------------


class _TextFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, str]] = []
        self._raw = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._raw += 1
        values = dict(attrs)
        for name, value in attrs:
            if not value:
                continue
            read = name in READ_ATTRIBUTES or (
                name == "value" and tag == "input" and values.get("type") in ("submit", "button")
            )
            if (read or name.startswith("data-")) and looks_like_words(
                value, lowercase_phrases=read
            ):
                self.found.append((self.getpos()[0], f"{name}={value!r}"))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._raw:
            self._raw -= 1

    def handle_data(self, data: str) -> None:
        if not self._raw and looks_like_words(data, lowercase_phrases=True):
            self.found.append((self.getpos()[0], data.strip()))


_TRANS_BLOCK = re.compile(r"{%-?\s*trans\b.*?{%-?\s*endtrans\s*-?%}", re.S)
_JINJA = re.compile(r"{{.*?}}|{%.*?%}|{#.*?#}", re.S)


def _without_jinja(source: str) -> str:
    """The template's HTML with Jinja taken out (lines kept, so line numbers stay true)."""

    def blank(match: re.Match[str]) -> str:
        return PLACEHOLDER + "\n" * match.group(0).count("\n")

    return _JINJA.sub(blank, _TRANS_BLOCK.sub(blank, source))


def _marked_constants(tree: nodes.Template) -> set[int]:
    marked: set[int] = set()
    for call in tree.find_all(nodes.Call):
        name = call.node.name if isinstance(call.node, nodes.Name) else None
        attr = call.node.attr if isinstance(call.node, nodes.Getattr) else None
        if name in MARKERS or name in JINJA_NAME_CALLS or attr in JINJA_NAME_CALLS:
            for const in call.find_all(nodes.Const):
                marked.add(id(const))
    for flt in tree.find_all(nodes.Filter):
        if flt.name in JINJA_NAME_CALLS or flt.name in ("join", "replace", "truncate", "default"):
            for arg in [*flt.args, *(kw.value for kw in flt.kwargs)]:
                if flt.name != "default":
                    for const in (
                        arg.find_all(nodes.Const) if not isinstance(arg, nodes.Const) else [arg]
                    ):
                        marked.add(id(const))
    for test in tree.find_all(nodes.Test):
        for const in test.find_all(nodes.Const):
            marked.add(id(const))
    for compare in tree.find_all(nodes.Compare):
        for const in compare.find_all(nodes.Const):
            marked.add(id(const))
    for sub in tree.find_all(nodes.Getitem):
        if isinstance(sub.arg, nodes.Const):
            marked.add(id(sub.arg))
    return marked


def _plural_by_hand(tree: nodes.Template) -> Iterator[nodes.CondExpr]:
    """``'' if n == 1 else 's'``: English plurals, which Welsh (six forms) can't follow."""
    for cond in tree.find_all(nodes.CondExpr):
        for side in (cond.expr1, cond.expr2):
            if isinstance(side, nodes.Const) and side.value in ("s", "es", "ies"):
                yield cond


def unmarked_in_template(path: Path, env: Environment) -> Iterator[tuple[int, str]]:
    source = path.read_text(encoding="utf-8")
    finder = _TextFinder()
    finder.feed(_without_jinja(source))
    finder.close()
    yield from finder.found
    tree = env.parse(source)
    marked = _marked_constants(tree)
    for const in tree.find_all(nodes.Const):
        if (
            isinstance(const.value, str)
            and id(const) not in marked
            and looks_like_words(const.value, lowercase_phrases=True)
        ):
            yield const.lineno, const.value
    for cond in _plural_by_hand(tree):
        yield cond.lineno, "a plural made by hand (use ngettext)"


# Python ------------------------------------------------------------------------------------------

# Calls whose strings are for developers or operators, never shown on a page.
_NOT_FOR_PEOPLE_CALLS = {
    "ValueError", "TypeError", "RuntimeError", "KeyError", "AssertionError", "LookupError",
    "NotImplementedError", "IndexError", "OSError", "PermissionError", "FileNotFoundError",
    "SystemExit", "warn", "echo", "secho", "option", "argument", "command", "group",
    "debug", "info", "warning", "error", "exception", "critical", "log", "text", "execute",
    "ClickException", "UsageError", "BadParameter", "Abort", "getLogger", "deprecated",
    "route", "get", "post", "Blueprint", "abort_json_schema", "mapped_column", "Column",
    "Index", "CheckConstraint", "UniqueConstraint", "ForeignKey", "TypeVar", "namedtuple",
}  # fmt: skip
# metadata=: OpenAPI descriptions of the API's fields, developer documentation in English;
# detail=: a MediaError's technical detail, for the logs only (media_pipeline/errors.py).
_NOT_FOR_PEOPLE_KEYWORDS = {
    "help", "short_help", "epilog", "metavar", "comment", "doc", "samesite", "metadata", "detail"
}  # fmt: skip
_HEADER_NAME = re.compile(r"[A-Z][a-z]+(-[A-Z][a-z]+)+")  # "Content-Security-Policy"


def _docstring_ids(tree: ast.AST) -> set[int]:
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _call_name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def unmarked_in_python(path: Path) -> Iterator[tuple[int, str]]:
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    lines = source.splitlines()
    skipped = _docstring_ids(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _call_name(node)
            if name in MARKERS or name in _NOT_FOR_PEOPLE_CALLS:
                for inner in ast.walk(node):
                    skipped.add(id(inner))
            for keyword in node.keywords:
                if keyword.arg in _NOT_FOR_PEOPLE_KEYWORDS:
                    for inner in ast.walk(keyword.value):
                        skipped.add(id(inner))
        elif isinstance(node, ast.Raise) and node.exc is not None:
            exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            exc_name = exc.id if isinstance(exc, ast.Name) else getattr(exc, "attr", "")
            if exc_name in _NOT_FOR_PEOPLE_CALLS:
                for inner in ast.walk(node.exc):
                    skipped.add(id(inner))
        elif isinstance(node, ast.Dict):
            skipped.update(id(key) for key in node.keys if key is not None)  # keys name things
        elif isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "__all__" for target in node.targets
        ):
            for inner in ast.walk(node.value):
                skipped.add(id(inner))
        elif isinstance(node, ast.FunctionDef) and node.name in ("__repr__", "__str__"):
            for inner in ast.walk(node):
                skipped.add(id(inner))
        elif isinstance(node, ast.JoinedStr):
            for inner in ast.walk(node):
                if inner is not node:
                    skipped.add(id(inner))
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
        elif isinstance(node, ast.JoinedStr):
            text = "".join(
                str(part.value) if isinstance(part, ast.Constant) else PLACEHOLDER
                for part in node.values
            )
        else:
            continue
        line = lines[node.lineno - 1] if node.lineno <= len(lines) else ""
        if "# untranslated:" in line or _HEADER_NAME.fullmatch(text):
            continue
        if looks_like_words(text, lowercase_phrases=False):
            yield node.lineno, text


# JavaScript --------------------------------------------------------------------------------------


def unmarked_in_script(path: Path) -> Iterator[tuple[int, str]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        tokens = [t for t in tokenize(path.read_text(encoding="utf-8")) if t.type != "linecomment"]
    for index, token in enumerate(tokens):
        if token.type not in ("string", "template_string"):
            continue
        before = tokens[index - 2 : index]
        if len(before) == 2 and before[0].value == "_" and before[1].value == "(":
            continue
        after = tokens[index + 1] if index + 1 < len(tokens) else None
        # Babel's lexer reads "===" as "==" then "=": so "==" or "!=" two tokens back counts too.
        compared = ("===", "!==", "==", "!=", "case")
        if (
            (before[-1:] and before[-1].value in compared)
            or (len(before) == 2 and before[1].value == "=" and before[0].value in ("==", "!="))
            or (after is not None and after.value in ("===", "!==", "==", "!="))
        ):
            continue  # compared with, not shown: e.key === "Enter"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            text = unquote_string(token.value) if token.type == "string" else token.value.strip("`")
        if looks_like_words(text, lowercase_phrases=False):
            yield token.lineno, text


# All of them -------------------------------------------------------------------------------------


def _relative(file: Path) -> str:
    return file.relative_to(ROOT).as_posix() if file.is_relative_to(ROOT) else file.as_posix()


def _python_files(paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            rel = _relative(file)
            if file.suffix == ".py" and not any(rel.startswith(s) for s in PYTHON_SKIPPED):
                yield file


def unmarked(paths: Iterable[Path] | None = None) -> list[str]:
    """Every unmarked string under ``paths`` (default: the whole site) as "path:line: text"."""
    chosen = [Path(p).resolve() for p in paths] if paths else [
        TEMPLATES, *(ROOT / p for p in PYTHON_PACKAGES), *SCRIPTS
    ]  # fmt: skip
    env = Environment(extensions=["jinja2.ext.i18n"], autoescape=True)  # parsed, never rendered
    found: list[str] = []
    for path in chosen:
        files = sorted(path.rglob("*")) if path.is_dir() else [path]
        for file in files:
            rel = _relative(file)
            if file.suffix == ".html":
                hits: Iterable[tuple[int, str]] = unmarked_in_template(file, env)
            elif file.suffix == ".js" and file in SCRIPTS:
                hits = unmarked_in_script(file)
            elif file.suffix == ".py" and file in set(_python_files([file])):
                hits = unmarked_in_python(file)
            else:
                continue
            found.extend(f"{rel}:{line}: {text!r}" for line, text in hits)
    return found


if __name__ == "__main__":
    results = unmarked([Path(a) for a in sys.argv[1:]] or None)
    print("\n".join(results))
    print(f"{len(results)} unmarked", file=sys.stderr)
    sys.exit(1 if results else 0)
