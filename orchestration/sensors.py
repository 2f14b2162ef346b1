"""Sensors: new landing folders request their partitions; a failed run raises an alert."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
from dagster_shared.error import SerializableErrorInfo

from orchestration.alerts import send_alert
from orchestration.ingest.contracts import CHANNELS
from orchestration.ingest.loader import landed_day_files
from orchestration.settings import Settings


def landing_fingerprints(landing_dir: Path) -> dict[str, float]:
    """'<channel>/<day>' -> newest file mtime, for every day folder that holds files."""
    return {
        f"{channel}/{day}": max(f.stat().st_mtime for f in files)
        for channel in CHANNELS
        for day, files in landed_day_files(landing_dir / channel).items()
    }


def build_landing_sensor(ingest_job: dg.UnresolvedAssetJobDefinition, partitions_def: dg.PartitionsDefinition) -> dg.SensorDefinition:
    @dg.sensor(job=ingest_job, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.STOPPED)
    def landing_folders(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        """Requests an ingest run for each day whose landing folders are new or changed."""
        landing = Settings.from_env().landing_dir
        seen: dict[str, float] = json.loads(context.cursor) if context.cursor else {}
        current = landing_fingerprints(landing)
        changed = {k: v for k, v in current.items() if seen.get(k) != v}
        valid = set(partitions_def.get_partition_keys())
        by_day: dict[str, list[str]] = {}
        for key in changed:
            channel, day = key.split("/")
            if day in valid:
                by_day.setdefault(day, []).append(channel)
        requests = [
            dg.RunRequest(
                run_key=f"{day}:{','.join(sorted(channels))}:{max(current[f'{c}/{day}'] for c in channels)}",
                partition_key=day,
                asset_selection=[dg.AssetKey(c) for c in sorted(channels)],
            )
            for day, channels in sorted(by_day.items())
        ]
        return dg.SensorResult(run_requests=requests, cursor=json.dumps(current))

    return landing_folders


@dg.run_failure_sensor(name="alert_on_run_failure", default_status=dg.DefaultSensorStatus.RUNNING,
                       monitor_all_code_locations=False)
def alert_on_run_failure(context: dg.RunFailureSensorContext) -> None:
    """Writes an alert (failed steps and their errors) to <CLIENTELE_HOME>/alerts/alerts.jsonl and the webhook."""
    settings = Settings.from_env()
    steps = [{"step": e.step_key, "error": _root_error(e.step_failure_data.error)} for e in context.get_step_failure_events()]
    alert = {
        "kind": "run_failure",
        "job": context.dagster_run.job_name,
        "run_id": context.dagster_run.run_id,
        "partition": context.dagster_run.tags.get("dagster/partition"),
        "failed_steps": steps,
        "message": context.failure_event.message,
    }
    webhook_error = send_alert(alert, settings.alert_log, settings.alert_webhook_url)
    context.log.error("run %s of %s failed: %s", alert["run_id"], alert["job"], steps or alert["message"])
    if webhook_error:
        context.log.warning("alert webhook failed (%s); the alert is in %s", webhook_error, settings.alert_log)


def _root_error(error: SerializableErrorInfo | None) -> str | None:
    """Dagster wraps the user's exception ("Error occurred while executing op ..."): report the original."""
    while error is not None and error.cause is not None:
        error = error.cause
    return error.message.strip() if error else None
