"""Typed FastAPI aliases for what the routes need from the running service."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from servicekit.runner import Runner
from servicekit.service import Runtime, get_runner, get_runtime

from ..dependencies import NotificationDependencies
from ..settings import NotificationSettings
from ..store.unit_of_work import SqlUnitOfWork

ServiceRuntime = Annotated[
    Runtime[NotificationSettings, NotificationDependencies], Depends(get_runtime)
]
UseCases = Annotated[Runner[SqlUnitOfWork], Depends(get_runner)]
