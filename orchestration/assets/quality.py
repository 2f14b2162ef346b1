"""Quality gates: Great Expectations suites run as Dagster asset checks.

Each rule's outcome is its own (``expectations/runner.py``): a failed ``block`` rule fails the
check with ERROR severity, which stops every downstream asset in the run, so the publish step
never sees bad data and BI keeps the last good snapshot; ``quarantine`` rules move the offending
rows to the quarantine schema with the rule as reason; ``warn`` rules fail with WARN severity and
stop nothing. Every result is rendered into Great Expectations Data Docs, linked from the check.
"""

import gc
import hashlib
import importlib
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pandas as pd
import pyarrow as pa
from dagster_duckdb import DuckDBResource

from orchestration.ingest.contracts import CONTRACTS, ChannelContract
from orchestration.resources import PlatformPaths
from orchestration.warehouse import table_exists

# Suite module (expectations.suites.<name>) -> the asset whose table it validates.
GATED_TABLES = {
    "customer_rfm_summary": dg.AssetKey(["marts", "customer_rfm_summary"]),
    "orders": dg.AssetKey(["marts", "orders"]),
    "customer_clv": dg.AssetKey(["clv", "customer_clv"]),
    "customers": dg.AssetKey(["marts", "customers"]),
    "touchpoints": dg.AssetKey(["marts", "touchpoints"]),
}
GATE_PART_ROWS = 2_000_000  # a mart is validated in parts of at most about this many rows
GATE_STREAM_MEMORY = "1GB"  # DuckDB's limit while parts stream (its block cache would otherwise fill the default)
RAW_ROW_DAYS = 7  # raw rows of at most this many of a run's latest landing days are validated row by row
BUILT_AT = "built_at"  # a mart's column saying which build wrote the row (dbt macro build_started_at)
GATE_LOG = "quality.gate_passes"  # per mart and rules: the newest build whose rows passed
GATE_LOG_DDL = f"""create schema if not exists quality;
    create table if not exists {GATE_LOG} (table_name VARCHAR, suite_fingerprint VARCHAR, built_through TIMESTAMP,
                                            passed_at TIMESTAMP)"""


def _result(outcomes: list[Any], rows_validated: int, quarantined: int, **extra: Any) -> dg.AssetCheckResult:
    failed = [f for o in outcomes for f in o.failed]
    blocking = [f for o in outcomes for f in o.blocking_failures]
    metadata: dict[str, Any] = {
        "rows_validated": rows_validated,
        "expectations": sum(o.evaluated for o in outcomes),
        "failed_expectations": len(failed),
        "blocking_failures": len(blocking),
        "rows_quarantined": quarantined,
        "results": dg.MetadataValue.md("\n\n".join(o.as_markdown() for o in outcomes)),
        **extra,
    }
    for outcome in outcomes:
        if outcome.docs_url:
            metadata[f"data_docs_{outcome.suite}"] = dg.MetadataValue.url(outcome.docs_url)
    return dg.AssetCheckResult(
        passed=not failed,
        severity=dg.AssetCheckSeverity.ERROR if blocking else dg.AssetCheckSeverity.WARN,
        metadata=metadata,
    )


def _quarantine(warehouse: DuckDBResource, outcome: Any, table: str, quarantine_table: str, key: str) -> int:
    """Set aside the rows of failed quarantine rules, unless the gate blocks anyway (then nothing moves)."""
    from expectations.quarantine import quarantine_rows

    rejected = {f.reason: f.unexpected_keys for f in outcome.by_outcome("quarantine")}
    if not rejected or not outcome.passed:
        return 0
    with warehouse.get_connection() as conn:
        return quarantine_rows(conn, table, quarantine_table, key, rejected)


def _read_in_parts(warehouse: DuckDBResource, query: str, key: str, part_rows: int,
                   whole_query: str | None = None) -> Iterator[pd.DataFrame]:
    """The gate's query as frames of at most about ``part_rows`` rows: memory stays bounded at any table size.

    Uniqueness must hold in every part iff it holds in the table. Every key found more than once (one grouping in
    DuckDB; none in a good table) has all its rows in the same part, first, split by key hash; every other key has a
    single row, so the rest streams from one scan of the query in Arrow batches, in any order. The previous way, one
    scan writing all rows to Parquet parts by key hash, read touchpoints' 60 M rows at a million customers in 94 s,
    this in 22 s (the whole gate: 122.0 s against 72.9 s, benchmarks/mart_gate.py).

    With ``whole_query`` (the whole table, where ``query`` holds only the rows written since the gate last passed),
    keys are counted over the whole table and every row of a repeated key is validated, old rows included: a new
    row repeating an old row's key is caught."""
    whole_query = whole_query or query
    with warehouse.get_connection() as conn:
        # Grouped by the key's 64-bit hash first: 8 bytes a row to group instead of the text key.
        conn.execute(f"""create or replace temp table gate_duplicated_keys as
            select {key}, count(*) as key_rows from ({whole_query})
            where hash({key}) in (select hash({key}) from ({whole_query}) group by 1 having count(*) > 1)
            group by {key} having count(*) > 1""")
        duplicated_rows = conn.execute("select coalesce(sum(key_rows), 0) from gate_duplicated_keys").fetchall()[0][0]
        duplicate_parts = math.ceil(duplicated_rows / part_rows)
        for part in range(duplicate_parts):
            yield _frame(conn, f"select * from ({whole_query}) where {key} in (select {key} from gate_duplicated_keys) "
                               f"and hash({key}) % {duplicate_parts} = {part}")
            release_memory()
        conn.execute(f"set memory_limit = '{GATE_STREAM_MEMORY}'")  # the scan's blocks are not kept: frames need it
        batches = conn.sql(f"select q.* from ({query}) as q anti join gate_duplicated_keys as d on q.{key} = d.{key}") \
            .to_arrow_reader(part_rows)
        streamed = 0
        for batch in batches:
            streamed += 1
            yield pa.Table.from_batches([batch]).to_pandas()
            release_memory()
        if duplicate_parts + streamed == 0:  # an empty table: validated once, so its columns still are
            yield batches.schema.empty_table().to_pandas()
        conn.execute("drop table gate_duplicated_keys")


def release_memory() -> None:
    """Return the memory of frames already validated to the OS. Every step of a run shares one process (the
    in-process executor): without this, a part's frame lived until a garbage collection broke its reference
    cycles and Arrow's allocator kept the freed pages, so after the touchpoints gate at a million customers
    the process still held 4.2 GiB while dbt built the next marts beside it (a run's peak: 8.09 GiB). With
    this after each part it holds 0.74 GiB after the gate (measured on that warehouse, 30 parts)."""
    gc.collect()
    pa.default_memory_pool().release_unused()


def _frame(conn: duckdb.DuckDBPyConnection, query: str) -> pd.DataFrame:
    """A query's rows as pandas through Arrow, in one chunk per column: 0.4 s for a 2,000,000-row part of
    touchpoints where ``.df()`` takes 1.6 s; unchunked, because GX's row conditions ``take`` from every column
    and a chunked Arrow column makes that slower than the read saves."""
    return conn.sql(query).to_arrow_table().combine_chunks().to_pandas()


@dataclass(frozen=True)
class GateRead:
    """What a mart gate reads: the table's rows, the query of the rows to validate and of the whole table (the same
    unless only rows built since the last pass are validated), and what to record when the gate passes."""

    table_rows: int
    query: str
    whole_query: str
    suite_fingerprint: str
    built_since: datetime | None = None  # rows built after this are validated (None: every row)
    built_through: datetime | None = None  # the newest build the table holds (None: the table has no BUILT_AT)


def gate_read(conn: duckdb.DuckDBPyConnection, suite: Any) -> GateRead:
    """What a mart gate reads for ``suite`` (``gate_select_sql``). A table with a ``BUILT_AT`` column (an incremental
    mart, which keeps rows across builds) is validated on the rows built since the gate last passed with the same
    rules (``GATE_LOG``); after a full rebuild, a change of the rules or of the table's columns, every row is."""
    from expectations.suites.common import CANDIDATE_COLUMN, gate_select_sql

    rows = conn.execute(f"select count(*) from {suite.TABLE}").fetchone()[0]
    empty = conn.execute(f"select *, false as {CANDIDATE_COLUMN} from {suite.TABLE} limit 0").df()
    types = dict(conn.execute(f"select column_name, column_type from (describe {suite.TABLE})").fetchall())
    text_columns = [c for c, t in types.items() if t == "VARCHAR"]
    rules = suite.build(empty)
    fingerprint = hashlib.sha256(json.dumps(rules.to_json_dict()["expectations"], sort_keys=True, default=str)
                                 .encode()).hexdigest()
    whole = gate_select_sql(rules, suite.TABLE, list(types), text_columns)
    if BUILT_AT not in types:
        return GateRead(rows, whole, whole, fingerprint)
    built_through = conn.execute(f"select max({BUILT_AT}) from {suite.TABLE}").fetchone()[0]
    built_since = None
    if table_exists(conn, *GATE_LOG.split(".")):
        built_since = conn.execute(f"select max(built_through) from {GATE_LOG} where table_name = ? and suite_fingerprint = ?",
                                   [suite.TABLE, fingerprint]).fetchone()[0]
    if built_since is None:
        return GateRead(rows, whole, whole, fingerprint, None, built_through)
    recent = gate_select_sql(rules, suite.TABLE, list(types), text_columns,
                             where=f"{BUILT_AT} is null or {BUILT_AT} > timestamp '{built_since.isoformat(sep=' ')}'")
    return GateRead(rows, recent, whole, fingerprint, built_since, built_through)


def record_pass(conn: duckdb.DuckDBPyConnection, table: str, read: GateRead) -> None:
    """The rows built through ``read.built_through`` passed these rules: the next run validates newer ones only."""
    if read.built_through is not None:
        conn.execute(GATE_LOG_DDL)
        conn.execute(f"insert into {GATE_LOG} values (?, ?, ?, current_timestamp)",
                     [table, read.suite_fingerprint, read.built_through])


def validate_in_parts(warehouse: DuckDBResource, suite: Any, read: GateRead, part_rows: int = GATE_PART_ROWS,
                      docs_dir: Path | None = None) -> tuple[Any, int, int]:
    """The suite on the rows ``read`` selects, part by part (``_read_in_parts``): the merged outcome, the rows
    validated and the number of parts. Data Docs render the first part's page and the failed ones."""
    from expectations.runner import SuiteOutcome, validate

    outcomes, rows_validated = [], 0
    for frame in _read_in_parts(warehouse, read.query, suite.KEY, part_rows, read.whole_query):
        outcomes.append(validate(frame, suite.build(frame), key=suite.KEY, docs_dir=docs_dir,
                                 docs_only_if_failed=bool(outcomes)))
        rows_validated += len(frame)
        del frame
    return SuiteOutcome.merge(outcomes), rows_validated, len(outcomes)


def _build_mart_check(suite_name: str, asset_key: dg.AssetKey) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=asset_key,
        name=f"gx_{suite_name}",
        blocking=True,
        description=f"Great Expectations suite expectations/suites/{suite_name}.py; rules block, quarantine or warn.",
    )
    def _check(warehouse: DuckDBResource, paths: PlatformPaths) -> dg.AssetCheckResult:
        from expectations.runner import validate  # GX imports take seconds: only when the check runs
        from expectations.suites.common import row_count_near
        from orchestration.serving.publish import published_row_count

        suite = importlib.import_module(f"expectations.suites.{suite_name}")
        with warehouse.get_connection() as conn:
            read = gate_read(conn, suite)
        outcome, rows_validated, parts = validate_in_parts(warehouse, suite, read, docs_dir=paths.data_docs)
        previous = published_row_count(paths.serving, suite.TABLE)
        row_count = validate(pd.DataFrame(index=pd.RangeIndex(read.table_rows)), row_count_near(suite.TABLE, previous),
                             docs_dir=paths.data_docs)
        quarantined = _quarantine(warehouse, outcome, suite.TABLE, f"quarantine.{suite.TABLE.split('.')[1]}", suite.KEY) \
            if row_count.passed else 0
        if not outcome.blocking_failures and not row_count.blocking_failures:
            with warehouse.get_connection() as conn:
                record_pass(conn, suite.TABLE, read)
        return _result([outcome, row_count], rows_validated, quarantined, validated_in_parts=parts,
                       table_rows=read.table_rows,
                       rows_built_since=str(read.built_since) if read.built_since else "every row validated",
                       published_rows=dg.MetadataValue.int(previous) if previous is not None else "none yet")

    return _check


def run_landing_days(tags: dict[str, str]) -> tuple[str, str] | None:
    """The landing days a run loaded, from its partition tags (one day, or a backfill's range)."""
    if "dagster/partition" in tags:
        return tags["dagster/partition"], tags["dagster/partition"]
    start, end = tags.get("dagster/asset_partition_range_start"), tags.get("dagster/asset_partition_range_end")
    return (start, end) if start and end else None


def _build_raw_check(contract: ChannelContract) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=dg.AssetKey(contract.name),
        name=f"gx_raw_{contract.name}",
        blocking=True,
        description=f"Great Expectations suites derived from the {contract.name} contract (expectations/suites/raw.py): "
        "rows of the landing days this run loaded, and each day's volume against the days before it.",
    )
    def _check(context: dg.AssetCheckExecutionContext, warehouse: DuckDBResource, paths: PlatformPaths) -> dg.AssetCheckResult:
        from expectations.runner import validate
        from expectations.suites import raw

        days = run_landing_days(context.run.tags)
        with warehouse.get_connection() as conn:
            if days is None:  # a run without partitions (the check on its own): the latest landing day
                latest = conn.execute(f"select max(_partition) from raw.{contract.name}").fetchone()[0]
                if latest is None:
                    return dg.AssetCheckResult(passed=True, metadata={"rows_validated": 0, "note": "nothing landed yet"})
                days = (latest, latest)
            first_row_day = max(days[0], str(date.fromisoformat(days[1]) - timedelta(days=RAW_ROW_DAYS - 1)))
            rows = conn.execute(
                f"select * exclude (_extra) from raw.{contract.name} where _partition between ? and ?",
                [first_row_day, days[1]]).df()
            volume = conn.execute(raw.volume_sql(contract, *days)).df()
        rows_outcome = validate(rows, raw.build(contract), key=contract.key, docs_dir=paths.data_docs)
        volume_outcome = validate(volume, raw.build_volume(contract), key="landing_day", docs_dir=paths.data_docs)
        rows_validated = len(rows)
        del rows
        release_memory()
        quarantined = _quarantine(warehouse, rows_outcome, f"raw.{contract.name}", f"quarantine.{contract.name}",
                                  contract.key) if volume_outcome.passed else 0
        return _result([rows_outcome, volume_outcome], rows_validated, quarantined,
                       landing_days_validated=f"{first_row_day} .. {days[1]}",
                       volume_days_compared=len(volume))

    return _check


quality_checks = [
    *[_build_raw_check(contract) for contract in CONTRACTS.values()],
    *[_build_mart_check(name, key) for name, key in GATED_TABLES.items()],
]
