"""Accept-Encoding negotiation for exports (RFC 9110 §12.5.3)."""

import pytest

from app.exports.encoding import negotiate


@pytest.mark.parametrize(
    ("header", "chosen"),
    [
        (None, None),
        ("", None),
        ("identity", None),
        ("gzip", "gzip"),
        ("GZIP", "gzip"),
        ("zstd", "zstd"),
        ("gzip, deflate, br, zstd", "zstd"),
        ("gzip;q=1.0, zstd;q=0.9", "gzip"),
        ("zstd;q=0, gzip", "gzip"),
        ("zstd;q=0, gzip;q=0", None),
        ("*", "zstd"),
        ("*;q=0", None),
        ("*, zstd;q=0", "gzip"),
        ("br, deflate", None),
        ("gzip;q=nonsense", None),
        ("gzip ; q=0.5 , zstd ; q = 0.1", "gzip"),
    ],
)
def test_negotiate(header: str | None, chosen: str | None) -> None:
    assert negotiate(header) == chosen
