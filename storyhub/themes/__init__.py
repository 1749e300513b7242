"""Outcome themes in the archive: the live taxonomy, suggestions, curators' decisions, learning.

Tables are in ``models``; rules in ``services``; views in ``routes``.
"""
