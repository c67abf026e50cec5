"""Typed FastAPI aliases for what the routes need from the running service."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from servicekit.runner import Runner
from servicekit.service import Runtime, get_runner, get_runtime

from ..dependencies import WebhooksDependencies
from ..settings import WebhooksSettings
from ..store.unit_of_work import SqlUnitOfWork

ServiceRuntime = Annotated[Runtime[WebhooksSettings, WebhooksDependencies], Depends(get_runtime)]
UseCases = Annotated[Runner[SqlUnitOfWork], Depends(get_runner)]
