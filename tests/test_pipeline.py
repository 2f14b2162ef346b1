"""The whole pipeline on a small generated data set: every asset materialises, BI sees the result."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd

from orchestration.identity.accuracy import measure_accuracy
from orchestration.ingest.contracts import CHANNELS
from orchestration.serving.publish import PUBLISHED_TABLES, current_path


def test_every_asset_materialises(pipeline_run) -> None:  # noqa: ANN001
    result = pipeline_run.result
    assert result.success
    materialised = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    for key in [*CHANNELS, "staging/stg_app__events", "identity/record_customers", "marts/orders",
                "marts/customer_rfm_summary", "clv/customer_clv", "clv/clv_model_runs", "marts/customers",
                "serving_snapshot"]:
        assert key in materialised, key
    evaluations = result.get_asset_check_evaluations()
    gates = {e.check_name: e for e in evaluations if e.check_name.startswith("gx_")}
    assert {f"gx_raw_{channel}" for channel in CHANNELS} | {"gx_customer_rfm_summary", "gx_customer_clv"} <= set(gates)
    blocked = [e.check_name for e in evaluations if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR]
    assert blocked == []
    # Every gate's result is rendered into Great Expectations Data Docs, linked from the check.
    docs = gates["gx_customers"].metadata["data_docs_customers"].value
    assert docs.startswith("file://") and Path(docs.removeprefix("file://")).is_file()
    assert (pipeline_run.home / "data_docs" / "site" / "index.html").is_file()
    # The demo data ends before yesterday: every channel's freshness check warns, and says how late it is.
    fresh = [e for e in evaluations if e.check_name == "landed_yesterday"]
    assert {e.asset_key.to_user_string() for e in fresh} == set(CHANNELS)
    assert all(not e.passed and e.severity == dg.AssetCheckSeverity.WARN for e in fresh)
    assert max(e.metadata["latest_landed_day"].value for e in fresh) == pipeline_run.days[-1]


def test_dbt_assets_report_row_counts_and_typed_columns(pipeline_run) -> None:  # noqa: ANN001
    """What the UI shows for a dbt model: its row count and its columns with DuckDB types and YAML descriptions."""
    events = {e.asset_key.to_user_string(): e for e in pipeline_run.result.get_asset_materialization_events()}
    metadata = events["marts/touchpoints"].materialization.metadata
    columns = {c.name: c for c in metadata["dagster/column_schema"].schema.columns}
    with duckdb.connect(str(pipeline_run.warehouse), read_only=True) as conn:
        rows = conn.execute("select count(*) from marts.touchpoints").fetchone()[0]
    assert metadata["dagster/row_count"].value == rows > 0
    assert (columns["occurred_at"].type, columns["touchpoint_value"].type) == ("TIMESTAMP", "DOUBLE")
    assert columns["channel"].description == "The medium the customer used."


def test_every_landed_row_is_loaded_or_quarantined(pipeline_run) -> None:  # noqa: ANN001
    truth = pd.read_parquet(pipeline_run.home / "ground_truth" / "records")
    with duckdb.connect(str(pipeline_run.warehouse), read_only=True) as conn:
        for channel in CHANNELS:
            loaded = conn.execute(f"select count(*) from raw.{channel}").fetchone()[0]
            quarantined = conn.execute(f"select count(*) from quarantine.{channel}").fetchone()[0]
            expected = int((truth["channel"] == channel).sum())
            assert loaded + quarantined == expected, channel
            assert quarantined == 0, f"clean demo data quarantined in {channel}"


def test_published_snapshot_is_readable_by_bi(pipeline_run) -> None:  # noqa: ANN001
    serving = current_path(pipeline_run.serving)
    with duckdb.connect(str(serving), read_only=True) as conn:
        for table in PUBLISHED_TABLES:
            assert conn.execute(f"select count(*) from {table}").fetchone()[0] > 0, table
        customers, missing_clv = conn.execute(
            "select count(*), count(*) filter (where orders > 0 and clv_12m is null) from customers"
        ).fetchone()
        assert customers > 500
        assert missing_clv == 0
        assert conn.execute("select count(*) from customers where not isfinite(clv_12m) or clv_12m < 0").fetchone()[0] == 0
    assert (serving.parent / "parquet" / "customers.parquet").exists()


def test_no_raw_email_or_phone_outside_raw(pipeline_run) -> None:  # noqa: ANN001
    """Every real e-mail and phone (from the ground truth) is searched for in every non-raw table."""
    truth = pd.concat(pd.read_parquet(p) for p in (pipeline_run.home / "ground_truth").glob("identifiers-*.parquet"))
    emails = truth.loc[truth["identifier_type"] == "email", "value"].str.lower()
    typed = truth.loc[truth["identifier_type"] == "phone", "value"]
    compact = typed.str.replace(" ", "")
    # As generated (with spaces), E.164, and without the country code as many people type it.
    values = set(emails) | set(typed) | set(compact) | set(compact.str[3:])
    assert len(values) > 1000
    with duckdb.connect(str(pipeline_run.warehouse), read_only=True) as conn:
        tables = conn.execute(
            "select table_schema, table_name from information_schema.tables where table_schema not in ('raw', 'quarantine')"
        ).fetchall()
        for schema, table in tables:
            text_cols = [r[0] for r in conn.execute(
                "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
                "and data_type = 'VARCHAR'", [schema, table]).fetchall()]
            for col in text_cols:
                found = conn.execute(
                    f'select count(*) from {schema}."{table}" where lower(trim("{col}")) in (select unnest(?))',
                    [list(values)],
                ).fetchone()[0]
                assert found == 0, f"raw personal data in {schema}.{table}.{col}"


def test_identity_resolution_meets_its_accuracy_targets(pipeline_run) -> None:  # noqa: ANN001
    truth = pipeline_run.landing.parent / "ground_truth" / "records" / "*.parquet"
    with duckdb.connect(str(pipeline_run.warehouse), read_only=True) as conn:
        accuracy = measure_accuracy(conn, truth)
    assert accuracy.records_scored > 10_000
    assert accuracy.precision >= 0.995, accuracy.report()
    # The 99% recall target is checked on the default demo (`clientele accuracy`); 150 days leave less
    # linking evidence, so here the resolver must find what the evidence allows (the ceiling) and 98% overall.
    assert accuracy.recall >= accuracy.recall_ceiling - 0.005, accuracy.report()
    assert accuracy.recall >= 0.98, accuracy.report()
