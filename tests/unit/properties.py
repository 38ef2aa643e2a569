"""Hypothesis settings for the unit tier: reproducible, no example database on disk, and no
per-example deadline (how fast the machine is is bench/'s business, not a test's)."""

from hypothesis import settings

PROPERTY = settings(deadline=None, database=None, derandomize=True)
