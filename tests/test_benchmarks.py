"""The benchmark harness's own guard: a run that cannot fit on the disk stops before it starts."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from benchmarks.nightly_refresh import DISK_BYTES_PER_CUSTOMER, check_free_space


def test_a_run_too_large_for_the_disk_stops_with_what_it_needs(tmp_path: Path) -> None:
    free = shutil.disk_usage(tmp_path).free
    fits = free // DISK_BYTES_PER_CUSTOMER // 2
    check_free_space(tmp_path, fits)
    too_many = free // DISK_BYTES_PER_CUSTOMER + 1_000_000
    with pytest.raises(SystemExit, match=rf"GiB free, and a run of {too_many:,} customers needs about \d+ GiB"):
        check_free_space(tmp_path, too_many)
