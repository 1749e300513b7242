"""Agreement between people: two curators code a story blind, compare, and settle one version;
agreement figures (Cohen's kappa, Krippendorff's alpha) for curators, and for the dashboard a
plain sentence on how reliable its counts are.

Tables are in ``models``; rules in ``services``; views in ``routes``.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The blind coding pages and the agreement page; erasure deletes a story's blind coding;
    the dashboard's reliability sentence (``agreement_reliability()`` in templates)."""
    from consent.archive import ConsentEvent
    from storyhub.agreement import services
    from storyhub.agreement.routes import bp
    from storyhub.registry import on_consent

    app.register_blueprint(bp)
    on_consent(app, ConsentEvent.WITHDRAWN, services.forget_story_rounds)
    app.add_template_global(services.dashboard_reliability, "agreement_reliability")
