"""The change feed: what other domains may use of it."""

from app.changes.repository import WATERMARK, changes_after
from app.changes.service import feed_position

__all__ = ["WATERMARK", "changes_after", "feed_position"]
