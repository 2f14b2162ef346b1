"""The benchmark harness's own guards: a run that cannot fit on the disk stops before it starts; a missed aim
names the stage that holds it back."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from benchmarks.nightly_refresh import DISK_BYTES_PER_CUSTOMER, check_free_space, night_ratio


def test_a_run_too_large_for_the_disk_stops_with_what_it_needs(tmp_path: Path) -> None:
    free = shutil.disk_usage(tmp_path).free
    fits = free // DISK_BYTES_PER_CUSTOMER // 2
    check_free_space(tmp_path, fits)
    too_many = free // DISK_BYTES_PER_CUSTOMER + 1_000_000
    with pytest.raises(SystemExit, match=rf"GiB free, and a run of {too_many:,} customers needs about \d+ GiB"):
        check_free_space(tmp_path, too_many)


def test_a_night_over_its_aim_names_its_slowest_stage() -> None:
    full = {"seconds": 1000.0}
    stages = {"ingest": {"seconds": 10.4}, "identity": {"seconds": 103.6}, "publish": {"seconds": 120.1},
              "other": {"seconds": 900.0}}  # time outside the stages is no stage to name
    assert night_ratio({"seconds": 495.2, "stages": stages}, full) == (
        "49.5%; over the aim, the night's slowest stage: publish (120.1 s)")
    assert night_ratio({"seconds": 149.0, "stages": stages}, full) == "14.9%"
    assert night_ratio({"skipped": True}, full) == "not measured (--skip-night)"
