"""Taking the coding elsewhere: confirmed themes out as a REFI-QDA project (.qdpx) or CSV, for
researchers to carry on in NVivo, ATLAS.ti, MAXQDA or QualCoder; a REFI-QDA codebook in as
subthemes.

The file format is in ``refi``; what goes in (and what comes back) in ``services``; views in
``routes``. Which stories may go is consent's rule (``consent.policy.coding_export_stories``).
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The export page and its downloads; the codebook import on the themes page."""
    from storyhub.qda.routes import bp

    app.register_blueprint(bp)
