"""Freshness: each channel should have landed the day that just ended; a late channel warns (it does not block)."""

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg

from orchestration.ingest.contracts import CHANNELS
from orchestration.ingest.loader import landed_day_files
from orchestration.settings import Settings


def freshness_metadata(landing_dir: Path, channel: str, today: date) -> tuple[bool, dict[str, object]]:
    expected = (today - timedelta(days=1)).isoformat()
    latest = max(landed_day_files(landing_dir / channel), default=None)
    behind = (date.fromisoformat(expected) - date.fromisoformat(latest)).days if latest else None
    return latest is not None and latest >= expected, {
        "expected_day": expected,
        "latest_landed_day": latest or "never",
        "days_behind": behind if behind is not None else -1,
    }


def _build_check(channel: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=dg.AssetKey(channel),
        name="landed_yesterday",
        blocking=False,
        description=f"Warns when landing/{channel}/ has no files for the day that just ended (in CLIENTELE_TIMEZONE).",
    )
    def _check() -> dg.AssetCheckResult:
        settings = Settings.from_env()
        today = datetime.now(ZoneInfo(settings.timezone)).date()
        passed, metadata = freshness_metadata(settings.landing_dir, channel, today)
        return dg.AssetCheckResult(passed=passed, severity=dg.AssetCheckSeverity.WARN, metadata=metadata)

    return _check


freshness_checks = [_build_check(channel) for channel in CHANNELS]
