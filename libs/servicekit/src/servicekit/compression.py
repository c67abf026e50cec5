"""Responses compressed for slow links: JSON, problems, HTML and CSV in zstd, Brotli or gzip,
whichever the client accepts (in that order of preference), by ``starlette-compress``.

Left as they are: bodies under the minimum size (the encoding header costs more than it
saves), media that is compressed already (zip packages, audio, video, PDF: their types are
not on the library's list) and byte ranges (a ``Content-Range`` answer is never encoded, so
a resumed download gets exactly the bytes it asked for).
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette_compress import CompressMiddleware, add_compress_type

# compressible types of ours that the library's list leaves out
ALSO_COMPRESSED = ("application/problem+json", "text/csv")


def install_compression(app: FastAPI, minimum_size: int) -> None:
    for media_type in ALSO_COMPRESSED:
        add_compress_type(media_type)
    app.add_middleware(CompressMiddleware, minimum_size=minimum_size)
