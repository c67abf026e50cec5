"""What the content routes are given: the runtime, its use cases, settings and blob store."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from servicekit.runner import Runner
from servicekit.service import Runtime, get_runner, get_runtime

from ..dependencies import ContentDependencies
from ..settings import ContentSettings
from ..store.blobs import BlobStore
from ..store.packages import PackageStore
from ..store.unit_of_work import SqlUnitOfWork

ServiceRuntime = Annotated[Runtime[ContentSettings, ContentDependencies], Depends(get_runtime)]
UseCases = Annotated[Runner[SqlUnitOfWork], Depends(get_runner)]


async def settings(runtime: ServiceRuntime) -> ContentSettings:
    return runtime.settings


async def blob_store(runtime: ServiceRuntime) -> BlobStore:
    return runtime.deps.blobs


async def package_store(runtime: ServiceRuntime) -> PackageStore:
    return runtime.deps.packages


CurrentSettings = Annotated[ContentSettings, Depends(settings)]
Blobs = Annotated[BlobStore, Depends(blob_store)]
Packages = Annotated[PackageStore, Depends(package_store)]
