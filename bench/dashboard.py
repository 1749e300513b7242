"""Dashboard benchmark: the outcomes dashboard's server-side time at 1,000 and 10,000 stories.

    .venv/bin/python bench/dashboard.py                                  # 1,000 then 10,000
    .venv/bin/python bench/dashboard.py --stories 200,2000 --requests 20  # a quicker look

For each corpus size it makes the search benchmark's synthetic corpus (bench/search.py's
``make_corpus``: 30-50 passages a story, 30 % of passages with a confirmed theme, 60 % of stories
shared for anonymous statistics, 30 % for learning events) and loads it with ``load_corpus`` into
a fresh SQLite database in a throwaway instance folder. Confirmed themes are marked good, bad or
mixed at random (30 %, 15 %, 5 %), the rest left unmarked; each story is dated by the corpus.

Then, signed in through the real login form (Flask test client, CSRF off) as a curator and as a
member (a manager or councillor), it warms up and times ``--requests`` requests of each kind:

- ``GET /dashboard`` with no filters: every table and both SVG charts;
- ``GET /dashboard`` with one random filter: a setting, a kind of outcome, a kind of storyteller or
  a year; grouped by year a third of the time;
- ``GET /dashboard/passages`` for a random cell of a table (what a click on a number opens), as
  the curator and as the member (who sees only the passages shared for learning events);
- ``GET /dashboard/outcomes.csv``.

Every answer must be 200 (the script exits 1 otherwise). It also times
``storyhub.dashboard.services.dashboard(Slice())`` and ``load_facts(Slice())`` alone, in an app
context, to separate counting from rendering. It reports p50 and p95 per kind per size, and how
much each p95 grew against the growth in stories.

Those are warm: the publication (storyhub/dashboard/publication.py: every cell any request can
show, and which are hidden) is made once per state of the archive and kept. The first request
after the archive changes makes it again. So it also measures, ``--cold`` times each (p50 and
max), with ``publication._cache`` emptied before each one (what a changed theme or consent does):

- ``GET /dashboard`` with no filters, cold;
- ``services.publication_for(facts, threshold)`` alone, cold, split into counting every cell
  (``Publication._count``, once per shape) and choosing the hidden cells (``_protect``); and
  warm (the fingerprint of the counted passages, which every request computes);
- the memory of making one publication: the peak and what stays allocated (tracemalloc, which
  sees numpy's arrays too), and the growth of the process's peak resident memory (VmHWM, reset
  through /proc/self/clear_refs on Linux);
- the size of the publication: cells, cells hidden by the threshold, cells hidden in all, moves,
  distinct atoms, and atoms whose cells were listed while choosing (``atoms_listed``: the
  working tables are dropped when the build ends).

``--profile`` prints cProfile's top functions for one cold ``publication_for`` at each size.
No timing is asserted: this measures; the figures go to bench/README.md. The instance folders
are removed at the end, even on Ctrl+C.
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import datetime as dt
import gc
import importlib.util
import io
import os
import platform
import pstats
import random
import shutil
import signal
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# A benchmark never touches a real site: the shell's STORYHUB_* settings are dropped.
for _name in [k for k in os.environ if k.startswith("STORYHUB_")]:
    del os.environ[_name]

# bench/search.py, by path: the name "search" is the project's search package.
_spec = importlib.util.spec_from_file_location(
    "bench_search", Path(__file__).with_name("search.py")
)
assert _spec is not None and _spec.loader is not None
bench_search = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_search)

PASSWORD = "bench password 1"
KINDS = [
    "dashboard, no filters",
    "dashboard, one filter",
    "passages behind a cell (curator)",
    "passages behind a cell (member)",
    "outcomes.csv",
]
DIRECT = ["services.dashboard(Slice()) alone", "load_facts(Slice()) alone"]
COLD = [
    "dashboard, no filters, cold",
    "publication_for alone, cold",
    "of which counting every cell (_count)",
    "of which choosing hidden cells (_protect)",
    "publication_for alone, warm (fingerprint)",
]
WARM_UP = 5
FIRST_MONTH, LAST_MONTH = 2023 * 12, 2026 * 12 + 11  # the corpus's story dates (month numbers)


def month_arg(month: int) -> str:
    return f"{month // 12:04d}-{month % 12 + 1:02d}"


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


class Choices:
    """The filter values the dashboard offers, read from the site (taxonomy and enums)."""

    def __init__(self) -> None:
        from storyhub.dashboard import services
        from storyhub.dashboard.slices import VALENCE_CHOICES

        self.kinds = [k.value for k in services.KINDS]
        self.subthemes = [(s.kind.value, s.key) for s in services.taxonomy()]
        self.tellers = [t.value for t in services.TELLERS]
        self.settings = [s.value for s in services.SETTINGS]
        self.languages = [lang.value for lang in services.LANGUAGES]
        self.valences = list(VALENCE_CHOICES)


def one_filter(rng: random.Random, c: Choices) -> dict[str, str]:
    """What someone sets in the dashboard's filter form: one filter, sometimes by year."""
    which = rng.choice(["setting", "kind", "teller", "year"])
    if which == "year":  # counts are for whole years only (storyhub/dashboard/slices.py)
        args = {"year": str(rng.randint(FIRST_MONTH // 12, LAST_MONTH // 12))}
    else:
        args = {which: rng.choice(getattr(c, f"{which}s"))}
    if rng.random() < 1 / 3:
        args["by"] = "year"
    return args


def cell_filter(rng: random.Random, c: Choices) -> dict[str, str]:
    """The link behind one number of one table: its row (a subtheme, a kind, or the total row)
    and its column (one of the table's, or the row's total)."""
    kind, subtheme = rng.choice(c.subthemes)
    row: dict[str, str] = rng.choices(
        [{"kind": kind, "subtheme": subtheme}, {"kind": kind}, {}], [0.45, 0.45, 0.1]
    )[0]
    table = rng.choice(["themes", "setting", "teller", "language", "time"])
    if rng.random() < 0.15:  # the row's total
        column: dict[str, str] = {}
    elif table == "themes":
        column = {"valence": rng.choice(c.valences)}
    elif table == "setting":
        column = {"setting": rng.choice(c.settings)}
    elif table == "teller":
        column = {"teller": rng.choice(c.tellers)}
    elif table == "language":
        column = {"language": rng.choice(c.languages)}
    else:  # a quarter of the time chart
        first = rng.randrange(FIRST_MONTH, LAST_MONTH + 1, 3)
        column = {"from": month_arg(first), "to": month_arg(first + 2)}
    args = {**row, **column}
    if rng.random() < 0.2:  # "Next page"
        args["page"] = str(rng.randint(2, 4))
    return args


def make_site(folder: Path) -> Any:
    """A storyhub app on an empty, migrated SQLite database in ``folder``, with its accounts."""
    os.environ["STORYHUB_INSTANCE_PATH"] = str(folder)
    from flask_migrate import upgrade

    from storyhub import create_app
    from storyhub.auth.services import create_user
    from storyhub.extensions import db
    from storyhub.models import Role

    app = create_app({"QUEUE_URL": "immediate", "WTF_CSRF_ENABLED": False})
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        create_user("bench-curator", PASSWORD, Role.CURATOR)
        create_user("bench-member", PASSWORD, Role.MEMBER)
        db.session.commit()
    return app


def signed_in(app: Any, username: str) -> Any:
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": PASSWORD})
    if response.status_code != 302:
        raise SystemExit(f"could not sign in as {username}: {response.status_code}")
    return client


def corpus_facts(app: Any) -> dict[str, int]:
    from sqlalchemy import func, select

    from consent.models import Audience
    from consent.policy import counted_stories, shared_with
    from storyhub.extensions import db
    from storyhub.models import Passage, Story
    from storyhub.themes.models import PassageTheme, TagStatus

    def count(query: Any) -> int:
        return int(db.session.scalar(query) or 0)

    confirmed = (
        select(func.count(PassageTheme.id))
        .join(Passage, Passage.id == PassageTheme.passage_id)
        .join(Story, Story.id == Passage.story_id)
        .where(PassageTheme.status == TagStatus.CONFIRMED)
    )
    with app.app_context():
        return {
            "stories": count(select(func.count(Story.id))),
            "passages": count(select(func.count(Passage.id))),
            "counted stories": count(select(func.count(Story.id)).where(counted_stories())),
            "confirmed themes": count(confirmed),
            "counted confirmed themes": count(confirmed.where(counted_stories())),
            "counted stories with a theme": count(
                confirmed.with_only_columns(func.count(func.distinct(Story.id))).where(
                    counted_stories()
                )
            ),
            "counted stories a member may open": count(
                select(func.count(Story.id)).where(
                    counted_stories(), shared_with(Audience.LEARNING_EVENTS)
                )
            ),
        }


def check_csv(text: str, facts: dict[str, int]) -> str | None:
    """The export's grand total must be the counted confirmed themes, from their stories."""
    for row in csv.DictReader(io.StringIO(text)):
        if row["outcome"] == "All outcomes" and row["column"] == "All":
            want = (
                str(facts["counted confirmed themes"]),
                str(facts["counted stories with a theme"]),
            )
            if (row["passages"], row["stories"]) != want:
                return f"outcomes.csv total {row['passages']} from {row['stories']} stories, "\
                       f"expected {want[0]} from {want[1]}"  # fmt: skip
            return None
    return "outcomes.csv has no grand total"


def time_calls(call: Callable[[], object], n: int) -> list[float]:
    for _ in range(WARM_UP):
        call()
    timings = []
    for _ in range(n):
        started = time.perf_counter()
        call()
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def _memory_kb(field: str) -> int | None:
    """A ``/proc/self/status`` figure (VmRSS, VmHWM) in kB; None off Linux."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak_rss() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current VmRSS
        return True
    except OSError:
        return False


class PhaseTimer:
    """Times ``Publication._count`` and ``Publication._protect`` while installed."""

    def __init__(self) -> None:
        from storyhub.dashboard.publication import Publication

        self.cls = Publication
        self.seconds = {"_count": 0.0, "_protect": 0.0}
        self.originals = {name: getattr(Publication, name) for name in self.seconds}

    def __enter__(self) -> PhaseTimer:
        for name, original in self.originals.items():
            setattr(self.cls, name, self._timed(name, original))
        return self

    def __exit__(self, *_exc: object) -> None:
        for name, original in self.originals.items():
            setattr(self.cls, name, original)

    def _timed(self, name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - started

        return timed


def bench_cold(app: Any, cold_request: Callable[[], None], repeats: int, profile: bool
               ) -> tuple[dict[str, list[float]], dict[str, Any]]:  # fmt: skip
    """The first request after the archive changed, and the making of the publication alone."""
    from storyhub.dashboard import publication as publication_module
    from storyhub.dashboard import services
    from storyhub.dashboard.slices import Slice

    def forget() -> None:
        publication_module._cache.clear()  # as when the counted passages change

    results: dict[str, list[float]] = {kind: [] for kind in COLD}
    for _ in range(repeats):
        forget()
        started = time.perf_counter()
        cold_request()
        results[COLD[0]].append((time.perf_counter() - started) * 1000)
    extra: dict[str, Any] = {}
    with app.app_context():
        facts = services.load_facts(Slice())
        limit = services.threshold()
        for _ in range(repeats):
            forget()
            with PhaseTimer() as phases:
                started = time.perf_counter()
                services.publication_for(facts, limit)
                results[COLD[1]].append((time.perf_counter() - started) * 1000)
            results[COLD[2]].append(phases.seconds["_count"] * 1000)
            results[COLD[3]].append(phases.seconds["_protect"] * 1000)
        results[COLD[4]] = time_calls(lambda: services.publication_for(facts, limit), repeats)

        # Memory: one more publication, made under tracemalloc (slower, so not timed) ...
        forget()
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        pub = services.publication_for(facts, limit)
        current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        extra["traced peak MB"] = (peak - before) / 2**20
        extra["traced kept MB"] = (current - before) / 2**20
        extra["cells"] = len(pub.tallies)
        extra["primary hidden"] = sum(
            1 for t in pub.tallies.values() if 0 < t.passages < limit or 0 < t.stories < limit
        )
        extra["hidden"] = len(pub.hidden)
        extra["moves"] = len(pub.moves)
        extra["distinct atoms"] = len(pub.atom_count)
        extra["atoms with their cells listed"] = pub.atoms_listed  # while choosing, then dropped
        del pub
        # ... and one more with the process's peak resident memory reset just before.
        forget()
        gc.collect()
        rss_before = _memory_kb("VmRSS")
        if rss_before is not None and _reset_peak_rss():
            services.publication_for(facts, limit)
            peak_kb = _memory_kb("VmHWM")
            if peak_kb is not None:
                extra["RSS peak growth MB"] = (peak_kb - rss_before) / 1024

        if profile:
            forget()
            profiler = cProfile.Profile()
            profiler.enable()
            services.publication_for(facts, limit)
            profiler.disable()
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(15)
            extra["profile"] = out.getvalue()
    return results, extra


def bench_size(stories: int, requests: int, seed: int, problems: list[str], cold: int = 5,
               profile: bool = False) -> dict[str, Any]:  # fmt: skip
    started = time.perf_counter()
    docs, _words = bench_search.make_corpus(stories)
    print(f"\n{stories:,} stories: {len(docs):,} passages "
          f"({time.perf_counter() - started:.0f} s to make)", flush=True)  # fmt: skip
    folder = Path(tempfile.mkdtemp(prefix="storyhub-bench-dashboard-"))
    app = None
    try:
        app = make_site(folder)
        started = time.perf_counter()
        bench_search.load_corpus(app, docs)
        load_seconds = time.perf_counter() - started
        del docs
        facts = corpus_facts(app)
        print("  " + ", ".join(f"{k} {v:,}" for k, v in facts.items()), flush=True)

        with app.app_context():
            choices = Choices()
        curator, member = signed_in(app, "bench-curator"), signed_in(app, "bench-member")
        problem = check_csv(curator.get("/dashboard/outcomes.csv").get_data(as_text=True), facts)
        if problem:
            problems.append(f"{stories:,} stories: {problem}")
        rng = random.Random(seed)

        def get(client: Any, path: str, args: Callable[[], dict[str, str]] | None = None
                ) -> Callable[[], None]:  # fmt: skip
            def call() -> None:
                query = args() if args is not None else {}
                response = client.get(path, query_string=query)
                if response.status_code != 200:
                    problems.append(f"{stories:,} stories: {path} {query}: {response.status_code}")

            return call

        def fresh(
            make: Callable[[random.Random, Choices], dict[str, str]],
        ) -> Callable[[], dict[str, str]]:
            return lambda: make(rng, choices)

        calls = {
            "dashboard, no filters": get(curator, "/dashboard"),
            "dashboard, one filter": get(curator, "/dashboard", fresh(one_filter)),
            "passages behind a cell (curator)": get(curator, "/dashboard/passages",
                                                    fresh(cell_filter)),
            "passages behind a cell (member)": get(member, "/dashboard/passages",
                                                   fresh(cell_filter)),
            "outcomes.csv": get(curator, "/dashboard/outcomes.csv"),
        }  # fmt: skip
        results: dict[str, list[float]] = {}
        for kind, call in calls.items():
            results[kind] = time_calls(call, requests)
            print(f"  {kind:34} p50 {percentile(results[kind], 50):8.1f} ms  "
                  f"p95 {percentile(results[kind], 95):8.1f} ms", flush=True)  # fmt: skip

        from storyhub.dashboard import services
        from storyhub.dashboard.slices import Slice

        with app.app_context():
            for kind, direct in (
                (DIRECT[0], lambda: services.dashboard(Slice())),
                (DIRECT[1], lambda: services.load_facts(Slice())),
            ):
                results[kind] = time_calls(direct, requests)
                print(f"  {kind:34} p50 {percentile(results[kind], 50):8.1f} ms  "
                      f"p95 {percentile(results[kind], 95):8.1f} ms", flush=True)  # fmt: skip

        cold_results, extra = bench_cold(app, get(curator, "/dashboard"), cold, profile)
        for kind, timings in cold_results.items():
            results[kind] = timings
            print(f"  {kind:42} p50 {percentile(timings, 50):8.1f} ms  "
                  f"max {max(timings):8.1f} ms", flush=True)  # fmt: skip
        shown = [f"{k} {v:,.1f}" if isinstance(v, float) else f"{k} {v:,}"
                 for k, v in extra.items() if k != "profile"]  # fmt: skip
        print("  " + ", ".join(shown), flush=True)
        if "profile" in extra:
            print(extra["profile"], flush=True)
        return {"facts": facts, "load": load_seconds, "timings": results, "cold": extra}
    finally:
        if app is not None:
            from storyhub.extensions import db

            with app.app_context():
                db.session.remove()
                db.engine.dispose()
        shutil.rmtree(folder, ignore_errors=True)


def _raise_exit(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # so the `finally` in bench_size() cleans up on SIGTERM too


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stories", default="1000,10000", help="corpus sizes, comma-separated")
    parser.add_argument("--requests", type=int, default=50, help="timed requests of each kind")
    parser.add_argument("--seed", type=int, default=5, help="for the random filters")
    parser.add_argument(
        "--cold",
        type=int,
        default=5,
        help="timed cold requests (publication made again) of each kind",
    )
    parser.add_argument("--profile", action="store_true",
                        help="cProfile one cold publication_for at each size")  # fmt: skip
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.stories.split(",") if s.strip()]
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _raise_exit)

    load_start = os.getloadavg()
    started = time.perf_counter()
    problems: list[str] = []
    runs = {n: bench_size(n, args.requests, args.seed, problems, args.cold, args.profile)
            for n in sizes}  # fmt: skip
    load_end = os.getloadavg()

    first = sizes[0]
    print()
    print(f"{dt.date.today().isoformat()}  {platform.node()}  {os.cpu_count()} CPUs  "
          f"Python {platform.python_version()}")  # fmt: skip
    print("Load average (1, 5, 15 min): "
          f"{' '.join(f'{x:.2f}' for x in load_start)} at the start, "
          f"{' '.join(f'{x:.2f}' for x in load_end)} at the end; "
          f"whole run {time.perf_counter() - started:.0f} s; "
          f"{args.requests} timed requests of each kind after {WARM_UP} to warm up; "
          f"{args.cold} cold ones.\n")  # fmt: skip

    heads = [f"{n:,} stories" for n in sizes]
    growth = [f"{n:,} ÷ {first:,}" for n in sizes[1:]]
    print("| corpus | " + " | ".join(heads) + " | " + " | ".join(growth) + " |")
    print("|---" * (1 + len(sizes) + len(growth)) + "|")
    for name in ["stories", "passages", "counted stories", "counted confirmed themes",
                 "counted stories with a theme", "counted stories a member may open"]:  # fmt: skip
        values = [runs[n]["facts"][name] for n in sizes]
        ratios = [f"{v / values[0]:.1f}x" if values[0] else "-" for v in values[1:]]
        print(f"| {name} | " + " | ".join(f"{v:,}" for v in values) + " | "
              + " | ".join(ratios) + " |")  # fmt: skip
    print("| loading into SQLite | " + " | ".join(f"{runs[n]['load']:.0f} s" for n in sizes)
          + " | " + " | ".join("" for _ in growth) + " |")  # fmt: skip
    print()
    print("| request (server side) | " + " | ".join(f"{h}: p50 / p95" for h in heads) + " | "
          + " | ".join(f"growth of p50 / p95 ({g}; stories grew {n / first:.0f}x)"
                       for g, n in zip(growth, sizes[1:], strict=True)) + " |")  # fmt: skip
    print("|---" * (1 + len(sizes) + len(growth)) + "|")
    for kind in KINDS + DIRECT:
        cells = []
        for n in sizes:
            timings = runs[n]["timings"][kind]
            cells.append(f"{percentile(timings, 50):.1f} / {percentile(timings, 95):.1f} ms")
        base = [percentile(runs[first]["timings"][kind], pct) for pct in (50, 95)]
        ratios = [" / ".join(f"{percentile(runs[n]['timings'][kind], pct) / b:.1f}x"
                             for pct, b in zip((50, 95), base, strict=True))
                  for n in sizes[1:]]  # fmt: skip
        label = f"`{kind}`" if kind in DIRECT else kind
        print(f"| {label} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")
    print()
    print("| cold: publication made again | " + " | ".join(f"{h}: p50 / max" for h in heads)
          + " | " + " | ".join(f"growth of p50 ({g})" for g in growth) + " |")  # fmt: skip
    print("|---" * (1 + len(sizes) + len(growth)) + "|")
    for kind in COLD:
        cells = []
        for n in sizes:
            timings = runs[n]["timings"][kind]
            cells.append(f"{percentile(timings, 50):,.1f} / {max(timings):,.1f} ms")
        cold_base = percentile(runs[first]["timings"][kind], 50)
        ratios = [f"{percentile(runs[n]['timings'][kind], 50) / cold_base:.1f}x"
                  if cold_base else "-" for n in sizes[1:]]  # fmt: skip
        print(f"| {kind} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")
    for name, unit in (("traced peak MB", "MB"), ("traced kept MB", "MB"),
                       ("RSS peak growth MB", "MB"), ("cells", ""), ("primary hidden", ""),
                       ("hidden", ""), ("moves", ""), ("distinct atoms", ""),
                       ("atoms with their cells listed", "")):  # fmt: skip
        values = [runs[n]["cold"].get(name) for n in sizes]
        cells = [("-" if v is None else f"{v:,.0f} MB" if unit else f"{v:,}") for v in values]
        ratios = [f"{v / values[0]:.1f}x" if v and values[0] else "-" for v in values[1:]]
        print(f"| publication: {name} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")
    print()
    for problem in problems[:20]:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{len(problems)} requests failed", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
