"""Coding export benchmark: how long a curator waits for the REFI-QDA project and the CSV.

    .venv/bin/python bench/qda.py                      # 200 then 1,000 stories
    .venv/bin/python bench/qda.py --stories 100 --requests 2

Each size is the search benchmark's synthetic corpus (bench/search.py ``make_corpus``: 30-50
passages a story, 30 % of passages with a confirmed theme, 70 % of stories shared for training),
loaded by ``load_corpus`` into a fresh SQLite database (bench/dashboard.py ``make_site``). Signed
in as a curator through the real login form, it times ``--requests`` requests each of
``GET /coding/export`` (the page, which counts what will go), ``/coding/export.qdpx`` and
``/coding/export.csv``, and reports the median and the largest, the size of each file, and the
peak memory Python allocated while making one project (tracemalloc). Every answer must be 200.
No timing is asserted: this measures. The instance folders are removed at the end.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _bench_module(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(
        f"bench_{name}", Path(__file__).with_name(f"{name}.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench_dashboard = _bench_module("dashboard")  # drops the shell's STORYHUB_* settings too
bench_search = bench_dashboard.bench_search


def timed_words(app: Any) -> None:
    """Give every passage timed words from its text (the corpus has text only), as the
    transcript would: two words a second from the passage's start."""
    from sqlalchemy import bindparam, select, update

    from storyhub.extensions import db
    from storyhub.models import Passage

    with app.app_context():
        rows = db.session.execute(select(Passage.id, Passage.start, Passage.text)).all()
        changes = [
            {
                "pid": row.id,
                "new_words": [
                    {"start": row.start + i * 0.5, "end": row.start + i * 0.5 + 0.4, "text": w}
                    for i, w in enumerate(row.text.split())
                ],
            }
            for row in rows
        ]
        statement = (
            update(Passage.__table__)
            .where(Passage.__table__.c.id == bindparam("pid"))
            .values(words=bindparam("new_words"))
        )
        db.session.execute(statement, changes)
        db.session.commit()


def bench_size(stories: int, requests: int) -> None:
    docs, _words = bench_search.make_corpus(stories)
    folder = Path(tempfile.mkdtemp(prefix="storyhub-bench-qda-"))
    try:
        app = bench_dashboard.make_site(folder)
        bench_search.load_corpus(app, docs)
        del docs
        timed_words(app)
        curator = bench_dashboard.signed_in(app, "bench-curator")
        print(f"\n{stories:,} stories", flush=True)
        for path in ("/coding/export", "/coding/export.qdpx", "/coding/export.csv"):
            took, size = [], 0
            for _ in range(requests):
                started = time.perf_counter()
                response = curator.get(path)
                took.append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise SystemExit(f"{path}: {response.status_code}")
                size = len(response.data)
            print(
                f"  {path:<22} median {statistics.median(took):6.2f} s  max {max(took):6.2f} s"
                f"  {size / 1e6:6.2f} MB",
                flush=True,
            )
        from storyhub.extensions import db
        from storyhub.models import User
        from storyhub.qda import services

        with app.app_context():
            who = db.session.scalar(db.select(User).filter_by(username="bench-curator"))
            tracemalloc.start()
            coded = services.coded_stories(who)
            services.qdpx(coded, who)
            _now, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            segments = sum(len(c.segments) for c in coded)
            print(f"  {len(coded):,} stories, {segments:,} coded passages exported;"
                  f" peak {peak / 1e6:.0f} MB allocated making the project")  # fmt: skip
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", default="200,1000", help="corpus sizes, comma-separated")
    parser.add_argument("--requests", type=int, default=3, help="requests of each kind per size")
    args = parser.parse_args()
    for size in [int(s) for s in args.stories.split(",")]:
        bench_size(size, args.requests)


if __name__ == "__main__":
    main()
