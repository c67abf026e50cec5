"""What the content service's code needs besides its settings."""

from __future__ import annotations

from dataclasses import dataclass, field

from servicekit.database import Database
from servicekit.service import Dependencies

from .store.blobs import BlobStore, PostgresBlobStore


@dataclass
class ContentDependencies(Dependencies):
    # where attachment bytes live
    blobs: BlobStore = field(default_factory=PostgresBlobStore)

    def bind(self, database: Database) -> None:
        self.blobs.bind(database.engine)
