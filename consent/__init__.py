"""Consent: every rule about who may see which story, and the one place that answers it.

Views, media responses, the API (and later search, clips, sessions, showcases and exports) ask
``can_view`` or filter with ``viewable_stories``; none of them re-implements a rule.
"""

from consent.models import (
    Audience,
    ConsentAction,
    ConsentStatus,
    ConsentVersion,
    Naming,
    RecordedFor,
    StoryUse,
)
from consent.policy import (
    Purpose,
    can_manage,
    can_redact,
    can_tag_themes,
    can_view,
    purpose_for,
    shared_for,
    viewable_stories,
)

__all__ = [
    "Audience",
    "ConsentAction",
    "ConsentStatus",
    "ConsentVersion",
    "Naming",
    "Purpose",
    "RecordedFor",
    "StoryUse",
    "can_manage",
    "can_redact",
    "can_tag_themes",
    "can_view",
    "purpose_for",
    "shared_for",
    "viewable_stories",
]
