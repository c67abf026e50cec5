"""What the content service's code needs besides its settings."""

from __future__ import annotations

from dataclasses import dataclass, field

from servicekit.database import Database
from servicekit.service import Dependencies

from .store.blobs import BlobStore, PostgresBlobStore
from .store.packages import PackageStore


@dataclass
class ContentDependencies(Dependencies):
    # where attachment and package bytes live
    blobs: BlobStore = field(default_factory=PostgresBlobStore)
    # offline packages once built, so that a resumed download gets the same bytes
    packages: PackageStore = field(init=False)

    def __post_init__(self) -> None:
        self.packages = PackageStore(self.blobs, self.clock)

    def bind(self, database: Database) -> None:
        self.blobs.bind(database.engine)
        self.packages.bind(database.engine)
