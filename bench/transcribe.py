"""How long until a 5-minute story's words are there, and how fast is each Whisper model?

Storytellers want to see (and correct) what they said soon after uploading, and the archive runs
on small machines. The goal, from the issue: on this 2-core machine, the transcript of a
5-minute story is ready in under a fifth of its duration (under 60 s) with the base model,
counted from the start of the upload.

"Ready" means the story's state becomes "transcribed": the transcript and its passages are stored
and can be read and corrected. There is no search index yet, so "searchable" is that state for
now; when search arrives, its indexing step belongs inside this figure.

For each model (tiny.en and base), one round, no manual steps:

1. make a throwaway site (instance folder, database, storyteller, API token) with the real CLI,
   and start it as in production: gunicorn (gthread, one web worker, as upload_memory.py does)
   and the job worker (`flask --app storyhub worker`), with STORYHUB_WHISPER_MODEL set;
2. while that worker sits idle, measure transcribe() alone in a fresh Python process on the
   story's 16 kHz WAV: model load time (reported apart), then the real-time factor
   (RTF = transcription seconds / audio seconds; 0.10 is ten times faster than real time), CPU
   cores used, peak RSS, and the word error rate against the script the story was spoken from;
3. once the worker has been idle for --idle seconds (so it polls the queue as slowly as on a
   quiet site), upload the story through POST /api/v1/stories and poll GET /api/v1/stories/<id>
   (whose job object gives the step messages) until the state is "ready": the time to
   "transcribed" is the headline figure, and each step's share is derived from the messages;
4. sample the job worker's RSS, and separately its children (ffmpeg, the probe helper), every
   100 ms during the job.

The test story is a 1280x720 H.264/AAC MP4 of captioned slides spoken by espeak-ng
(media_pipeline.synth) from a fixed first-person text about care and support, cut to about
--minutes. It is rendered once per run (or kept with --story) and used by every round.

Rounds for different models alternate, so a change in the machine's load hits both. --repeat N
runs N rounds per model, each on a fresh site (a cold worker), and reports the medians. The
machine is shared, so the load average is printed with each round.

It prints Markdown tables and exits non-zero when a round fails or the base model misses the
goal. Everything it made (servers, workers, temporary files) is removed at the end; a --story
file is kept.

    .venv/bin/python bench/transcribe.py [--models tiny.en,base] [--repeat 1] [--idle 70]

MB here is MiB. STORYHUB_* settings in the shell are ignored, except STORYHUB_MODEL_CACHE (the
folder of the joined base model, a cache of packaged weights, never data).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import wave
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Final

import psutil
import requests

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
sys.path.insert(0, str(PROJECT_ROOT))
sys.path.insert(0, str(BENCH_DIR))  # the throwaway-site helpers are shared with upload_memory

from upload_memory import (  # noqa: E402
    FilePart,
    MultipartBody,
    Sampler,
    Server,
    flask_cli,
    post_streaming,
    site_env,
)

MB: Final = 1024 * 1024
MODELS: Final = ("tiny.en", "base")
GOAL_MODEL: Final = "base"
USERNAME: Final = "bench-teller"
PASSWORD: Final = "bench password 1234"
KEPT_ENV: Final = ("STORYHUB_MODEL_CACHE",)  # a cache of packaged weights, never data
PAUSE_SECONDS: Final = 0.6  # media_pipeline.synth's silence after each paragraph

# Words of the job's progress messages (storyhub/processing.py, media_pipeline/transcribe.py)
# that mark the start of each step. A step whose message is never seen shows as "-".
STEP_MARKS: Final = (
    ("probe + picture", ("checking your file", "making a picture")),
    ("sound", ("getting the sound ready",)),
    ("model load", ("writing down the words", "loading speech model")),
    ("listening", ("listening",)),
    ("passages", ("done in", "finding the passages")),
    ("themes", ("suggesting themes",)),
)
DONE_IN: Final = re.compile(r"done in ([0-9.]+)\s*s")

# The story: first-person, varied, no digits (Whisper may write numbers either way), and spelt
# so that British and American spelling agree where it was easy.
STORY_TITLE: Final = "The people who held the door open"
STORY_PARAGRAPHS: Final = (
    "My name is Maggie, and I want to tell you about the year everything changed. I had been "
    "looking after my husband at home for a long time, and I thought I was coping. Looking "
    "back, I was running on empty. I stopped seeing friends, I stopped going to the shops, and "
    "some days I did not speak to anyone apart from the doctor on the telephone.",
    "The first person who noticed was a woman from the pharmacy. She asked me, very gently, "
    "whether anyone was helping me. I laughed and said I was fine. She did not believe me. She "
    "wrote a number on the back of a receipt and told me that a carers group met every Tuesday "
    "morning in the church hall at the end of my road.",
    "It took me three weeks to go. I stood outside the door for ages, holding a packet of "
    "biscuits because I did not want to arrive with empty hands. When I finally walked in, a "
    "man called Desmond put a cup of tea in front of me before I had even taken my coat off. "
    "Nobody asked me to explain myself. They just made room at the table.",
    "What surprised me most was the laughter. I had expected a sad room full of tired people. "
    "Instead there was a lot of teasing and a lot of jokes about hospital food and parking "
    "tickets. Underneath the jokes, everyone understood. When I said that I sometimes felt "
    "angry with my husband, and then guilty for being angry, nobody looked shocked.",
    "A support worker called Priya came to the group once a month. She helped me fill in the "
    "forms for a carers assessment, which I had never heard of. I had been afraid that asking "
    "for help would mean someone judging how I ran my home. In fact she sat in my kitchen and "
    "asked what would make the biggest difference to my week.",
    "The answer, it turned out, was one afternoon off. Just one. A volunteer started sitting "
    "with my husband every Thursday so that I could go swimming. The first time I floated on "
    "my back in that cold pool, looking up at the roof, I cried. It was the first time in "
    "months that I had been alone with my own thoughts.",
    "My husband liked the volunteer more than he liked me, I think. They talked about football "
    "and old films, and she let him win at cards. He had been a bus driver for most of his "
    "life, and she asked him about every route he had ever driven. He remembered the names of "
    "streets that had been knocked down before she was born.",
    "There were bad weeks too. One winter he went into hospital with a chest infection, and "
    "the ward was so busy that nobody had time to sit with him. I was there from morning until "
    "night. Desmond drove me home every evening and would not take any money for petrol. He "
    "said that somebody had done the same for him once.",
    "When my husband came home, he needed more care than I could give on my own. That was the "
    "hardest conversation of my life. Priya helped me understand the choices, and she never "
    "once told me what I ought to do. She asked what he would have wanted, and what I could "
    "live with. Those turned out to be the right questions.",
    "We found a care team who came in the morning and at bedtime. At first I hated strangers "
    "in my house. I followed them from room to room and checked everything they did. One of "
    "them, a young man called Tomasz, eventually said to me, kindly, that I was allowed to go "
    "and sit down. I realised I had forgotten how.",
    "Tomasz sang while he worked. Old songs, mostly, that his grandmother had taught him. My "
    "husband could no longer follow a conversation by then, but he would hum along with the "
    "tunes. Some mornings that humming was the only sign that he was still with us, and I "
    "will always be grateful to Tomasz for finding it.",
    "My husband died in the spring, at home, as he had wanted. The care team came to the "
    "funeral. So did half of the carers group, and the woman from the pharmacy, who I had "
    "never properly thanked. I told her that her note on the back of a receipt had probably "
    "saved my life. She said she had only written down a phone number.",
    "I still go to the group on Tuesdays. I am not a carer anymore, not in the official sense, "
    "but they told me I could not leave. Now I am the one who puts the kettle on when somebody "
    "new is standing in the doorway, holding a packet of biscuits, wondering whether they "
    "are allowed to come in.",
    "If I could say one thing to anyone who is looking after someone they love, it would be "
    "this. Asking for help is not giving up. It is how you keep going. The people who held the "
    "door open for me did not fix anything. They simply made sure I was never completely alone "
    "with it, and that turned out to be enough.",
    "I wanted to record this story so that the people who design services can hear what "
    "mattered. It was not the leaflets or the websites. It was a cup of tea, a lift home, an "
    "afternoon in a swimming pool, and a young man who sang. Small things, done by people who "
    "had time to notice. Please protect the time to notice.",
    "Thank you for listening to me. I hope that somewhere, somebody who is running on empty "
    "hears this and walks through a door they have been standing outside for weeks. There will "
    "be tea. There will probably be biscuits. And there will be people who understand.",
)


# --- the test story ----------------------------------------------------------------------


@dataclass(frozen=True)
class Story:
    path: Path
    script: str  # the words spoken, for the word error rate
    duration: float  # seconds, as probed
    width: int
    height: int
    size: int  # bytes

    @property
    def words(self) -> int:
        return len(normalised_words(self.script))


def wav_seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as w:
        return w.getnframes() / w.getframerate()


def fit_paragraphs(seconds: float, scratch: Path) -> list[str]:
    """The story's first paragraphs (the last one cut at a sentence) that last about ``seconds``.

    Each candidate is spoken with espeak-ng once to learn its length, so the story is within a
    sentence of the target whatever espeak's real speaking rate is.
    """
    from media_pipeline.synth import speak

    chosen: list[str] = []
    total = 0.0
    for i, paragraph in enumerate(STORY_PARAGRAPHS):
        length = wav_seconds(speak(paragraph, scratch / f"p{i}.wav")) + PAUSE_SECONDS
        if total + length < seconds:
            chosen.append(paragraph)
            total += length
            continue
        # The last paragraph: the fewest whole sentences that reach the target.
        sentences = re.split(r"(?<=[.!?])\s+", paragraph)
        for n in range(1, len(sentences) + 1):
            part = " ".join(sentences[:n])
            if wav_seconds(speak(part, scratch / f"p{i}_{n}.wav")) + PAUSE_SECONDS >= (
                seconds - total
            ):
                chosen.append(part)
                return chosen
        chosen.append(paragraph)
        return chosen
    raise RuntimeError(f"the story text lasts only {total:.0f} s; --minutes is too long")


def make_story(dest: Path, seconds: float) -> Story:
    """Render the test story to ``dest`` (MP4, 1280x720) with a JSON sidecar of its script.

    An existing ``dest`` with its sidecar is used as it is (--story keeps it between runs).
    """
    from media_pipeline import probe
    from media_pipeline.synth import render_story

    sidecar = dest.with_name(dest.name + ".json")
    if dest.is_file() and sidecar.is_file():
        paragraphs = json.loads(sidecar.read_text(encoding="utf-8"))["paragraphs"]
        print(f"Using the story in {dest}", flush=True)
    else:
        started = time.perf_counter()
        print(f"Rendering a {seconds:.0f} s story with espeak-ng ...", flush=True)
        with tempfile.TemporaryDirectory(prefix="story-text-", dir=dest.parent) as scratch:
            paragraphs = fit_paragraphs(seconds, Path(scratch))
        render_story(dest, title=STORY_TITLE, paragraphs=paragraphs, timeout=1800)
        sidecar.write_text(json.dumps({"paragraphs": paragraphs}, indent=1), encoding="utf-8")
        print(f"  rendered in {time.perf_counter() - started:.0f} s", flush=True)
    info = probe(dest)
    return Story(
        dest,
        " ".join(paragraphs),
        info.duration,
        info.width or 0,
        info.height or 0,
        dest.stat().st_size,
    )


# --- transcribe() alone, in a fresh process ----------------------------------------------


@dataclass(frozen=True)
class Settings:
    """The transcription settings the site runs with (its config, from STORYHUB_WHISPER_*)."""

    compute_type: str
    beam_size: int
    threads: int
    worker_threads: int


@dataclass(frozen=True)
class Alone:
    """transcribe() alone: one fresh process, model load timed apart from transcription."""

    load_seconds: float  # importing faster-whisper and loading the model
    seconds: float  # transcribe() with the model loaded
    audio_seconds: float
    cpu_seconds: float  # user + system, all threads, during transcribe()
    rss_loaded: int
    peak_rss: int
    text: str

    @property
    def rtf(self) -> float:
        return self.seconds / self.audio_seconds

    @property
    def cores(self) -> float:
        return self.cpu_seconds / self.seconds


def alone_child(argv: Sequence[str]) -> int:
    """The child process: load the model, transcribe the WAV, print the figures as JSON."""
    parser = argparse.ArgumentParser(prog="transcribe.py alone")
    parser.add_argument("model")
    parser.add_argument("wav", type=Path)
    parser.add_argument("--compute-type", required=True)
    parser.add_argument("--beam-size", type=int, required=True)
    parser.add_argument("--threads", type=int, required=True)
    args = parser.parse_args(argv)
    from media_pipeline.transcribe import load_model, transcribe

    def cpu() -> float:
        times = os.times()
        return times.user + times.system

    started = time.perf_counter()
    load_model(args.model, compute_type=args.compute_type, threads=args.threads)
    loaded = time.perf_counter()
    rss_loaded = psutil.Process().memory_info().rss
    cpu_before = cpu()
    result = transcribe(
        args.wav,
        language="en",
        model=args.model,
        compute_type=args.compute_type,
        beam_size=args.beam_size,
        threads=args.threads,
    )
    done = time.perf_counter()
    figures = {
        "load_seconds": loaded - started,
        "seconds": done - loaded,
        "audio_seconds": wav_seconds(args.wav),
        "cpu_seconds": cpu() - cpu_before,
        "rss_loaded": rss_loaded,
        "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,  # KiB on Linux
        "text": result.text,
    }
    print(json.dumps(figures))
    return 0


def measure_alone(env: dict[str, str], model: str, wav: Path, settings: Settings) -> Alone:
    """Run alone_child in a fresh interpreter, so its peak RSS is this model's alone."""
    argv = [
        sys.executable, str(Path(__file__).resolve()), "alone", model, str(wav),
        "--compute-type", settings.compute_type,
        "--beam-size", str(settings.beam_size),
        "--threads", str(settings.threads),
    ]  # fmt: skip
    result = subprocess.run(
        argv, env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=3600, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"transcribe() alone failed ({model}):\n{result.stderr[-3000:]}")
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    return Alone(**figures)


# --- the site: gunicorn and the job worker -----------------------------------------------


class Worker:
    """`flask --app storyhub worker` in its own session (Ctrl+C reaches it only via stop())."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0

    def start(self) -> psutil.Process:
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "storyhub", "worker"],
                env=self.env,
                cwd=PROJECT_ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.started_at = time.monotonic()
        return psutil.Process(self.proc.pid)

    def check(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"the worker exited ({self.proc.returncode}):\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM (huey stops at once), SIGKILL if it hangs; then any ffmpeg it left behind."""
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            children = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            children = []
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for child in children:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()


@dataclass
class Event:
    """A change seen while polling the story: seconds since the upload started."""

    t: float
    state: str
    job_state: str
    message: str


@dataclass
class Round:
    model: str
    number: int
    ok: bool = False
    note: str = ""
    alone: Alone | None = None
    upload_seconds: float = 0.0
    transcribed: float | None = None  # seconds from the upload's start
    ready: float | None = None
    events: list[Event] = field(default_factory=list)
    worker_idle_rss: int = 0
    worker_peak_rss: int = 0
    children_peak: int = 0
    worker_cpu_seconds: float = 0.0
    load_before: float = 0.0
    load_after: float = 0.0

    def first(self, words: Sequence[str]) -> float | None:
        """When a message containing any of ``words`` was first seen."""
        for event in self.events:
            if any(w in event.message.lower() for w in words):
                return event.t
        return None

    def steps(self) -> dict[str, float | None]:
        """Seconds per step of the job, from the first sighting of each step's message.

        Polling every --poll seconds, a step shorter than that may be missed (its time then
        counts in the step before it).
        """
        running = next(
            (e.t for e in self.events if e.job_state not in ("", "queued")), self.upload_seconds
        )
        marks: list[tuple[str, float | None]] = [("waiting for the worker", self.upload_seconds)]
        marks.append(("probe + picture", running))
        marks += [(name, self.first(words)) for name, words in STEP_MARKS[1:]]
        marks.append(("rendition", self.transcribed))
        marks.append(("end", self.ready))
        steps: dict[str, float | None] = {}
        for i, (name, start) in enumerate(marks[:-1]):
            end = next((t for _, t in marks[i + 1 :] if t is not None), None)
            steps[name] = None if start is None or end is None else max(0.0, end - start)
        return steps

    def worker_decode_seconds(self) -> float | None:
        """transcribe()'s own "done in X s" in the job, when the poll caught that message."""
        for event in self.events:
            match = DONE_IN.search(event.message)
            if match:
                return float(match.group(1))
        return None


def wait_until_up(server: Server, timeout: float = 180.0) -> None:
    """Server.wait_ready, but patient: on a loaded machine the first /healthz can take > 2 s.

    (upload_memory's wait_ready gives each try 2 s and only retries when nobody is listening.)
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            server.wait_ready(timeout=max(1.0, deadline - time.monotonic()))
            return
        except requests.Timeout:
            if time.monotonic() > deadline:
                raise


def start_site(root: Path, model: str, settings_env: dict[str, str]) -> tuple[Server, Worker, str]:
    """Set up a throwaway site in ``root`` and start its web server and job worker."""
    instance = root / "instance"
    env = site_env(instance, max_upload_mb=2048)
    env.update(settings_env)
    env["STORYHUB_WHISPER_MODEL"] = model
    flask_cli(env, "setup", "--no-demo")
    flask_cli(
        env, "users", "create", "--role", "storyteller",
        "--username", USERNAME, "--password", PASSWORD,
    )  # fmt: skip
    token = flask_cli(env, "users", "token", USERNAME).strip().splitlines()[-1]
    return Server(env, root / "gunicorn.log"), Worker(env, root / "worker.log"), token


def upload_and_follow(
    rnd: Round,
    *,
    server: Server,
    worker: Worker,
    worker_proc: psutil.Process,
    token: str,
    story: Story,
    poll: float,
    timeout: float,
) -> None:
    """Upload the story through the API and poll it until it is ready (or fails, or times out)."""
    auth = {"Authorization": f"Bearer {token}"}
    fields = {
        "title": f"Transcription benchmark {rnd.model} {uuid.uuid4().hex[:6]}",
        "description": "Benchmark upload",
        "language": "en",
        "teller_kind": "service_user",
        "take_part": "yes",
    }
    body = MultipartBody(fields, "media", FilePart(story.path.name, story.size, story.path))
    rnd.load_before = os.getloadavg()[0]
    cpu = worker_proc.cpu_times()
    cpu_before = cpu.user + cpu.system + cpu.children_user + cpu.children_system
    with Sampler(worker_proc, 0.1) as sampler:
        start = time.perf_counter()
        reply = post_streaming(server.base, "/api/v1/stories", body, auth)
        rnd.upload_seconds = time.perf_counter() - start
        payload = reply.json() or {}
        if reply.status != 201 or "id" not in payload:
            rnd.note = f"upload answered {reply.status}: {reply.body[:300]!r}"
            return
        url = f"{server.base}/api/v1/stories/{payload['id']}"
        last: tuple[str, str, str] | None = None
        deadline = start + timeout
        while time.perf_counter() < deadline:
            worker.check()
            try:
                data = requests.get(url, headers=auth, timeout=10).json()
            except (requests.RequestException, ValueError):
                time.sleep(poll)
                continue
            now = time.perf_counter() - start
            job = data.get("job") or {}
            seen = (data["state"], job.get("state", ""), job.get("message") or "")
            if seen != last:
                rnd.events.append(Event(now, *seen))
                last = seen
            if data["state"] == "transcribed" and rnd.transcribed is None:
                rnd.transcribed = now
            if data["state"] == "ready":
                rnd.ready = now
                rnd.transcribed = rnd.transcribed if rnd.transcribed is not None else now
                break
            if data["state"] == "failed" or job.get("state") == "failed":
                rnd.note = f"the job failed: {data.get('failure_message') or job.get('error')}"
                return
            time.sleep(poll)
        else:
            rnd.note = f"not ready after {timeout:.0f} s (last: {last})"
            return
    cpu = worker_proc.cpu_times()
    rnd.worker_cpu_seconds = (
        cpu.user + cpu.system + cpu.children_user + cpu.children_system - cpu_before
    )
    rnd.load_after = os.getloadavg()[0]
    rnd.worker_idle_rss = sampler.baseline
    rnd.worker_peak_rss = sampler.peak
    rnd.children_peak = sampler.children_peak
    rnd.ok = True


def run_round(
    rnd: Round,
    *,
    root: Path,
    story: Story,
    wav: Path,
    settings: Settings,
    settings_env: dict[str, str],
    child_env: dict[str, str],
    idle: float,
    poll: float,
    timeout: float,
) -> None:
    """One model, one fresh site: transcribe() alone while the worker idles, then the upload."""
    site = Path(tempfile.mkdtemp(prefix=f"site-{rnd.model}-", dir=root))
    server: Server | None = None
    worker: Worker | None = None
    try:
        server, worker, token = start_site(site, rnd.model, settings_env)
        server.start()
        worker_proc = worker.start()
        wait_until_up(server)
        print(f"  {rnd.model} #{rnd.number}: transcribe() alone ...", flush=True)
        rnd.alone = measure_alone(child_env, rnd.model, wav, settings)
        wait = idle - (time.monotonic() - worker.started_at)
        if wait > 0:
            print(f"  {rnd.model} #{rnd.number}: letting the worker idle {wait:.0f} s", flush=True)
            time.sleep(wait)
        worker.check()
        print(f"  {rnd.model} #{rnd.number}: uploading and following the job ...", flush=True)
        upload_and_follow(
            rnd,
            server=server,
            worker=worker,
            worker_proc=worker_proc,
            token=token,
            story=story,
            poll=poll,
            timeout=timeout,
        )
        if not rnd.ok:
            print(f"--- worker log (last lines) ---\n{worker.log_tail()}", file=sys.stderr)
    except Exception as err:
        rnd.ok = False
        rnd.note = f"{type(err).__name__}: {str(err)[:500]}"
        if server is not None:
            print(f"--- gunicorn log (last lines) ---\n{server.log_tail()}", file=sys.stderr)
        if worker is not None:
            print(f"--- worker log (last lines) ---\n{worker.log_tail()}", file=sys.stderr)
    finally:
        if worker is not None:
            worker.stop()
        if server is not None:
            server.stop()
        shutil.rmtree(site, ignore_errors=True)


# --- accuracy ----------------------------------------------------------------------------


def normalised_words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower().replace("'", "").replace("\u2019", ""))


def word_error_rate(reference: str, heard: str) -> float:
    """(substitutions + deletions + insertions) / reference words, by edit distance on words."""
    ref, hyp = normalised_words(reference), normalised_words(heard)
    previous = list(range(len(hyp) + 1))
    for i, word in enumerate(ref, 1):
        current = [i]
        for j, other in enumerate(hyp, 1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (word != other))
            )
        previous = current
    return previous[-1] / max(1, len(ref))


# --- report ------------------------------------------------------------------------------


def med(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def mb(n: float | None) -> str:
    return "-" if n is None else f"{n / MB:.0f}"


def groups(
    rounds: Sequence[Round], models: Sequence[str], repeat: int
) -> list[tuple[str, list[Round]]]:
    """Rows: each round (when repeated), then each model's median."""
    rows: list[tuple[str, list[Round]]] = []
    for model in models:
        mine = [r for r in rounds if r.model == model]
        if repeat > 1:
            rows += [(f"{model} #{r.number}", [r]) for r in mine]
            rows.append((f"**{model} median**", [r for r in mine if r.ok]))
        else:
            rows.append((model, mine))
    return rows


def goal_seconds(story: Story, fraction: float) -> float:
    return story.duration * fraction


def headline_table(rows: list[tuple[str, list[Round]]], story: Story, fraction: float) -> str:
    head = (
        "| model | upload s | **upload → transcribed s** | share of story length "
        "| upload → ready s | worker RSS idle → peak MB | ffmpeg/probe peak MB "
        "| load avg 1 min | result |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for name, rs in rows:
        if not rs or not all(r.ok for r in rs):
            notes = "; ".join(r.note for r in rs) or "no successful round"
            lines.append(f"| {name} | - | - | - | - | - | - | - | FAIL: {notes} |")
            continue
        transcribed = med([r.transcribed for r in rs])
        assert transcribed is not None
        model = rs[0].model
        if model == GOAL_MODEL:
            met = transcribed < goal_seconds(story, fraction)
            verdict = f"{'ok' if met else 'MISSED'}: goal < {goal_seconds(story, fraction):.0f} s"
        else:
            verdict = "ok"
        loads = ", ".join(f"{r.load_before:.1f}" for r in rs)
        lines.append(
            f"| {name} | {fmt(med([r.upload_seconds for r in rs]))} | **{fmt(transcribed)}** | "
            f"{transcribed / story.duration:.2f} | {fmt(med([r.ready for r in rs]))} | "
            f"{mb(med([r.worker_idle_rss for r in rs]))} → "
            f"{mb(med([r.worker_peak_rss for r in rs]))} | "
            f"{mb(med([r.children_peak for r in rs]))} | {loads} | {verdict} |"
        )
    return "\n".join(lines)


def steps_table(rows: list[tuple[str, list[Round]]]) -> str:
    names = ["waiting for the worker", "probe + picture", "sound", "model load", "listening"]
    names += ["passages", "themes", "rendition"]
    head = "| model | upload | " + " | ".join(names) + " | worker CPU s (cores) |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for name, rs in rows:
        ok = [r for r in rs if r.ok]
        if not ok:
            continue
        steps = [r.steps() for r in ok]
        cells = [fmt(med([s[n] for s in steps])) for n in names]
        cpu = med([r.worker_cpu_seconds for r in ok])
        wall = med([r.ready for r in ok])
        cores = f" ({cpu / wall:.2f})" if cpu is not None and wall else ""
        lines.append(
            f"| {name} | {fmt(med([r.upload_seconds for r in ok]))} | "
            + " | ".join(cells)
            + f" | {fmt(cpu)}{cores} |"
        )
    return "\n".join(lines)


def alone_table(rows: list[tuple[str, list[Round]]], story: Story) -> str:
    head = (
        "| model | load s | transcribe s | **RTF** | CPU cores used | RSS loaded MB "
        "| **peak RSS MB** | words heard | WER |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for name, rs in rows:
        alone = [r.alone for r in rs if r.alone is not None]
        if not alone:
            continue
        rtf = med([a.rtf for a in alone])
        lines.append(
            f"| {name} | {fmt(med([a.load_seconds for a in alone]))} | "
            f"{fmt(med([a.seconds for a in alone]))} | **{fmt(rtf, 3)}** | "
            f"{fmt(med([a.cores for a in alone]), 2)} | {mb(med([a.rss_loaded for a in alone]))} | "
            f"**{mb(med([a.peak_rss for a in alone]))}** | "
            f"{fmt(med([len(normalised_words(a.text)) for a in alone]), 0)} | "
            f"{fmt(med([100 * word_error_rate(story.script, a.text) for a in alone]))} % |"
        )
    return "\n".join(lines)


def timelines(rounds: Sequence[Round]) -> str:
    lines = []
    for r in rounds:
        seen = "; ".join(
            f"+{e.t:.1f} {e.state}/{e.job_state or '-'} \u201c{e.message}\u201d" for e in r.events
        )
        decode = r.worker_decode_seconds()
        extra = f" (transcribe() in the job: {decode:.1f} s)" if decode is not None else ""
        lines.append(f"- {r.model} #{r.number}{extra}: {seen or r.note}")
    return "\n".join(lines)


# --- main --------------------------------------------------------------------------------


def effective_settings(root: Path, args: argparse.Namespace) -> tuple[Settings, dict[str, str]]:
    """The site's transcription settings: the app's defaults, or the ones given on the command line.

    Read through storyhub.config itself (with the shell's STORYHUB_* already dropped), so the
    in-process measurement uses exactly what the site's worker will.
    """
    given = {
        "STORYHUB_WHISPER_COMPUTE_TYPE": args.compute_type,
        "STORYHUB_WHISPER_BEAM_SIZE": args.beam_size,
        "STORYHUB_WHISPER_THREADS": args.threads,
    }
    settings_env = {k: str(v) for k, v in given.items() if v is not None}
    os.environ.update(settings_env)
    from storyhub.config import load_config

    config = load_config(root / "config-check")
    settings = Settings(
        compute_type=str(config["WHISPER_COMPUTE_TYPE"]),
        beam_size=int(config["WHISPER_BEAM_SIZE"]),
        threads=int(config["WHISPER_THREADS"]),
        worker_threads=int(config["WORKER_THREADS"]),
    )
    return settings, settings_env


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--models",
        default=",".join(MODELS),
        help=f"comma-separated Whisper models (default {','.join(MODELS)})",
    )
    parser.add_argument("--repeat", type=int, default=1, help="rounds per model; medians (1)")
    parser.add_argument("--minutes", type=float, default=5.0, help="story length (default 5)")
    parser.add_argument(
        "--goal-fraction",
        type=float,
        default=0.2,
        help="base must reach 'transcribed' within this fraction of the story's length (0.2)",
    )
    parser.add_argument(
        "--idle",
        type=float,
        default=70.0,
        help="seconds the worker idles before the upload; 70 lets its queue polling back off "
        "to its slowest (10 s), as on a quiet site (default 70; 0 to skip)",
    )
    parser.add_argument("--poll", type=float, default=0.25, help="status polling, seconds")
    parser.add_argument("--timeout", type=float, default=1800, help="per job, seconds")
    parser.add_argument("--compute-type", help="STORYHUB_WHISPER_COMPUTE_TYPE (app default)")
    parser.add_argument("--beam-size", type=int, help="STORYHUB_WHISPER_BEAM_SIZE (app default)")
    parser.add_argument("--threads", type=int, help="STORYHUB_WHISPER_THREADS (app default)")
    parser.add_argument(
        "--story", type=Path, help="keep the rendered story here and reuse it in later runs"
    )
    parser.add_argument("--workdir", type=Path, default=None, help="where temp files go")
    args = parser.parse_args(argv)
    args.model_list = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = set(args.model_list) - set(MODELS)
    if unknown or not args.model_list:
        parser.error(f"--models: choose from {', '.join(MODELS)}")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def _raise_exit(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # so the `finally` in main() cleans up on SIGTERM too


def versions() -> str:
    from importlib.metadata import version

    return ", ".join(
        f"{name} {version(name)}" for name in ("faster-whisper", "ctranslate2", "gunicorn", "huey")
    )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["alone"]:
        return alone_child(argv[1:])
    args = parse_args(argv)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _raise_exit)
    # This process, its children and every site ignore the shell's STORYHUB_* settings.
    for name in [k for k in os.environ if k.startswith("STORYHUB_") and k not in KEPT_ENV]:
        del os.environ[name]
    root = Path(tempfile.mkdtemp(prefix="storyhub-bench-transcribe-", dir=args.workdir))
    rounds: list[Round] = []
    load_start = os.getloadavg()
    started = time.perf_counter()
    try:
        settings, settings_env = effective_settings(root, args)
        from media_pipeline import prepare_models
        from media_pipeline.audio import extract_audio

        # Join the base model's parts now if needed, so no round pays for building the cache.
        prepare_models(args.model_list)
        story_path = args.story.resolve() if args.story else root / "story.mp4"
        story_path.parent.mkdir(parents=True, exist_ok=True)
        story = make_story(story_path, args.minutes * 60)
        print(
            f"Story: {story.duration:.1f} s, {story.words} words, {story.width}x{story.height}, "
            f"{story.size / MB:.1f} MB",
            flush=True,
        )
        wav = root / "audio16k.wav"
        extract_started = time.perf_counter()
        extract_audio(story.path, wav, timeout=1800)
        extract_seconds = time.perf_counter() - extract_started

        child_env = {k: v for k, v in os.environ.items() if not k.startswith("STORYHUB_")}
        child_env.update({k: os.environ[k] for k in KEPT_ENV if k in os.environ})
        for number in range(1, args.repeat + 1):
            for model in args.model_list:  # alternate, so a change in load hits every model
                rnd = Round(model, number)
                rounds.append(rnd)
                run_round(
                    rnd,
                    root=root,
                    story=story,
                    wav=wav,
                    settings=settings,
                    settings_env=settings_env,
                    child_env=child_env,
                    idle=args.idle,
                    poll=args.poll,
                    timeout=args.timeout,
                )
                if not rnd.ok:
                    print(f"  {model} #{number} FAILED: {rnd.note}", file=sys.stderr)
    finally:
        shutil.rmtree(root, ignore_errors=True)

    load_end = os.getloadavg()
    rows = groups(rounds, args.model_list, args.repeat)
    print()
    print(
        f"{dt.date.today().isoformat()}  {platform.node()}  {os.cpu_count()} CPUs  "
        f"Python {platform.python_version()}  {versions()}"
    )
    print(
        f"Story: {story.duration:.1f} s, {story.words} words (espeak-ng, en-gb), "
        f"{story.width}x{story.height} H.264/AAC MP4, {story.size / MB:.1f} MB. "
        f"Settings: compute {settings.compute_type}, beam {settings.beam_size}, "
        f"{settings.threads} Whisper threads, {settings.worker_threads} worker threads; "
        f"worker idle {args.idle:.0f} s before each upload. Rounds per model: {args.repeat}."
    )
    print(
        "Load average (1, 5, 15 min): "
        f"{' '.join(f'{x:.2f}' for x in load_start)} at the start, "
        f"{' '.join(f'{x:.2f}' for x in load_end)} at the end; "
        f"whole run {time.perf_counter() - started:.0f} s."
    )
    print("\nFrom the start of the upload (the production path: API, queue, worker):\n")
    print(headline_table(rows, story, args.goal_fraction))
    print("\nWhere the job's time goes (s; from the job's progress messages):\n")
    print(steps_table(rows))
    print(
        "\ntranscribe() alone on the 16 kHz WAV, in a fresh process "
        f"(the WAV was extracted in {extract_seconds:.1f} s):\n"
    )
    print(alone_table(rows, story))
    print("\nTimelines (s from the upload's start; state/job state \u201cmessage\u201d):\n")
    print(timelines(rounds))

    failed = [f"{r.model} #{r.number}" for r in rounds if not r.ok]
    goal_rounds = [r for r in rounds if r.model == GOAL_MODEL and r.ok]
    headline = med([r.transcribed for r in goal_rounds])
    goal = goal_seconds(story, args.goal_fraction)
    print()
    if GOAL_MODEL not in args.model_list:
        print(f"Goal not checked: {GOAL_MODEL} was not run.")
    elif headline is not None:
        verdict = "MET" if headline < goal else "MISSED"
        print(
            f"Goal {verdict}: {GOAL_MODEL} upload → transcribed {headline:.1f} s "
            f"(goal < {goal:.0f} s, {args.goal_fraction:g} of {story.duration:.0f} s)."
        )
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    if GOAL_MODEL in args.model_list and (headline is None or headline >= goal):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
