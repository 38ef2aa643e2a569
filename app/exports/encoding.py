"""Compressed exports: `Accept-Encoding: zstd` or `gzip` gets the stream compressed as it goes
(a JSON or CSV export shrinks five- to tenfold), anything else gets it as it is."""

import zlib
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import Protocol

import zstandard

ENCODINGS = ("zstd", "gzip")  # preferred first, at equal quality
GZIP_LEVEL = 5
ZSTD_LEVEL = 3


def negotiate(accept_encoding: str | None) -> str | None:
    """The encoding to send, from an Accept-Encoding header (RFC 9110 §12.5.3): the
    supported one with the highest q-value (zstd before gzip at equal q), None for identity."""
    if not accept_encoding:
        return None
    quality: dict[str, float] = {}
    for item in accept_encoding.split(",")[:32]:
        name, _, params = item.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        quality[name.strip().lower()] = q
    wildcard = quality.get("*", 0.0)
    offered = [(quality.get(name, wildcard), -rank, name) for rank, name in enumerate(ENCODINGS)]
    best_q, _, best = max(offered)
    return best if best_q > 0 else None


class _Compressor(Protocol):
    def compress(self, data: bytes, /) -> bytes: ...
    def flush(self) -> bytes: ...


def _compressor(encoding: str) -> _Compressor:
    if encoding == "gzip":
        return zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)  # 31: a gzip wrapper
    return zstandard.ZstdCompressor(level=ZSTD_LEVEL).compressobj()


async def compressed(chunks: AsyncGenerator[bytes], encoding: str) -> AsyncIterator[bytes]:
    """The stream, compressed as it comes. Closing this closes `chunks` at once (and with it
    the export's COPY), as closing the uncompressed stream does."""
    compressor = _compressor(encoding)
    async with aclosing(chunks):
        async for chunk in chunks:
            if out := compressor.compress(chunk):
                yield out
    yield compressor.flush()
