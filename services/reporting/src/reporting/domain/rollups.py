"""How a batch moves the rollups and activity buckets: what its changed rows contribute after
the batch minus what they contributed before."""

from __future__ import annotations

from datetime import date

from .model import ACTIVITY_PREFIXES, ActivityKey, Contribution, Counters, Key, region_levels


class Deltas:
    """Rollup and activity changes of one batch.

    Contributions are summed per village key first; each distinct key is then spread to its
    region levels once, so the work grows with the keys a batch touches, not its rows.
    """

    def __init__(self) -> None:
        self._counters: dict[Key, list[int]] = {}
        self._active: dict[tuple[Key, date], int] = {}

    def add(self, contribution: Contribution | None, sign: int) -> None:
        if contribution is None:
            return
        key, counters, active_on = contribution
        total = self._counters.get(key)
        if total is None:
            self._counters[key] = [sign * value for value in counters]
        else:
            for i, value in enumerate(counters):
                if value:
                    total[i] += sign * value
        if active_on is not None:
            day_key = (key, active_on)
            self._active[day_key] = self._active.get(day_key, 0) + sign

    def move(self, before: Contribution | None, after: Contribution | None) -> None:
        """A row's contribution changed from ``before`` to ``after``."""
        if (
            before is not None
            and after is not None
            and before.key == after.key
            and before.counters == after.counters
        ):
            if before.active_on != after.active_on:  # most events: only the day moves
                for day, sign in ((before.active_on, -1), (after.active_on, 1)):
                    if day is not None:
                        day_key = (before.key, day)
                        self._active[day_key] = self._active.get(day_key, 0) + sign
            return
        self.add(before, -1)
        self.add(after, +1)

    def changed_rollups(self) -> list[tuple[Key, Counters]]:
        """Counter changes per region at every level."""
        spread: dict[Key, list[int]] = {}
        for (village, course, cohort, position), counters in self._counters.items():
            if not any(counters):
                continue
            for region in region_levels(village):
                key = (region, course, cohort, position)
                total = spread.get(key)
                if total is None:
                    spread[key] = list(counters)
                else:
                    for i, value in enumerate(counters):
                        total[i] += value
        return [(key, tuple(values)) for key, values in spread.items() if any(values)]

    def changed_activity(self) -> list[tuple[ActivityKey, int]]:
        """Bucket changes per nation, province and regency."""
        spread: dict[ActivityKey, int] = {}
        for ((village, course, cohort, position), day), n in self._active.items():
            if not n:
                continue
            for length in ACTIVITY_PREFIXES:
                key = (village[:length], course, cohort, position, day)
                spread[key] = spread.get(key, 0) + n
        return [(key, n) for key, n in spread.items() if n]
