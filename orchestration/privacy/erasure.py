"""Erasure requests: remove a person from every table, keep an audit row.

Runs right after identity resolution, so a request that names one identifier
erases the whole customer the graph built around it (the email, and the phone,
loyalty id and devices linked to it). For each such customer:

- every identifier hash of the customer joins ``privacy.suppressed_identifiers``
  (keyed hashes only: they cannot be reversed without the key, and they are
  what keeps a re-ingested landing file from bringing the person back);
- in ``raw``, the personal and identifier columns (and kept extra columns) of
  the customer's records are set to NULL; facts such as amounts stay, so
  totals still add up but no longer point to anyone; a row scrubbed now gets
  a new ``_loaded_at``, so the next night stages it again from the scrubbed
  row (staging is incremental, and derives columns such as ``has_comment``
  that the hash scrub below does not touch);
- ``quarantine`` rows whose raw text holds one of those raw values lose the text; CLV scores a
  gate quarantined for the customer are deleted;
- in ``staging``, rows holding a suppressed hash lose every hash column at once; in
  ``intermediate``, ``identity`` and ``marts`` (where incremental models such
  as ``sessions`` keep rows across runs) such rows are deleted; the customer_id
  is marked ``erased`` in the registry;
- the request's own identifier value is cleared in ``raw.privacy_requests``.

``privacy.erasure_log`` keeps one row per request: its id, dates and counts.
The whole suppression list is applied on every run, because the landing zone
belongs to the source systems and may deliver the same history again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from orchestration.identity.resolve import CUSTOMER_CHANGES_DDL
from orchestration.ingest.contracts import CONTRACTS
from orchestration.warehouse import table_exists

SCRUBBED_SCHEMAS = ("staging", "intermediate", "identity", "marts")
# Rows holding an erased person's hash are deleted here; in staging they stay with the hashes cleared (the facts
# still count, anonymously). Marts are rebuilt after erasure, but incremental ones (sessions) keep their rows.
DELETE_ROWS_IN = ("identity", "marts")
MIN_RAW_VALUE_LENGTH = 4  # shorter raw values are not searched for in quarantined text


@dataclass(frozen=True)
class ErasureResult:
    new_requests: int
    customers_erased: int
    identifiers_suppressed: int
    raw_rows_scrubbed: int
    quarantine_rows_scrubbed: int


def apply_erasures(
    conn: duckdb.DuckDBPyConnection,
    requests: str = "staging.stg_privacy__requests",
    run_at: datetime | None = None,
) -> ErasureResult:
    run_at = run_at or datetime.now()
    conn.execute(
        """create schema if not exists privacy;
        create table if not exists privacy.suppressed_identifiers (identifier_type VARCHAR, identifier_hash VARCHAR,
            request_id VARCHAR, suppressed_at TIMESTAMP);
        create table if not exists privacy.erasure_log (request_id VARCHAR, requested_at TIMESTAMP,
            processed_at TIMESTAMP, customers_erased INTEGER, identifiers_suppressed INTEGER)"""
    )
    conn.execute("begin transaction")
    try:
        result = _apply(conn, requests, run_at)
        conn.execute("commit")
    except Exception:
        conn.execute("rollback")
        raise
    return result


def _apply(conn: duckdb.DuckDBPyConnection, requests: str, run_at: datetime) -> ErasureResult:
    # New requests, and the customers their identifier belongs to in today's graph.
    conn.execute(
        f"""create or replace temp table new_requests as
        select request_id, min(requested_at) as requested_at, any_value(identifier_type) as identifier_type,
               any_value(identifier_hash) as identifier_hash
        from {requests}
        where request_type = 'erasure' and identifier_hash is not null
          and request_id not in (select request_id from privacy.erasure_log)
        group by request_id;
        create or replace temp table request_customers as
        select r.request_id, ic.customer_id
        from new_requests r join identity.identifier_customers ic
          on ic.identifier_type = r.identifier_type and ic.identifier_hash = r.identifier_hash"""
    )
    conn.execute(
        """insert into privacy.suppressed_identifiers
        select distinct s.identifier_type, s.identifier_hash, s.request_id, ? from (
            select r.request_id, ic.identifier_type, ic.identifier_hash
            from request_customers r join identity.identifier_customers ic using (customer_id)
            union all
            select request_id, identifier_type, identifier_hash from new_requests
        ) as s
        where not exists (select 1 from privacy.suppressed_identifiers p
                          where p.identifier_type = s.identifier_type and p.identifier_hash = s.identifier_hash)""",
        [run_at],
    )
    conn.execute(
        """insert into privacy.erasure_log
        select r.request_id, r.requested_at, ?, count(distinct rc.customer_id),
               (select count(*) from privacy.suppressed_identifiers p where p.request_id = r.request_id)
        from new_requests r left join request_customers rc using (request_id)
        group by r.request_id, r.requested_at""",
        [run_at],
    )
    # Every customer and record that still carries a suppressed identifier, old requests included.
    conn.execute(
        """create or replace temp table erased_customers as
        select distinct ic.customer_id from identity.identifier_customers ic
        join privacy.suppressed_identifiers p using (identifier_type, identifier_hash);
        create or replace temp table erased_records as
        select distinct source_channel, record_id from identity.record_customers
        where customer_id in (select customer_id from erased_customers)
        union
        select distinct o.source_channel, o.record_id from intermediate.int_identifier_occurrences o
        join privacy.suppressed_identifiers p using (identifier_type, identifier_hash)"""
    )
    raw_rows, quarantine_rows = _scrub_raw(conn, run_at)
    _scrub_derived(conn, run_at)
    conn.execute(
        """update raw.privacy_requests set identifier_value = null, _loaded_at = ?
        where request_type = 'erasure' and identifier_value is not null
          and request_id in (select request_id from privacy.erasure_log)""",
        [run_at],
    )
    new, customers, suppressed = conn.execute(
        """select (select count(*) from new_requests), (select count(*) from erased_customers),
                  (select count(*) from privacy.suppressed_identifiers where suppressed_at = ?)""",
        [run_at],
    ).fetchall()[0]
    for table in ("new_requests", "request_customers", "erased_customers", "erased_records", "erased_values"):
        conn.execute(f"drop table if exists {table}")
    return ErasureResult(new, customers, suppressed, raw_rows, quarantine_rows)


def _scrub_raw(conn: duckdb.DuckDBPyConnection, run_at: datetime) -> tuple[int, int]:
    """NULL the personal and identifier columns of erased records, and references to them in others' records;
    blank quarantined text that holds their values."""
    channels = {
        channel: contract for channel, contract in CONTRACTS.items()
        if channel != "privacy_requests" and table_exists(conn, "raw", channel)
    }
    own_records = {
        channel: f"cast({contract.key} as varchar) in "
        f"(select record_id from erased_records where source_channel = '{channel}')"
        for channel, contract in channels.items()
    }
    erasable = {
        channel: [c.name for c in contract.columns if c.personal or c.identifier] for channel, contract in channels.items()
    }
    conn.execute("create or replace temp table erased_values (value VARCHAR)")
    for channel in channels:
        for column in erasable[channel]:
            conn.execute(
                f"""insert into erased_values select distinct lower(trim(cast({column} as varchar))) from raw.{channel}
                where {own_records[channel]} and length(trim(cast({column} as varchar))) >= {MIN_RAW_VALUE_LENGTH}"""
            )
    raw_rows = 0
    for channel, contract in channels.items():
        columns = [*erasable[channel], "_extra"]
        still_held = " or ".join(f"{c} is not null" for c in columns)  # rows scrubbed on an earlier run stay as they are
        raw_rows += conn.execute(
            f"update raw.{channel} set {', '.join(f'{c} = null' for c in columns)}, _loaded_at = ? "
            f"where {own_records[channel]} and ({still_held})", [run_at]
        ).fetchall()[0][0]
        for column in [c.name for c in contract.columns if c.refers_to]:
            conn.execute(
                f"update raw.{channel} set {column} = null, _loaded_at = ? "
                f"where lower(trim({column})) in (select value from erased_values)", [run_at]
            )
    quarantine_rows = 0
    for channel in CONTRACTS:
        if table_exists(conn, "quarantine", channel):
            quarantine_rows += conn.execute(
                f"""update quarantine.{channel} set raw_record = null, reason = reason || ' [raw text erased]'
                where raw_record is not null
                  and exists (select 1 from erased_values v where contains(lower(raw_record), v.value))"""
            ).fetchall()[0][0]
    return raw_rows, quarantine_rows


def _scrub_derived(conn: duckdb.DuckDBPyConnection, run_at: datetime) -> None:
    """Hashes of erased people leave staging, intermediate, identity and mart tables.

    A row holding one of their hashes is theirs: it loses every hash column (its
    name hash too). A reference column (a referrer's account) belongs to someone
    else's row: only that column is cleared.
    """
    conn.execute(
        """update identity.customer_registry set status = 'erased', updated_at = ?
        where customer_id in (select customer_id from erased_customers)""",
        [run_at],
    )
    conn.execute("delete from identity.record_customers where customer_id in (select customer_id from erased_customers)")
    conn.execute(CUSTOMER_CHANGES_DDL)  # their rows in incremental marts lose the customer id
    conn.execute("insert or replace into identity.customer_changes select customer_id, ? from erased_customers", [run_at])
    if table_exists(conn, "quarantine", "customer_clv"):  # scores a gate set aside (docs/quality.md)
        conn.execute("""delete from quarantine.customer_clv where json_extract_string(raw_record, '$.customer_id')
                        in (select customer_id from erased_customers)""")
    references = {f"{c.name}_hash" for contract in CONTRACTS.values() for c in contract.columns if c.refers_to}
    suppressed = "(select identifier_hash from privacy.suppressed_identifiers)"
    schemas = ", ".join(f"'{s}'" for s in SCRUBBED_SCHEMAS)
    tables = conn.execute(
        f"""select table_schema, table_name, list(column_name order by ordinal_position)
        from information_schema.columns
        where table_schema in ({schemas}) and table_catalog = current_database()
          and (column_name like '%\\_hash' escape '\\' or column_name in ('identifier_node', 'linked_to_node'))
          and table_name in (select table_name from information_schema.tables
                             where table_type = 'BASE TABLE' and table_schema in ({schemas}))
        group by all"""
    ).fetchall()
    for schema, table, columns in tables:
        own = [c for c in columns if c not in references]
        hit = " or ".join(
            f"split_part({c}, ':', 2) in {suppressed}" if c.endswith("_node") else f"{c} in {suppressed}" for c in own
        )
        if not own:
            pass  # only references to other people (orders.referrer_account_id_hash): cleared below
        elif schema in DELETE_ROWS_IN or table.startswith("int_"):
            conn.execute(f"delete from {schema}.{table} where {hit}")
        else:
            conn.execute(f"update {schema}.{table} set {', '.join(f'{c} = null' for c in own)} where {hit}")
        for column in set(columns) & references:
            conn.execute(f"update {schema}.{table} set {column} = null where {column} in {suppressed}")
