"""Showcases for learning events: curated stories and clips that elected members watch.

Work in progress (issue 8): the consent rule (``consent.policy.showcase_refusal``) and the
records. Still to build: the builder, member access and event codes, presentation mode, the
offline pack, and the tests the issue asks for.
"""
