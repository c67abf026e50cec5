"""A learner's own notification preferences: channels, reminders, quiet hours."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from servicekit.auth import CurrentPrincipal, Principal, Role
from servicekit.problems import Problem

from ..domain.commands import SetPreferences
from ..domain.model import QuietHours
from ..store import queries
from .dependencies import ServiceRuntime
from .schemas import ChannelsIn, PreferencesIn, PreferencesOut
from .views import preferences_out

router = APIRouter(prefix="/v1/preferences", tags=["preferences"])


def learner_of(principal: Principal) -> uuid.UUID:
    principal.require(Role.LEARNER)
    if principal.learner_id is None:
        raise Problem(403, "forbidden", "the token carries no learner id")
    return principal.learner_id


@router.get("", response_model=PreferencesOut)
async def get_preferences(principal: CurrentPrincipal, runtime: ServiceRuntime) -> PreferencesOut:
    learner_id = learner_of(principal)
    async with runtime.runner.read() as conn:
        prefs = await queries.learner_preferences(
            conn, learner_id, runtime.settings.default_preferences
        )
        village_code = await queries.village_code(conn, learner_id)
    return preferences_out(prefs, village_code, runtime.deps.channels)


@router.put("", response_model=PreferencesOut)
async def put_preferences(
    body: PreferencesIn, principal: CurrentPrincipal, runtime: ServiceRuntime
) -> PreferencesOut:
    """Fields left out keep their value; quiet hours are local time of the learner's village."""
    learner_id = learner_of(principal)
    channels = body.channels or ChannelsIn()
    quiet = body.quiet_hours
    command = SetPreferences(
        learner_id,
        email=channels.email,
        sms=channels.sms,
        whatsapp=channels.whatsapp,
        reminders=body.reminders,
        quiet_hours=(
            QuietHours(quiet.start.replace(tzinfo=None), quiet.end.replace(tzinfo=None))
            if quiet
            else None
        ),
    )
    prefs, village_code = await runtime.runner.execute(command)
    return preferences_out(prefs, village_code, runtime.deps.channels)
