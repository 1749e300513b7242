"""What the index holds for one passage: ids, times, words, story facts, confirmed themes, and
the consent facts needed to filter (never names, never the teller's choices beyond audiences)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class PassageDocument:
    passage_id: int
    story_id: int
    position: int
    start: float
    end: float
    text: str
    language: str
    teller_kind: str
    setting: str
    story_date: int  # yyyymmdd, the day the story was added
    kinds: tuple[str, ...]  # confirmed outcome kinds
    subthemes: tuple[str, ...]  # confirmed subtheme keys
    teller_id: int
    audiences: tuple[str, ...]  # audiences the story is released to now; empty if not shared
    review_by: int  # yyyymmdd; search.query.FOREVER when there is no review date
    # The passage's embedding (unit length); None: not findable by meaning (e.g. a Welsh passage
    # while the model understands only English).
    vector: npt.NDArray[np.float32] | None = field(default=None, compare=False, repr=False)

    @property
    def vector_key(self) -> int:
        """The key of this passage's vector: its id and a digest of its words.

        A passage whose words change (a redaction) gets a new key, so its old vector can no
        longer be reached through the text index, even before the vector index drops it.
        """
        return vector_key(self.passage_id, self.text)

    @property
    def year(self) -> str:
        return str(self.story_date // 10000)

    def as_source(self) -> dict[str, object]:
        """The document as a JSON object (Elasticsearch's _source, tantivy's document)."""
        return {
            "passage_id": self.passage_id,
            "story_id": self.story_id,
            "position": self.position,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "language": self.language,
            "teller_kind": self.teller_kind,
            "setting": self.setting,
            "story_date": self.story_date,
            "year": self.year,
            "kinds": list(self.kinds),
            "subthemes": list(self.subthemes),
            "teller_id": self.teller_id,
            "audiences": list(self.audiences),
            "review_by": self.review_by,
            "vector_key": self.vector_key,
        }


KEY_DIGEST_BITS = 20  # leaves 43 bits of passage id in a signed 64-bit integer


def vector_key(passage_id: int, text: str) -> int:
    """A 63-bit key from a passage id and its words (see ``PassageDocument.vector_key``)."""
    digest = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=4).digest(), "big")
    return (passage_id << KEY_DIGEST_BITS) | (digest & ((1 << KEY_DIGEST_BITS) - 1))
