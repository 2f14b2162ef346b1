"""The daily partitions every channel lands in."""

from __future__ import annotations

import dagster as dg

from orchestration.settings import Settings


def daily_partitions(settings: Settings) -> dg.DailyPartitionsDefinition:
    return dg.DailyPartitionsDefinition(start_date=settings.partition_start, timezone=settings.timezone)
