"""Fetch real recorded speech for the transcription tests: the JFK clip from pywhispercpp's sdist.

    .venv/bin/python scripts/fetch_test_speech.py

Downloads the `pywhispercpp` source package from PyPI with pip (9.8 MB; pip also fetches its
build tools as wheels to read the package's metadata), extracts only
`whisper.cpp/bindings/go/samples/jfk.wav` (352,078 bytes, 11 s, 16 kHz mono) and writes it to
`tests/data/jfk.wav`, checking its SHA-256. The recording is a US Government work (public
domain); whisper.cpp, which ships it, is MIT licensed. Run it once, at install time, never from
the application.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VERSION = "1.5.1"
MEMBER = f"pywhispercpp-{VERSION}/whisper.cpp/bindings/go/samples/jfk.wav"
SHA256 = "59dfb9a4acb36fe2a2affc14bacbee2920ff435cb13cc314a08c13f66ba7860e"
DEST = Path(__file__).resolve().parent.parent / "tests" / "data" / "jfk.wav"


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def main() -> int:
    if DEST.is_file() and _digest(DEST.read_bytes()) == SHA256:
        print(f"{DEST} is already there")
        return 0
    with tempfile.TemporaryDirectory(prefix="storyhub-sdist-") as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
             "--no-binary", "pywhispercpp", f"pywhispercpp=={VERSION}", "-d", tmp],
            check=True, timeout=600,
        )  # fmt: skip
        [archive] = Path(tmp).glob("pywhispercpp-*.tar.gz")
        with tarfile.open(archive, "r:gz") as tar:
            handle = tar.extractfile(MEMBER)  # just this file's bytes: no paths from the archive
            if handle is None:
                print(f"{MEMBER} not found in {archive.name}", file=sys.stderr)
                return 1
            data = handle.read()
    if _digest(data) != SHA256:
        print("jfk.wav has an unexpected checksum; not saved", file=sys.stderr)
        return 1
    DEST.parent.mkdir(parents=True, exist_ok=True)
    part = DEST.with_name(DEST.name + ".part")
    part.write_bytes(data)
    os.replace(part, DEST)
    print(f"wrote {DEST} ({len(data):,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
