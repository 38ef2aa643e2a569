"""Accept-Encoding negotiation for exports (RFC 9110 §12.5.3)."""

from collections.abc import AsyncGenerator

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


@pytest.mark.parametrize("encoding", ["gzip", "zstd"])
async def test_closing_the_compressed_stream_closes_the_export_under_it(encoding: str) -> None:
    """A client that hangs up closes the response's body: the COPY under the compressor must
    end then, not when the garbage collector finds it."""
    import gzip
    import os

    import zstandard

    from app.exports.encoding import compressed

    closed = []
    payload = [os.urandom(50_000) for _ in range(3)]

    async def export() -> AsyncGenerator[bytes]:
        try:
            for piece in payload:
                yield piece
            yield b"never reached"  # the client hangs up before this
        finally:
            closed.append(True)

    stream = compressed(export(), encoding)
    sent = [await anext(stream)]  # random bytes do not compress: output at once
    await stream.aclose()  # type: ignore[attr-defined]
    assert closed == [True]

    whole = b"".join([chunk async for chunk in compressed(_pieces(payload), encoding)])
    decompress = (
        gzip.decompress
        if encoding == "gzip"
        else zstandard.ZstdDecompressor().decompressobj().decompress
    )
    assert decompress(whole) == b"".join(payload)
    assert sent[0]


async def _pieces(payload: list[bytes]) -> AsyncGenerator[bytes]:
    for piece in payload:
        yield piece
