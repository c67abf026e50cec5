"""Where attachment bytes live: a small interface, and PostgreSQL behind it.

Every replica reaches the same database, so any of them can serve any download. Blobs are
keyed by their SHA-256, so storing the same document twice keeps one copy. A shared volume or
an object store would implement the same methods.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from .tables import attachment_blobs

CHUNK = 1 << 20


class BlobStore(Protocol):
    def bind(self, engine: AsyncEngine) -> None:
        """The service's database, once the process has opened it (a store kept elsewhere
        has no use for it)."""
        ...

    async def put(self, key: str, data: bytes) -> None: ...
    async def size(self, key: str) -> int | None: ...
    def read(self, key: str, start: int, end: int) -> AsyncIterator[bytes]:
        """Bytes ``start`` to ``end`` inclusive, in chunks."""
        ...


class UnboundBlobStore(RuntimeError):
    pass


class PostgresBlobStore:
    """Shares the service's engine (and so its connection pool), which exists only once the
    process has started: the store is built unbound and bound then."""

    def __init__(self, chunk: int = CHUNK) -> None:
        self.chunk = chunk
        self._engine: AsyncEngine | None = None

    def bind(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            raise UnboundBlobStore("the blob store is used before the service opened its database")
        return self._engine

    async def put(self, key: str, data: bytes) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                insert(attachment_blobs).values(blob_key=key, data=data).on_conflict_do_nothing()
            )

    async def size(self, key: str) -> int | None:
        async with self.engine.connect() as conn:
            found = (
                await conn.execute(
                    select(func.octet_length(attachment_blobs.c.data)).where(
                        attachment_blobs.c.blob_key == key
                    )
                )
            ).scalar_one_or_none()
        return None if found is None else int(found)

    async def read(self, key: str, start: int, end: int) -> AsyncIterator[bytes]:
        # uncompressed TOAST storage lets substring() fetch only the chunks it needs
        position = start
        while position <= end:
            length = min(self.chunk, end - position + 1)
            async with self.engine.connect() as conn:
                piece = (
                    await conn.execute(
                        select(func.substring(attachment_blobs.c.data, position + 1, length)).where(
                            attachment_blobs.c.blob_key == key
                        )
                    )
                ).scalar_one()
            if not piece:
                return
            yield bytes(piece)
            position += len(piece)
