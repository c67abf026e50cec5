"""What the assessment routes are handed: the runtime, its use cases, the settings, and who
the caller is as a learner."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends

from servicekit.auth import Principal, Role
from servicekit.problems import Problem
from servicekit.runner import Runner
from servicekit.service import get_runner, get_runtime

from ..dependencies import AssessmentRuntime
from ..settings import AssessmentSettings
from ..store.unit_of_work import SqlUnitOfWork

ServiceRuntime = Annotated[AssessmentRuntime, Depends(get_runtime)]
UseCases = Annotated[Runner[SqlUnitOfWork], Depends(get_runner)]


async def settings_of(runtime: ServiceRuntime) -> AssessmentSettings:
    return runtime.settings


CurrentSettings = Annotated[AssessmentSettings, Depends(settings_of)]

AUTHORS = (Role.INSTRUCTOR, Role.ADMIN)


def learner_of(principal: Principal) -> uuid.UUID:
    if not principal.has(Role.LEARNER) or principal.learner_id is None:
        raise Problem(403, "forbidden", "only a learner (a token with learner_id) takes attempts")
    return principal.learner_id
