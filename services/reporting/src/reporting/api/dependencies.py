"""Typed access to the reporting runtime for the routes."""

from __future__ import annotations

from typing import Annotated, TypeAlias

from fastapi import Depends

from servicekit.service import Runtime, get_runtime

from ..dependencies import ReportingDependencies
from ..settings import ReportingSettings

ReportingRuntime: TypeAlias = Runtime[ReportingSettings, ReportingDependencies]
# Reporting runs no use case over HTTP: its routes read, through ``runtime.runner.read()``.
ServiceRuntime = Annotated[ReportingRuntime, Depends(get_runtime)]
