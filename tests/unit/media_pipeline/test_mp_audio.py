"""extract_audio(): 16 kHz mono 16-bit WAV with an anti-aliased resampler, written atomically."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from media_pipeline import MediaError, audio
from media_pipeline.audio import SAMPLE_RATE, extract_audio
from media_pipeline.ffmpeg import file_url, run_ffmpeg
from tests import media_factory as mf


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("audio_media")


def _tone(directory: Path, freq: int, rate: int = 44100, seconds: float = 1.0) -> Path:
    out = directory / f"tone_{freq}_{rate}.wav"
    run_ffmpeg(["-f", "lavfi", "-i", f"sine=f={freq}:r={rate}:d={seconds}",
                "-c:a", "pcm_s16le", "-y", file_url(out)], timeout=30)  # fmt: skip
    return out


def _read(path: Path) -> tuple[np.ndarray, tuple[int, int, int]]:
    with wave.open(str(path), "rb") as w:
        fmt = (w.getframerate(), w.getnchannels(), w.getsampwidth())
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64)
    return data, fmt


def _spectrum(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Magnitude spectrum (Hann window) and its frequencies, skipping the filter's start-up."""
    x = samples[800:-800]
    mags = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return np.fft.rfftfreq(len(x), 1 / SAMPLE_RATE), mags


def _energy_near(freqs: np.ndarray, mags: np.ndarray, hz: float, width: float = 50) -> float:
    return float(np.max(mags[np.abs(freqs - hz) <= width]))


def test_tone_below_nyquist_keeps_its_pitch(media_dir: Path) -> None:
    out = extract_audio(_tone(media_dir, 5000), media_dir / "out5k.wav", timeout=30)
    samples, fmt = _read(out)
    assert fmt == (SAMPLE_RATE, 1, 2)
    assert abs(len(samples) - SAMPLE_RATE) < 200  # 1 s stays 1 s
    freqs, mags = _spectrum(samples)
    assert abs(float(freqs[int(np.argmax(mags))]) - 5000) < 5
    assert np.max(np.abs(samples)) > 3000  # passband not attenuated to nothing


def test_tone_above_nyquist_is_removed_not_aliased(media_dir: Path) -> None:
    reference, _ = _read(extract_audio(_tone(media_dir, 5000), media_dir / "ref.wav", timeout=30))
    out = extract_audio(_tone(media_dir, 12000), media_dir / "out12k.wav", timeout=30)
    samples, _ = _read(out)
    freqs, mags = _spectrum(samples)
    ref_freqs, ref_mags = _spectrum(reference)
    passband = _energy_near(ref_freqs, ref_mags, 5000)
    # Naive decimation would fold 12 kHz to 16 - 12 = 4 kHz at full strength.
    alias = _energy_near(freqs, mags, 4000)
    assert alias < passband * 1e-3  # at least 60 dB down
    assert np.sqrt(np.mean(samples**2)) < 30  # essentially silence (full scale is 32767)


def test_video_stereo_source_and_idempotent(media_dir: Path) -> None:
    video = mf.make_mp4(media_dir, "clip.mp4")
    dest = media_dir / "sub" / "clip.wav"
    seen: list[float] = []
    first = extract_audio(video, dest, timeout=60, progress=lambda f, _s: seen.append(f))
    data1 = first.read_bytes()
    extract_audio(video, dest, timeout=60)
    assert dest.read_bytes() == data1  # bit-exact: running twice changes nothing
    assert seen[0] == 0.0 and seen[-1] == 1.0
    _, fmt = _read(dest)
    assert fmt == (SAMPLE_RATE, 1, 2)
    assert [p.name for p in dest.parent.iterdir()] == ["clip.wav"]  # no temp files left


def test_missing_and_silent_video(media_dir: Path) -> None:
    with pytest.raises(MediaError) as err:
        extract_audio(media_dir / "nope.mp4", media_dir / "nope.wav", timeout=10)
    assert err.value.code == "missing"
    silent = mf.make_video_without_audio(media_dir)
    with pytest.raises(MediaError) as err:
        extract_audio(silent, media_dir / "silent.wav", timeout=30)
    assert err.value.code == "no_audio"
    assert not list(media_dir.glob("*silent.wav*"))


def test_fallback_resampler_also_filters(media_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An ffmpeg built without libsoxr gets swr with a steep filter: still no alias."""
    monkeypatch.setattr(audio, "_has_soxr", lambda _exe: False)
    assert "soxr" not in audio.resample_filter()
    samples, _ = _read(extract_audio(_tone(media_dir, 12000), media_dir / "swr.wav", timeout=30))
    assert np.sqrt(np.mean(samples[800:-800] ** 2)) < 30
    kept, _ = _read(extract_audio(_tone(media_dir, 5000), media_dir / "swr5k.wav", timeout=30))
    assert np.max(np.abs(kept)) > 3000
