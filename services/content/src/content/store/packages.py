"""Built offline packages, kept so that every download of one package is the same bytes.

A package is zipped once, the first time it is asked for, and its bytes go to the blob store
under their SHA-256; ``packages`` maps the package's name (the hash of its manifest, which
lists the hash of every file in it) to those bytes. A resumed download therefore reads the
very bytes the first part came from, whichever replica serves it and whatever zlib it has.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import zipfile
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from servicekit.clock import Clock

from ..domain.packages import PackagePlan
from .blobs import BlobStore, UnboundBlobStore
from .tables import packages

EPOCH = (1980, 1, 1, 0, 0, 0)
UNIX = 3


@dataclass(frozen=True)
class BuiltPackage:
    package_key: str
    sha256: str
    size_bytes: int
    content_bytes: int


class PackageStore:
    """Shares the service's engine and its blob store (bound once the process started)."""

    def __init__(self, blobs: BlobStore, clock: Clock) -> None:
        self.blobs = blobs
        self.clock = clock
        self._engine: AsyncEngine | None = None

    def bind(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            raise UnboundBlobStore("packages are used before the service opened its database")
        return self._engine

    async def find(self, package_key: str) -> BuiltPackage | None:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(select(packages).where(packages.c.package_key == package_key))
            ).first()
        if row is None:
            return None
        return BuiltPackage(row.package_key, row.sha256, row.size_bytes, row.content_bytes)

    async def ensure(self, plan: PackagePlan) -> BuiltPackage:
        """The package of ``plan``, zipped and kept the first time; the kept one afterwards
        (also when another request kept it first)."""
        found = await self.find(plan.key)
        if found is not None:
            return found
        body = await asyncio.to_thread(zip_files, await self._contents(plan))
        digest = hashlib.sha256(body).hexdigest()
        await self.blobs.put(digest, body)
        async with self.engine.begin() as conn:
            await conn.execute(
                insert(packages)
                .values(
                    package_key=plan.key,
                    course_id=plan.course.course_id,
                    version=plan.course.version,
                    scope=plan.scope.kind.value,
                    sha256=digest,
                    size_bytes=len(body),
                    content_bytes=plan.content_bytes,
                    built_at=self.clock(),
                )
                .on_conflict_do_nothing()
            )
        kept = await self.find(plan.key)
        assert kept is not None
        return kept

    async def _contents(self, plan: PackagePlan) -> list[tuple[str, bytes, bool]]:
        files = [("manifest.json", plan.manifest, True)]
        for file in plan.files:
            if file.data is not None:
                data = file.data
            else:
                assert file.blob_key is not None
                chunks = [c async for c in self.blobs.read(file.blob_key, 0, file.size_bytes - 1)]
                data = b"".join(chunks)
            files.append((file.path, data, file.deflate))
        return files


def zip_files(files: list[tuple[str, bytes, bool]]) -> bytes:
    """Fixed timestamps, attributes and order; media that is compressed already is stored."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, data, deflate in files:
            info = zipfile.ZipInfo(path, date_time=EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
            info.create_system = UNIX
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()
