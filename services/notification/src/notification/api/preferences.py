"""A learner's own notification preferences: channels, reminders, quiet hours."""

from __future__ import annotations

from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, Request
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from servicekit.auth import CurrentPrincipal, Principal, Role
from servicekit.problems import Problem
from servicekit.regions import timezone_of
from servicekit.service import DatabaseDep

from ..domain.model import Preferences, QuietHours
from ..domain.policy import zone_label
from ..notifier import Notifier
from ..store.repository import preferences_from_row
from ..store.tables import learners, preferences
from .schemas import ChannelsIn, ChannelsOut, PreferencesIn, PreferencesOut, QuietHoursBody

router = APIRouter(prefix="/v1/preferences", tags=["preferences"])


def notifier_of(request: Request) -> Notifier:
    return cast(Notifier, request.app.state.notifier)


NotifierDep = Annotated[Notifier, Depends(notifier_of)]


def learner_of(principal: Principal) -> Any:
    principal.require(Role.LEARNER)
    if principal.learner_id is None:
        raise Problem(403, "forbidden", "the token carries no learner id")
    return principal.learner_id


def preferences_out(prefs: Preferences, zone: str, notifier: Notifier) -> PreferencesOut:
    quiet = prefs.quiet_hours
    return PreferencesOut(
        channels=ChannelsOut(email=prefs.email, sms=prefs.sms, whatsapp=prefs.whatsapp),
        reminders=prefs.reminders,
        quiet_hours=QuietHoursBody(start=quiet.start, end=quiet.end) if quiet else None,
        timezone=zone,
        timezone_label=zone_label(zone),
        available_channels=[c.value for c in notifier.configured],
    )


async def _load(conn: Any, learner_id: Any, notifier: Notifier) -> tuple[Preferences, str]:
    row = (
        await conn.execute(select(preferences).where(preferences.c.learner_id == learner_id))
    ).first()
    village = (
        await conn.execute(
            select(learners.c.village_code).where(learners.c.learner_id == learner_id)
        )
    ).scalar_one_or_none()
    zone = timezone_of(village) if village else "Asia/Jakarta"
    return preferences_from_row(row, notifier.default_preferences), zone


@router.get("", response_model=PreferencesOut)
async def get_preferences(
    principal: CurrentPrincipal, database: DatabaseDep, notifier: NotifierDep
) -> PreferencesOut:
    learner_id = learner_of(principal)
    async with database.read() as conn:
        prefs, zone = await _load(conn, learner_id, notifier)
    return preferences_out(prefs, zone, notifier)


@router.put("", response_model=PreferencesOut)
async def put_preferences(
    body: PreferencesIn, principal: CurrentPrincipal, database: DatabaseDep, notifier: NotifierDep
) -> PreferencesOut:
    """Fields left out keep their value; quiet hours are local time of the learner's village."""
    learner_id = learner_of(principal)
    async with database.transaction() as tx:
        current, zone = await _load(tx.conn, learner_id, notifier)
        channels = body.channels or ChannelsIn()
        quiet = (
            QuietHours(
                body.quiet_hours.start.replace(tzinfo=None),
                body.quiet_hours.end.replace(tzinfo=None),
            )
            if body.quiet_hours
            else current.quiet_hours
        )
        wanted = Preferences(
            email=_pick(channels.email, current.email),
            sms=_pick(channels.sms, current.sms),
            whatsapp=_pick(channels.whatsapp, current.whatsapp),
            reminders=_pick(body.reminders, current.reminders),
            quiet_hours=quiet,
        )
        values = {
            "email": wanted.email,
            "sms": wanted.sms,
            "whatsapp": wanted.whatsapp,
            "reminders": wanted.reminders,
            "quiet_start": quiet.start if quiet else None,
            "quiet_end": quiet.end if quiet else None,
            "updated_at": func.now(),
        }
        await tx.conn.execute(
            insert(preferences)
            .values(learner_id=learner_id, **values)
            .on_conflict_do_update(index_elements=["learner_id"], set_=values)
        )
    return preferences_out(wanted, zone, notifier)


def _pick(value: bool | None, current: bool) -> bool:
    return current if value is None else value
