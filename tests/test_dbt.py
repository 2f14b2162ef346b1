"""dbt's own unit tests (profile rules, identifier normalisation) and the keyed hash seen from SQL."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import yaml

from orchestration.privacy.keys import load_key, pseudonymize
from orchestration.settings import DBT_PROJECT_DIR, Settings
from tests.conftest import rows_only_in_each, run_dbt


def test_dbt_unit_tests_pass(pipeline_run) -> None:  # noqa: ANN001
    """Unit tests need their input relations to exist: they run against the pipeline's warehouse. Every unit test
    the project defines must have run and passed (none skipped or unselected)."""
    defined = sum(len((yaml.safe_load(path.read_text()) or {}).get("unit_tests", []))
                  for path in (DBT_PROJECT_DIR / "models").rglob("*.yml"))
    run = run_dbt("test", "--select", "test_type:unit")
    assert run.returncode == 0, run.stdout[-3000:]
    assert defined >= 7 and f"PASS={defined} " in run.stdout, run.stdout[-3000:]


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


STAGING = {"stg_app__events": "app_web_events", "stg_pos__transactions": "pos_transactions",
           "stg_ecommerce__orders": "ecommerce_orders", "stg_crm__members": "crm_members",
           "stg_service__tickets": "service_tickets", "stg_survey__responses": "survey_responses",
           "stg_marketing__events": "marketing_events", "stg_privacy__requests": "privacy_requests"}


BUILT = ("staging",)


def test_staging_a_night_equals_staging_everything_again(pipeline_run, tmp_path: Path) -> None:  # noqa: ANN001
    """Staging is incremental (raw rows written since the last build, by key). Yesterday's build saw less: the
    last three days had not landed. Tonight they land, an old day is loaded again (a corrected file: new load
    time, other values), a gate sets a few rows of another day aside, and every row of a third day is gone.
    Staging tonight must equal staging everything again, in every staging table."""
    warehouse = tmp_path / pipeline_run.warehouse.name
    shutil.copy(pipeline_run.warehouse, warehouse)
    days = pipeline_run.days
    compared = [f"staging.{table}" for table in STAGING]
    with duckdb.connect(str(warehouse)) as conn:
        conn.execute("create schema arriving")
        for channel in STAGING.values():
            conn.execute(f"create table arriving.{channel} as select * from raw.{channel} where _partition > ?", [days[-4]])
            conn.execute(f"delete from raw.{channel} where _partition > ?", [days[-4]])
    build = run_dbt("run", "--select", *BUILT, "--full-refresh", warehouse=warehouse)  # yesterday
    assert build.returncode == 0, build.stdout[-3000:]

    reloaded, trimmed, emptied = days[10], days[20], days[30]
    with duckdb.connect(str(warehouse)) as conn:
        for channel in STAGING.values():
            conn.execute(f"insert into raw.{channel} select * replace (current_timestamp::timestamp as _loaded_at) "
                         f"from arriving.{channel}")
        conn.execute("update raw.crm_members set city = city || ' (corrected)', "
                     "_loaded_at = current_timestamp::timestamp where _partition = ?", [reloaded])
        conn.execute("delete from raw.pos_transactions where transaction_id in (select transaction_id from "
                     "raw.pos_transactions where _partition = ? order by transaction_id limit 3)", [trimmed])
        conn.execute("delete from raw.app_web_events where _partition = ?", [emptied])
        changed = conn.execute(
            "select (select count(*) from raw.crm_members where _partition = ?), "
            "(select count(*) from raw.pos_transactions where _partition = ?), "
            "(select count(*) from staging.stg_app__events where source_partition = ?)", [reloaded, trimmed, emptied]
        ).fetchone()
    assert min(changed) > 0, changed

    night = run_dbt("run", "--select", *BUILT, warehouse=warehouse)  # tonight, incremental
    assert night.returncode == 0, night.stdout[-3000:]
    with duckdb.connect(str(warehouse)) as conn:
        conn.execute("create schema incremental")
        for table in compared:
            conn.execute(f"create table incremental.{table.split('.')[1]} as select * from {table}")
    rebuild = run_dbt("run", "--select", *BUILT, "--full-refresh", warehouse=warehouse)  # tonight, everything
    assert rebuild.returncode == 0, rebuild.stdout[-3000:]
    with duckdb.connect(str(warehouse)) as conn:
        for table in compared:
            kept = f"incremental.{table.split('.')[1]}"
            assert rows_only_in_each(conn, kept, table) == (0, 0), table
            assert conn.execute(f"select count(*) from {table}").fetchone()[0] > 0, table
        corrected = conn.execute("select count(*) from staging.stg_crm__members where city like '%(corrected)'").fetchone()[0]
    assert corrected == changed[0]


def test_a_composite_key_test_fails_on_each_duplicated_key(pipeline_run, tmp_path: Path) -> None:  # noqa: ANN001
    """unique_combination_of_columns groups 64-bit hashes of the key first, then the exact keys of the rows whose
    hash is shared: a duplicated key fails it, and only that key is reported, in a table and in a view."""
    warehouse = tmp_path / pipeline_run.warehouse.name
    shutil.copy(pipeline_run.warehouse, warehouse)
    selection = ("test", "--select", "test_name:unique_combination_of_columns,int_customer_activity_days",
                 "test_name:unique_combination_of_columns,int_known_customer_records")

    def failures() -> dict[str, str]:
        run = run_dbt(*selection, warehouse=warehouse)
        assert "Done. PASS=" in run.stdout and " Error" not in run.stdout, run.stdout[-3000:]  # failures, not errors
        return {line.split(" FAIL ")[1].split()[1]: line.split(" FAIL ")[1].split()[0]
                for line in run.stdout.splitlines() if " FAIL " in line and " of " in line}

    assert failures() == {}
    with duckdb.connect(str(warehouse)) as conn:
        conn.execute("insert into intermediate.int_customer_activity_days select * from "
                     "intermediate.int_customer_activity_days order by all limit 1")
        conn.execute("insert into identity.record_customers select * from identity.record_customers "
                     "where source_channel = 'app_web_events' order by record_id limit 2")
    failed = failures()
    assert failed == {"unique_combination_of_columns_int_customer_activity_days_customer_id__activity_date__channel": "1",
                      "unique_combination_of_columns_int_known_customer_records_source_channel__record_id": "2"}, failed


def test_touchpoints_tests_look_at_the_rows_the_latest_build_wrote(pipeline_run, tmp_path: Path) -> None:  # noqa: ANN001
    """touchpoints' dbt tests filter on built_at = __latest_build__ (macro get_where_subquery): a bad row the latest
    build wrote fails them, a row an earlier build wrote (and the tests passed then) is not read again."""
    warehouse = tmp_path / pipeline_run.warehouse.name
    shutil.copy(pipeline_run.warehouse, warehouse)
    selection = ("test", "--select", "touchpoints,test_name:accepted_values", "touchpoints,test_name:unique")

    def failures() -> set[str]:
        run = run_dbt(*selection, warehouse=warehouse)
        return {line.split("FAIL 1 ")[1].split()[0] for line in run.stdout.splitlines() if "FAIL 1 " in line}

    assert failures() == set()
    with duckdb.connect(str(warehouse)) as conn:
        latest, = conn.execute("select max(built_at) from marts.touchpoints").fetchone()
        # An old build's row: a channel nobody accepts, and the key of another row.
        conn.execute("""insert into marts.touchpoints select * replace ('carrier_pigeon' as channel,
                        built_at - interval 1 day as built_at) from marts.touchpoints limit 1""")
    assert failures() == set()
    with duckdb.connect(str(warehouse)) as conn:  # the same written by the latest build
        conn.execute("update marts.touchpoints set built_at = ? where channel = 'carrier_pigeon'", [latest])
    assert failures() == {"accepted_values_touchpoints_channel__web__app__mini_program__store__email__sms__push__phone__chat__loyalty__unknown",
                          "unique_touchpoints_touchpoint_id"}
