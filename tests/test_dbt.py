"""dbt's own unit tests (profile rules, identifier normalisation) and the keyed hash seen from SQL."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb

from orchestration.privacy.keys import load_key, pseudonymize
from orchestration.settings import Settings
from tests.conftest import run_dbt


def test_dbt_unit_tests_pass(pipeline_run) -> None:  # noqa: ANN001
    """Unit tests need their input relations to exist: they run against the pipeline's warehouse."""
    run = run_dbt("test", "--select", "test_type:unit")
    assert run.returncode == 0, run.stdout[-3000:]
    assert "PASS=6" in run.stdout, run.stdout[-3000:]


def test_phone_written_four_ways_gets_one_hash_equal_to_python() -> None:
    forms = ["+86 138 0013 8000", "13800138000", "+8613800138000", "0086 13800138000"]
    columns = ", ".join(
        f"{{{{ pseudonymize(normalize_identifier('phone', \"'{form}'\")) }}}} as h{i}" for i, form in enumerate(forms)
    )
    shown = run_dbt("show", "--inline", f"select {columns}", "--output", "json", "--log-format", "json")
    assert shown.returncode == 0, shown.stdout[-3000:]
    previews = [json.loads(line)["data"].get("preview") for line in shown.stdout.splitlines() if '"preview"' in line]
    row = json.loads(previews[-1])[0]
    expected = pseudonymize("+8613800138000", load_key(Settings.from_env().hash_key_file))
    assert set(row.values()) == {expected}


def test_quarantined_rows_are_counted_by_channel_day_and_reason(pipeline_run, tmp_path: Path) -> None:  # noqa: ANN001
    warehouse = tmp_path / pipeline_run.warehouse.name
    shutil.copy(pipeline_run.warehouse, warehouse)
    with duckdb.connect(str(warehouse)) as conn:
        conn.execute(
            """insert into quarantine.pos_transactions values
            ('2026-10-30', 'a.csv', 2, 'T1,,x', 'missing_required:store_id', now()),
            ('2026-10-30', 'a.csv', 3, 'T2,,y', 'missing_required:store_id', now()),
            ('2026-10-30', 'b.csv', 9, 'T3,S1,z', 'missing_required:occurred_at; unknown_value:transaction_type', now()),
            ('2026-10-31', 'c.csv', 4, '{"x"', 'malformed_row:unquoted_value', now())"""
        )
    built = run_dbt("build", "--select", "quarantine_reasons", warehouse=warehouse)
    assert built.returncode == 0, built.stdout[-3000:]
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        rows = conn.execute(
            "select source_channel, landing_day, reason, rows_quarantined, files from quality.quarantine_reasons "
            "order by all"
        ).fetchall()
    assert rows == [
        ("pos_transactions", "2026-10-30", "missing_required:occurred_at; unknown_value:transaction_type", 1, 1),
        ("pos_transactions", "2026-10-30", "missing_required:store_id", 2, 1),
        ("pos_transactions", "2026-10-31", "malformed_row:unquoted_value", 1, 1),
    ]
