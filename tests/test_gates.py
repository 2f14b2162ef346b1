"""Gates with their three outcomes (warn, quarantine, block): raw suites from the contracts, rows set aside
with reasons in DuckDB, row counts against the published tables, and a night when a channel brings half."""

from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import dagster as dg
import duckdb
import great_expectations as gx
import great_expectations.expectations as gxe
import pandas as pd
import pytest

from expectations.quarantine import quarantine_rows
from expectations.runner import SuiteOutcome, validate
from expectations.suites.common import row_count_near
from expectations.suites import customers, orders, raw, touchpoints
from orchestration.ingest.contracts import CONTRACTS
from orchestration.serving.publish import current_path
from tests.conftest import fingerprint, pipeline_copy


def test_raw_suites_follow_the_contracts() -> None:
    contract = CONTRACTS["service_tickets"]
    rules = {(e.expectation_type, e.column) for e in raw.build(contract).expectations}
    assert ("expect_column_values_to_be_unique", "ticket_id") in rules
    assert ("expect_column_values_to_be_in_set", "contact_channel") in rules
    assert ("expect_column_values_to_be_between", "csat") in rules
    in_set = next(e for e in raw.build(contract).expectations
                  if e.column == "contact_channel" and e.expectation_type == "expect_column_values_to_be_in_set")
    assert set(in_set.value_set) == set(contract.column("contact_channel").allowed)
    # A contract change is a suite change: a new allowed value, a new bounded column.
    changed = dataclasses.replace(contract, columns=tuple(
        dataclasses.replace(c, allowed=(*c.allowed, "video")) if c.name == "contact_channel" else c
        for c in contract.columns) + (dataclasses.replace(contract.column("csat"), name="effort", maximum=7),))
    in_set = next(e for e in raw.build(changed).expectations
                  if e.column == "contact_channel" and e.expectation_type == "expect_column_values_to_be_in_set")
    assert "video" in in_set.value_set
    assert any(e.column == "effort" and e.max_value == 7 for e in raw.build(changed).expectations)


def test_quarantine_moves_the_offending_rows_with_every_reason_and_keeps_the_rest(tmp_path: Path) -> None:
    contract = CONTRACTS["service_tickets"]
    with duckdb.connect(str(tmp_path / "w.duckdb")) as conn:
        conn.execute("create schema raw")
        conn.execute("""create table raw.service_tickets as select * from (values
            ('T1', timestamp '2026-10-01 10:00', 'phone', 'delivery', 4, 'resolved', '2026-10-01', 'a.csv', 2),
            ('T2', timestamp '2026-10-01 11:00', 'fax',   'delivery', 9, 'resolved', '2026-10-01', 'a.csv', 3),
            ('T3', timestamp '2026-10-01 12:00', 'email', 'billing',  5, 'open',     '2026-10-01', 'a.csv', 4),
            ('T3', timestamp '2026-10-01 12:05', 'email', 'billing',  5, 'open',     '2026-10-01', 'a.csv', 5),
            ('T4', timestamp '2026-10-01 13:00', 'chat',  '投诉',      3, 'open',     '2026-10-01', 'a.csv', 6)
        ) t(ticket_id, opened_at, contact_channel, category, csat, status, _partition, _source_file, _source_line)""")
        frame = conn.execute("select * from raw.service_tickets").df()
        only_known = dataclasses.replace(contract, columns=tuple(c for c in contract.columns if c.name in frame.columns))
        outcome = validate(frame, raw.build(only_known), key="ticket_id")
        assert outcome.passed  # nothing blocks: every failure here is a quarantine rule
        rejected = {f.reason: f.unexpected_keys for f in outcome.by_outcome("quarantine")}
        assert {k for keys in rejected.values() for k in keys} == {"T2", "T3", "T4"}
        moved = quarantine_rows(conn, "raw.service_tickets", "quarantine.service_tickets", "ticket_id", rejected)
        assert moved == 4  # both rows of the duplicated key
        assert conn.execute("select ticket_id from raw.service_tickets").fetchall() == [("T1",)]
        kept = dict(conn.execute("select json_extract_string(raw_record, '$.ticket_id'), reason "
                                 "from quarantine.service_tickets where source_line <> 5").fetchall())
        assert set(kept) == {"T2", "T3", "T4"}
        assert "contact_channel" in kept["T2"] and "csat" in kept["T2"]  # one row, both reasons
        assert "category" in kept["T4"] and "投诉" in conn.execute(
            "select raw_record from quarantine.service_tickets where source_line = 6").fetchone()[0]


def test_a_table_shrinking_overnight_blocks_and_growing_a_lot_warns() -> None:
    frame = pd.DataFrame({"order_key": [f"O{i}" for i in range(70)], "ordered_at": pd.Timestamp("2026-10-01"),
                          "amount": 10.0, "sales_channel": "store"})
    def outcome(previous: int | None):  # noqa: ANN202
        return validate(pd.DataFrame(index=pd.RangeIndex(len(frame))), row_count_near(orders.TABLE, previous))

    assert not outcome(100).passed
    assert outcome(80).failed == []
    grown = outcome(40)
    assert grown.passed and [f.on_failure for f in grown.failed] == ["warn"]
    assert outcome(None).failed == [] and outcome(None).evaluated == 0


@pytest.mark.parametrize("duplicated", [["O7"], [f"O{i}" for i in range(0, 1000, 3)], []])
def test_a_table_validated_in_parts_reports_like_a_whole(tmp_path: Path, duplicated: list[str]) -> None:
    """The gate's parts (keys found more than once first, the rest streamed in batches) hold every row once, keep a
    key's rows together, read back the types a direct read gives, and merge into the whole table's verdict: with
    one duplicated key, with a third of the keys duplicated (more rows than a part), and with none. An empty table
    is still validated once."""
    from dagster_duckdb import DuckDBResource

    from orchestration.assets.quality import _read_in_parts

    frame = pd.DataFrame({"order_key": [f"O{i}" for i in range(1000)] + duplicated,
                          "ordered_at": pd.Timestamp("2026-10-01"), "sales_channel": "store"})
    frame["amount"] = [10.0] * (len(frame) - 11) + [-1.0] * 11
    warehouse = DuckDBResource(database=str(tmp_path / "w.duckdb"))
    with warehouse.get_connection() as conn:
        conn.register("frame", frame)
        conn.execute("create table orders as select * from frame")
        conn.execute("create table no_orders as select * from frame limit 0")
    with warehouse.get_connection() as conn:
        direct = conn.sql("select * from orders").to_arrow_table().to_pandas()
    parts = list(_read_in_parts(warehouse, "select * from orders", "order_key", 150))
    assert len(parts) >= math.ceil(len(frame) / 150) and max(len(p) for p in parts) <= 300
    assert sum(len(p) for p in parts) == len(frame)
    assert all(not set(p["order_key"]) & set(q["order_key"]) for i, p in enumerate(parts) for q in parts[i + 1:])
    assert all((p.dtypes == direct.dtypes).all() and list(p.columns) == list(direct.columns) for p in parts)
    assert direct["ordered_at"].dtype.kind == "M" and direct["amount"].dtype.kind == "f"
    whole = validate(frame, orders.build(frame), key=orders.KEY)
    merged = SuiteOutcome.merge([validate(p, orders.build(p), key=orders.KEY) for p in parts])
    summary = sorted((f.expectation, f.column, f.unexpected_count) for f in merged.failed)
    assert summary == sorted((f.expectation, f.column, f.unexpected_count) for f in whole.failed)
    assert (("expect_column_values_to_be_unique", "order_key", 2 * len(duplicated)) in summary) == bool(duplicated)
    empty, = _read_in_parts(warehouse, "select * from no_orders", "order_key", 150)
    assert len(empty) == 0 and list(empty.columns) == list(direct.columns)


def test_an_incremental_mart_is_validated_on_the_rows_built_since_its_gate_last_passed(tmp_path: Path) -> None:
    """touchpoints keeps rows across builds and says which build wrote each (built_at). The first gate validates
    every row; later ones the rows built since the last pass, plus every row of a key that is now repeated; a
    blocked night is validated again; new rules validate every row again."""
    from dagster_duckdb import DuckDBResource

    from orchestration.assets.quality import _read_in_parts, gate_read, record_pass, validate_in_parts

    def rows(ids: range, built: str, channel: str = "web") -> pd.DataFrame:
        return pd.DataFrame({"touchpoint_id": [f"app_web_events:E{i}" for i in ids], "customer_id": "C1",
                             "occurred_at": pd.Timestamp("2026-10-01 10:00"), "channel": channel,
                             "touchpoint_type": "page_view", "touchpoint_value": 1.0, "built_at": pd.Timestamp(built)})

    def gate() -> tuple[Any, int, SuiteOutcome]:  # what the Dagster check does, without Dagster
        with warehouse.get_connection() as conn:
            read = gate_read(conn, touchpoints)
        outcome, validated, _ = validate_in_parts(warehouse, touchpoints, read, part_rows=400)
        if not outcome.blocking_failures:
            with warehouse.get_connection() as conn:
                record_pass(conn, touchpoints.TABLE, read)
        return read, validated, outcome

    warehouse = DuckDBResource(database=str(tmp_path / "w.duckdb"))
    with warehouse.get_connection() as conn:
        conn.execute("create schema marts")
        conn.register("first", rows(range(1000), "2026-10-01 02:00"))
        conn.execute("create table marts.touchpoints as select * from first")
    read, validated, outcome = gate()
    assert read.built_since is None and validated == 1000 and outcome.passed  # the first gate: every row

    with warehouse.get_connection() as conn:
        conn.register("tonight", pd.concat([rows(range(1000, 1010), "2026-10-02 02:00"),
                                            rows(range(1010, 1011), "2026-10-02 02:00", channel="carrier_pigeon"),
                                            rows(range(7, 8), "2026-10-02 02:00")]))  # repeats an old row's key
        conn.execute("insert into marts.touchpoints select * from tonight")
        # A row the night did not write is not looked at again (nothing but a build changes a mart's rows).
        conn.execute("update marts.touchpoints set channel = 'semaphore' where touchpoint_id = 'app_web_events:E3'")
    read, validated, outcome = gate()
    assert read.built_since == pd.Timestamp("2026-10-01 02:00") and validated == 12 + 1  # tonight's, the old E7
    assert sorted((f.column, f.unexpected_count) for f in outcome.blocking_failures) == [
        ("channel", 1), ("touchpoint_id", 2)]
    read, validated, _ = gate()  # blocked: nothing recorded, the night's rows are validated again
    assert read.built_since == pd.Timestamp("2026-10-01 02:00") and validated == 13

    with warehouse.get_connection() as conn:  # the night is mended and built again
        conn.execute("delete from marts.touchpoints where built_at > '2026-10-01 02:00'")
        conn.register("mended", rows(range(1000, 1011), "2026-10-02 03:00"))
        conn.execute("insert into marts.touchpoints select * from mended")
    read, validated, outcome = gate()
    assert validated == 11 and outcome.passed
    read, validated, outcome = gate()
    assert read.built_since == pd.Timestamp("2026-10-02 03:00") and validated == 0 and outcome.passed

    stricter = SimpleNamespace(TABLE=touchpoints.TABLE, KEY=touchpoints.KEY, build=lambda frame: gx.ExpectationSuite(
        name="touchpoints", expectations=[*touchpoints.build(frame).expectations,
                                          gxe.ExpectColumnValuesToNotBeNull(column="customer_id")]))
    with warehouse.get_connection() as conn:
        read = gate_read(conn, stricter)
    assert read.built_since is None and read.query == read.whole_query  # new rules: every row again
    assert sum(len(f) for f in _read_in_parts(warehouse, read.query, touchpoints.KEY, 400, read.whole_query)) == 1011


def test_unknown_outcome_is_a_clear_error() -> None:
    import great_expectations as gx
    import great_expectations.expectations as gxe

    suite = gx.ExpectationSuite(name="x", expectations=[
        gxe.ExpectColumnValuesToNotBeNull(column="a", meta={"on_failure": "ignore"})])
    with pytest.raises(ValueError, match="on_failure must be one of"):
        validate(pd.DataFrame({"a": [1]}), suite)
    assert customers.KEY == "customer_id"


def test_volume_rule_blocks_half_a_day_and_tolerates_the_channels_own_spread(tmp_path: Path) -> None:
    import numpy as np

    contract = CONTRACTS["pos_transactions"]
    days = pd.date_range("2026-09-01", periods=31).strftime("%Y-%m-%d").tolist()
    usual = np.random.default_rng(3).poisson(400, size=30).tolist()
    with duckdb.connect(str(tmp_path / "w.duckdb")) as conn:
        conn.execute("create schema raw")
        conn.execute("create table raw.pos_transactions (transaction_id varchar, _partition varchar)")
        for tonight, verdict in ((200, False), (330, True)):
            counts = pd.DataFrame({"_partition": days, "n": [*usual, tonight]})
            conn.execute("delete from raw.pos_transactions")
            conn.execute("insert into raw.pos_transactions select uuid()::varchar, _partition "
                         "from counts, range(n)")
            volume = conn.execute(raw.volume_sql(contract, days[-1], days[-1])).df()
            outcome = validate(volume, raw.build_volume(contract), key="landing_day")
            assert len(volume) == 1 and outcome.passed is verdict, (tonight, volume.to_dict("records"))
            if not verdict:
                assert outcome.failed[0].sample[0].startswith(f"{days[-1]}: 200 vs ")  # rows vs lowest expected


def test_a_channel_delivering_a_fraction_of_its_volume_stops_the_night_and_bi_keeps_the_last_tables(
        pipeline_run, tmp_path: Path) -> None:  # noqa: ANN001
    from orchestration.cli import run_pipeline
    from orchestration.settings import Settings

    with pipeline_copy(pipeline_run, tmp_path) as home:
        served = current_path(home / "serving")
        version_before, bytes_before = os.readlink(home / "serving" / "current"), fingerprint(served)
        # The clickstream export of the last day arrives cut short (a partial upload: a tenth of it).
        day = pipeline_run.days[-1]
        for part in (home / "landing" / "app_web_events" / day).glob("*.parquet"):
            events = pd.read_parquet(part)
            events.iloc[: len(events) // 10].to_parquet(part, index=False)
        result = run_pipeline(Settings.from_env(), (day, day))
        gate = next(e for e in result.get_asset_check_evaluations() if e.check_name == "gx_raw_app_web_events")
        assert not gate.passed and gate.severity == dg.AssetCheckSeverity.ERROR
        assert day in str(gate.metadata["results"].value)  # the table names the landing day
        assert gate.metadata["data_docs_raw_app_web_events_volume"].value.startswith("file://")
        materialised = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
        assert "app_web_events" in materialised  # landed and kept, for when the rest arrives
        assert "staging/stg_app__events" not in materialised and "serving_snapshot" not in materialised
        assert os.readlink(home / "serving" / "current") == version_before
        assert fingerprint(served) == bytes_before
        # The other channels' gates still ran and passed: the problem is named where it is.
        others = [e for e in result.get_asset_check_evaluations()
                  if e.check_name.startswith("gx_raw_") and e.check_name != "gx_raw_app_web_events"]
        assert others and all(e.passed for e in others)
        assert gate.metadata["volume_days_compared"].value == 1
