"""Clips and training sessions: trainers turn passages into sessions they run and hand out.

Rules about which stories may be clipped live in consent/ (``can_clip``, ``clip_refusal``); media
work (cutting, compiling) lives in media_pipeline/; this package holds the records, the services
that change them, the export job and the views.
"""
