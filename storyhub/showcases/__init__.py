"""Showcases for learning events: curated stories and clips that elected members watch.

Work in progress (issue 8): the consent rule (``consent.policy.showcase_refusal``) and the
records. Still to build: the builder, member access and event codes, presentation mode, the
offline pack, and the tests the issue asks for.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Showcases: their pages, and the offline pack job and its copies."""
    from consent.copies import CopyKind
    from storyhub.registry import job_handler, on_forget
    from storyhub.showcases import pack
    from storyhub.showcases.routes import bp

    app.register_blueprint(bp)
    job_handler(app, pack.PACK_SHOWCASE, pack.make_pack, access=pack.may_follow_pack)
    on_forget(app, CopyKind.PACK, pack.forget_pack)
