"""Clips and training sessions: trainers turn passages into sessions they run and hand out.

Rules about which stories may be clipped live in consent/ (``can_clip``, ``clip_refusal``); media
work (cutting, compiling) lives in media_pipeline/; this package holds the records, the services
that change them, the export job and the views.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Clips and lessons: their pages, the export and clip-file jobs, and their copies."""
    from consent.archive import ConsentEvent
    from consent.copies import CopyKind
    from storyhub.registry import job_handler, on_consent, on_forget
    from storyhub.training import clip_files, exports, services
    from storyhub.training.routes import bp

    app.register_blueprint(bp)
    job_handler(
        app, exports.EXPORT_SESSION, exports.export_session, access=exports.may_follow_export
    )
    on_forget(app, CopyKind.EXPORT, exports.forget_export)
    job_handler(app, clip_files.CUT_CLIP, clip_files.cut_clip_file)
    on_forget(app, CopyKind.CLIP_FILE, clip_files.forget_clip_file)
    on_consent(app, ConsentEvent.WITHDRAWN, services.forget_erased_titles)
