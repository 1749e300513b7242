"""Consent: every rule about who may see which story, and the one place that answers it.

Views, media responses, the API, search results, clips, sessions, showcases, exports and the
dashboard ask ``can_view`` (or the rule for their purpose) or filter with ``viewable_stories``;
none of them re-implements a rule.

consent/ never imports the app: the app binds it to its database session, audit trail, queue and
storage at start-up (``bind``, see ``consent.archive``).
"""

from consent.archive import bind
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
    CLIP_ROLES,
    Purpose,
    can_clip,
    can_manage,
    can_redact,
    can_tag_themes,
    can_view,
    clip_refusal,
    counted_in_statistics,
    counted_stories,
    listed_in_search,
    may_fetch_media,
    may_read_words,
    may_see_dashboard,
    purpose_for,
    search_scope,
    shared_audiences,
    shared_for,
    viewable_stories,
    words_need_checking,
)

__all__ = [
    "CLIP_ROLES",
    "Audience",  # untranslated: a Python name exported
    "ConsentAction",
    "ConsentStatus",
    "ConsentVersion",
    "Naming",  # untranslated: a Python name exported
    "Purpose",  # untranslated: a Python name exported
    "RecordedFor",
    "StoryUse",
    "bind",
    "can_clip",
    "can_manage",
    "can_redact",
    "can_tag_themes",
    "can_view",
    "clip_refusal",
    "counted_in_statistics",
    "counted_stories",
    "listed_in_search",
    "may_fetch_media",
    "may_read_words",
    "may_see_dashboard",
    "purpose_for",
    "search_scope",
    "shared_audiences",
    "shared_for",
    "viewable_stories",
    "words_need_checking",
]
