"""Contract events -> commands: the content service's one subscription list."""

from __future__ import annotations

from typing import Any

import lms_contracts as c
from servicekit.consumer import Subscription
from servicekit.database import Transaction

from .. import usecases
from ..domain import commands
from ..store.repository import SqlUnitOfWork


async def on_enrolled(tx: Transaction, event: c.CloudEvent[Any]) -> None:
    data: c.Enrolled = event.data
    await usecases.record_enrollment(
        commands.RecordEnrollment(
            enrollment_id=data.enrollment_id,
            learner_id=data.learner_id,
            course_id=data.course_id,
            course_version=data.course_version,
            village_code=data.village_code,
            enrolled_at=data.enrolled_at,
        ),
        SqlUnitOfWork(tx),
    )


async def on_withdrawn(tx: Transaction, event: c.CloudEvent[Any]) -> None:
    data: c.Withdrawn = event.data
    await usecases.record_withdrawal(
        commands.RecordWithdrawal(
            enrollment_id=data.enrollment_id,
            learner_id=data.learner_id,
            course_id=data.course_id,
            village_code=data.village_code,
            withdrawn_at=data.withdrawn_at,
        ),
        SqlUnitOfWork(tx),
    )


SUBSCRIPTION = Subscription(
    handlers={
        c.Enrolled: on_enrolled,
        c.Withdrawn: on_withdrawn,
    }
)
