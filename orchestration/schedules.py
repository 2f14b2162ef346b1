"""The nightly schedule: 02:00 in the configured time zone, for the day that just ended."""

from __future__ import annotations

import dagster as dg


def build_schedules(nightly_job: dg.UnresolvedAssetJobDefinition) -> list[dg.ScheduleDefinition]:
    return [
        dg.build_schedule_from_partitioned_job(
            nightly_job,
            name="nightly_refresh_schedule",
            hour_of_day=2,
            minute_of_hour=0,
            description="Refresh everything at 02:00 for yesterday's partition.",
        )
    ]
