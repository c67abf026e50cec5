"""Typed FastAPI dependencies of the enrollment API."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from servicekit.runner import Runner
from servicekit.service import Runtime, get_runner, get_runtime

from ..dependencies import EnrollmentDependencies
from ..settings import EnrollmentSettings
from ..store.unit_of_work import SqlUnitOfWork

ServiceRuntime = Annotated[
    Runtime[EnrollmentSettings, EnrollmentDependencies], Depends(get_runtime)
]
UseCases = Annotated[Runner[SqlUnitOfWork], Depends(get_runner)]


async def current_settings(runtime: ServiceRuntime) -> EnrollmentSettings:
    return runtime.settings


CurrentSettings = Annotated[EnrollmentSettings, Depends(current_settings)]
