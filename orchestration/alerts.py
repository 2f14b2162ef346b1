"""Alerts for people: what failed, where, and why, written to a log file and optionally POSTed to a webhook."""

from __future__ import annotations

import json
import urllib.request
from datetime import datetime, timezone
from pathlib import Path


def send_alert(alert: dict[str, object], log_file: Path, webhook_url: str | None = None, timeout: float = 10.0) -> str | None:
    """Append the alert to ``log_file`` (JSON lines); POST it to ``webhook_url`` if set.

    Returns the webhook error, if any: a broken webhook must not hide the alert, which is already logged.
    """
    alert = {"alerted_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), **alert}
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(alert, ensure_ascii=False, default=str) + "\n")
    if not webhook_url:
        return None
    request = urllib.request.Request(
        webhook_url, data=json.dumps(alert, default=str).encode("utf-8"), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - the URL is the operator's setting
            response.read()
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"
    return None
