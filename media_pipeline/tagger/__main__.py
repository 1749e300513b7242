"""`python -m media_pipeline.tagger`: fit the shipped tagger from the seed set now (make install
does this), so the first story doesn't wait for it."""

import time

from . import shipped_model

started = time.perf_counter()
model = shipped_model()
print(
    f"Theme tagger ready: {model.meta['examples']} seed examples, "
    f"{len(model.labels)} labels ({time.perf_counter() - started:.1f} s)."
)
