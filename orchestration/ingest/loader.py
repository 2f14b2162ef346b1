"""Load one day of one channel's landing files into ``raw.<channel>``.

The whole day is parsed and validated in DuckDB before anything is written;
then, in one transaction, that partition's old rows are replaced. So a re-run
replaces exactly its partition, and a file that cannot be read at all fails
the partition with a clear message while what was loaded before stays.

Rows that break the contract go to ``quarantine.<channel>`` with file, line,
raw content and every reason; the good rows of the same file still load.
Columns the contract does not know are kept as JSON in ``_extra``.
"""

from __future__ import annotations

import csv
import gzip
import json
import os
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa

from orchestration.ingest.contracts import (
    EARLIEST_TIMESTAMP,
    LATEST_TIMESTAMP_SLACK_DAYS,
    ChannelContract,
    Column,
)

SQL_TYPES = {"string": "VARCHAR", "integer": "BIGINT", "decimal": "DECIMAL(18,2)", "timestamp": "TIMESTAMP", "boolean": "BOOLEAN"}
LINEAGE_COLUMNS = ("_extra", "_source_file", "_source_line", "_partition", "_loaded_at")
DUPLICATE_ACROSS_DAYS = "duplicate_key_other_partition"
QUARANTINE_COLUMNS = ("_partition VARCHAR, source_file VARCHAR, source_line BIGINT, raw_record VARCHAR, "
                      "reason VARCHAR, quarantined_at TIMESTAMP")
# Days of a backfill validated and written together: fewer, larger statements (about 1 GiB of staged rows per
# batch for the clickstream at a million customers).
BACKFILL_BATCH_DAYS = 14
SUFFIXES = {".csv": "csv", ".csv.gz": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
            ".jsonl.gz": "jsonl", ".ndjson.gz": "jsonl", ".parquet": "parquet"}


class FileRejected(Exception):
    """A whole file cannot be used: unreadable, corrupt, or missing a required column."""


@dataclass
class PartitionLoad:
    channel: str
    partition: str
    files: list[str] = field(default_factory=list)
    empty_files: list[str] = field(default_factory=list)
    extra_columns: list[str] = field(default_factory=list)
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    quarantined: Counter[str] = field(default_factory=Counter)  # per reason; a row may have several


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def ensure_tables(conn: duckdb.DuckDBPyConnection, contract: ChannelContract) -> None:
    conn.execute("create schema if not exists raw")
    conn.execute("create schema if not exists quarantine")
    cols = ", ".join(f"{q(c.name)} {SQL_TYPES[c.type]}" for c in contract.columns)
    conn.execute(
        f"create table if not exists raw.{contract.name} ({cols}, _extra JSON, _source_file VARCHAR, "
        "_source_line BIGINT, _partition VARCHAR, _loaded_at TIMESTAMP)"
    )
    conn.execute(f"create table if not exists quarantine.{contract.name} ({QUARANTINE_COLUMNS})")


def source_settings(channel_dir: Path, contract: ChannelContract) -> dict[str, str]:
    """Per-source settings (``_source.json`` beside the day folders), e.g. {"encoding": "gb18030", "delimiter": ";"}."""
    settings = {"encoding": contract.default_encoding, "delimiter": ","}
    path = channel_dir / "_source.json"
    if path.exists():
        settings.update(json.loads(path.read_text(encoding="utf-8")))
    return settings


def file_format(path: Path) -> str:
    name = path.name.lower()
    for suffix in sorted(SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return SUFFIXES[suffix]
    raise FileRejected(f"{path}: unknown file type (expected one of {', '.join(sorted(SUFFIXES))})")


def landing_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith((".", "_")))


def landed_day_files(channel_dir: Path) -> dict[str, list[Path]]:
    """Day folder name -> its landing files, for the days of a channel that hold any (an empty folder has not landed)."""
    if not channel_dir.is_dir():
        return {}
    return {day.name: files for day in channel_dir.iterdir() if day.is_dir() and (files := landing_files(day))}


def load_partition(
    conn: duckdb.DuckDBPyConnection,
    contract: ChannelContract,
    landing_dir: Path,
    partition: str,
    now: datetime | None = None,
) -> PartitionLoad:
    """Replace partition ``partition`` (YYYY-MM-DD) of ``raw.<channel>`` with its landing files."""
    return load_partitions(conn, contract, landing_dir, [partition], now)[0]


def load_backfill(
    conn: duckdb.DuckDBPyConnection,
    contract: ChannelContract,
    landing_dir: Path,
    partitions: list[str],
    now: datetime | None = None,
    batch_days: int = BACKFILL_BATCH_DAYS,
) -> list[PartitionLoad]:
    """Replace many days: in batches of ``batch_days`` (``load_partitions``), keys compared with days outside
    the range as each batch loads, then the range's own days with each other in one pass at the end
    (``quarantine_duplicates_across_days``), not one scan of the growing table per day."""
    days = sorted(partitions)
    if len(days) < 2:
        return [load_partition(conn, contract, landing_dir, day, now) for day in days]
    backfill = (days[0], days[-1])
    loads: list[PartitionLoad] = []
    for start in range(0, len(days), batch_days):
        loads += load_partitions(conn, contract, landing_dir, days[start:start + batch_days], now, backfill)
    later = quarantine_duplicates_across_days(conn, contract, *backfill, now)
    for load in loads:
        moved = later.get(load.partition, 0)
        load.rows_loaded -= moved
        load.rows_quarantined += moved
        if moved:
            load.quarantined[f"{DUPLICATE_ACROSS_DAYS}:{contract.key}"] += moved
    return loads


def load_partitions(
    conn: duckdb.DuckDBPyConnection,
    contract: ChannelContract,
    landing_dir: Path,
    partitions: list[str],
    now: datetime | None = None,
    backfill: tuple[str, str] | None = None,
) -> list[PartitionLoad]:
    """Replace several days at once: each day is staged and checked as ``load_partition`` does, and the
    batch is validated and written in one transaction (a backfill's fixed cost per statement is paid
    once per batch, not once per day). ``backfill`` (first, last day) compares keys with days outside
    that range only; keys repeated inside it are found by ``quarantine_duplicates_across_days``."""
    if len(partitions) > 1 and backfill is None:
        raise ValueError("loading several days at once needs the backfill range they belong to")
    now = now or datetime.now()
    channel_dir = Path(landing_dir) / contract.name
    settings = source_settings(channel_dir, contract)
    ensure_tables(conn, contract)
    conn.execute("drop table if exists _batch_stage; drop table if exists _batch_rejects")
    conn.execute(
        "create temp table _batch_stage (_partition VARCHAR, _record JSON, _source_file VARCHAR, _source_line BIGINT); "
        "create temp table _batch_rejects (_partition VARCHAR, source_file VARCHAR, source_line BIGINT, "
        "raw_record VARCHAR, reason VARCHAR)"
    )
    results = []
    for partition in partitions:
        result = PartitionLoad(contract.name, partition)
        conn.execute("drop table if exists _stage; drop table if exists _rejects")
        conn.execute(
            "create temp table _stage (_record JSON, _source_file VARCHAR, _source_line BIGINT); "
            "create temp table _rejects (source_file VARCHAR, source_line BIGINT, raw_record VARCHAR, reason VARCHAR)"
        )
        extras: set[str] = set()
        for path in landing_files(channel_dir / partition):
            result.files.append(path.name)
            if _is_empty(path):
                result.empty_files.append(path.name)
                continue
            try:
                extras |= _stage_file(conn, contract, path, settings["encoding"], settings["delimiter"])
            except (duckdb.IOException, duckdb.InvalidInputException, duckdb.ConversionException, OSError, UnicodeError, EOFError) as exc:
                raise FileRejected(f"{path}: cannot be read ({type(exc).__name__}: {exc})") from exc
        result.extra_columns = sorted(extras)
        conn.execute("insert into _batch_stage select ?, * from _stage", [partition])
        conn.execute("insert into _batch_rejects select ?, * from _rejects", [partition])
        results.append(result)
    conn.execute("drop table if exists _stage; drop table if exists _rejects")
    _validate_and_replace(conn, contract, now, results, backfill)
    return results


def _is_empty(path: Path) -> bool:
    if path.stat().st_size == 0:
        return True
    if path.name.endswith(".gz"):
        try:
            with gzip.open(path, "rb") as fh:
                return not fh.read(1)
        except (OSError, EOFError) as exc:
            raise FileRejected(f"{path}: corrupt gzip file ({exc})") from exc
    return False


def _stage_file(
    conn: duckdb.DuckDBPyConnection, contract: ChannelContract, path: Path, encoding: str, delimiter: str = ","
) -> set[str]:
    """Parse one file into ``_stage`` as one JSON object of strings per record; return its extra columns."""
    fmt = file_format(path)
    source = str(path)
    line_map: list[int] | None = None
    read_path = path
    tmp: Path | None = None
    if fmt != "parquet" and encoding.lower().replace("_", "-") not in ("utf-8", "utf8"):
        tmp, line_map, bad_lines = _transcode(path, encoding)
        read_path = tmp
        _insert_arrow(conn, "_rejects", {
            "source_file": [path.name] * len(bad_lines),
            "source_line": [line for line, _ in bad_lines],
            "raw_record": [raw for _, raw in bad_lines],
            "reason": [f"invalid_encoding:{encoding}"] * len(bad_lines),
        })
    try:
        if fmt == "csv":
            header = _csv_header(read_path, delimiter)
            columns = [h.lstrip("\ufeff").strip() for h in header]
            _check_required(contract, columns, source)
            column_types = "{" + ", ".join(f"{_sql_str(h)}: 'VARCHAR'" for h in header) + "}"
            conn.execute(
                f"create or replace temp table _file as select * from read_csv(?, header=true, auto_detect=false, "
                f"columns={column_types}, delim={_sql_str(delimiter)}, quote='\"', escape='\"', "
                "store_rejects=true, rejects_table='_csv_rejects', rejects_scan='_csv_scans')",
                [str(read_path)],
            )
            renamed = ", ".join(f"{q(h)} as {q(c)}" for h, c in zip(header, columns, strict=True))
            conn.execute(f"create or replace temp table _file as select rowid as _row, {renamed} from _file")
            conn.execute(
                # DuckDB records one reject per broken column; one quarantine row per line.
                "insert into _rejects select ?, line, any_value(csv_line), 'malformed_row:' || "
                "string_agg(distinct lower(replace(error_type, ' ', '_')), ',') from _csv_rejects group by line",
                [path.name],
            )
            conn.execute("drop table if exists _csv_rejects; drop table if exists _csv_scans")
            first_line = 2
        elif fmt == "jsonl":
            conn.execute(
                "create or replace temp table _lines as select line from read_csv(?, header=false, "
                "columns={'line': 'VARCHAR'}, delim='\x1e', quote='', escape='', auto_detect=false)",
                [str(read_path)],
            )
            conn.execute("create or replace temp table _lines as select rowid as _row, line from _lines")
            conn.execute(
                "insert into _rejects select ?, _row + 1, line, 'invalid_json' from _lines "
                "where not coalesce(json_valid(line), false) or json_type(line) <> 'OBJECT'",
                [path.name],
            )
            keys = {r[0] for r in conn.execute(
                "select distinct unnest(json_keys(line)) from _lines where json_valid(line) and json_type(line) = 'OBJECT'"
            ).fetchall()}
            _check_required(contract, list(keys), source, per_row=True)
            columns = sorted(keys)
            selected = ", ".join(f"line->>{_json_path(c)} as {q(c)}" for c in columns)
            conn.execute(
                f"create or replace temp table _file as select _row{', ' + selected if selected else ''} from _lines "
                "where json_valid(line) and json_type(line) = 'OBJECT'"
            )
            first_line = 1
        else:
            columns = [r[0] for r in conn.execute("describe select * from read_parquet(?)", [str(path)]).fetchall()]
            _check_required(contract, columns, source)
            casted = ", ".join(f"cast({q(c)} as VARCHAR) as {q(c)}" for c in columns)
            conn.execute(
                f"create or replace temp table _file as select row_number() over () - 1 as _row, {casted} "
                "from read_parquet(?)",
                [str(path)],
            )
            first_line = 1
        if line_map is not None:
            conn.execute("create or replace temp table _line_map (out_line BIGINT, orig_line BIGINT)")
            _insert_arrow(conn, "_line_map", {"out_line": list(range(1, len(line_map) + 1)), "orig_line": line_map})
            line_expr = f"(select orig_line from _line_map where out_line = _row + {first_line})"
            conn.execute(
                "update _rejects set source_line = (select orig_line from _line_map where out_line = source_line) "
                "where source_file = ? and reason not like 'invalid_encoding:%'",
                [path.name],
            )
        else:
            line_expr = f"_row + {first_line}"
        struct = ", ".join(f"{_sql_str(c)}: {q(c)}" for c in columns)
        conn.execute(
            f"insert into _stage select to_json({{{struct}}}), ?, {line_expr} from _file order by _row", [path.name]
        )
        conn.execute("drop table if exists _file; drop table if exists _lines; drop table if exists _line_map")
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
    return set(columns) - set(contract.column_names)


def _open(path: Path, mode: str, **kwargs: object):  # noqa: ANN202
    """Open a landing file, decompressing ``*.gz`` transparently."""
    return (gzip.open if path.name.endswith(".gz") else open)(path, mode, **kwargs)  # type: ignore[operator]


def _csv_header(path: Path, delimiter: str) -> list[str]:
    """The header row, read by Python's csv module: no sniffing, so a messy file cannot fool it."""
    with _open(path, "rt", encoding="utf-8-sig", errors="strict", newline="") as fh:
        header = next(csv.reader(fh, delimiter=delimiter), [])
    if not header or not any(h.strip() for h in header):
        raise FileRejected(f"{path}: no header row")
    return header


def _insert_arrow(conn: duckdb.DuckDBPyConnection, table: str, columns: dict[str, list]) -> None:
    if not next(iter(columns.values())):
        return
    conn.register("_arrow_rows", pa.table(columns))
    conn.execute(f"insert into {table} by name select * from _arrow_rows")
    conn.unregister("_arrow_rows")


def _transcode(path: Path, encoding: str) -> tuple[Path, list[int], list[tuple[int, str]]]:
    """Re-encode a declared non-UTF-8 text file to UTF-8, streaming line by line.

    Lines with bytes that are invalid in the declared encoding are left out and
    returned (line number, escaped content) for quarantine; ``line_map`` maps each
    output line to its line in the original file.
    """
    fd, name = tempfile.mkstemp(suffix=".utf8" + ("".join(path.suffixes).replace(".gz", "") or ".txt"))
    line_map: list[int] = []
    bad: list[tuple[int, str]] = []
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as out, _open(path, "rb") as src:
        for number, raw in enumerate(src, start=1):
            try:
                text = raw.decode(encoding)
            except UnicodeDecodeError:
                bad.append((number, raw.decode(encoding, errors="backslashreplace").rstrip("\r\n")))
                continue
            if number == 1:
                text = text.lstrip("\ufeff")
            out.write(text)
            line_map.append(number)
    return Path(name), line_map, bad


def _check_required(contract: ChannelContract, columns: list[str], source: str, per_row: bool = False) -> None:
    missing = [c for c in contract.required_columns if c not in columns]
    if missing and not (per_row and not columns):
        raise FileRejected(
            f"{source}: missing required column{'s' if len(missing) > 1 else ''} "
            + ", ".join(repr(m) for m in missing)
            + f" for channel {contract.name}"
        )


def _json_path(column: str) -> str:
    return _sql_str('$."' + column.replace('"', '\\"') + '"')


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _field(column: str) -> str:
    """The column's text from the staged JSON record, blank treated as missing."""
    return f"nullif(trim(_record->>{_json_path(column)}), '')"


def _typed(c: Column) -> str:
    value = _field(c.name)
    if c.type == "string":
        return f"lower({value})" if c.allowed else f"_record->>{_json_path(c.name)}"
    if c.type == "boolean":
        return f"try_cast(lower({value}) as BOOLEAN)"
    return f"try_cast({value} as {SQL_TYPES[c.type]})"


def _reasons(c: Column, now: datetime) -> list[str]:
    value, typed, name = _field(c.name), _typed(c), c.name
    checks: list[str] = []
    if c.required:
        checks.append(f"case when {value} is null then 'missing_required:{name}' end")
    if c.type != "string":
        checks.append(f"case when {value} is not null and {typed} is null then 'wrong_type:{name}' end")
    if c.type == "timestamp":
        latest = (now + timedelta(days=LATEST_TIMESTAMP_SLACK_DAYS)).strftime("%Y-%m-%d %H:%M:%S")
        checks.append(
            f"case when {typed} < TIMESTAMP '{EARLIEST_TIMESTAMP}' or {typed} > TIMESTAMP '{latest}' "
            f"then 'impossible_date:{name}' end"
        )
    if c.minimum is not None:
        checks.append(f"case when {typed} < {c.minimum} then 'below_minimum:{name}' end")
    if c.maximum is not None:
        checks.append(f"case when {typed} > {c.maximum} then 'above_maximum:{name}' end")
    if c.allowed:
        allowed = ", ".join(_sql_str(a) for a in c.allowed)
        checks.append(f"case when {value} is not null and lower({value}) not in ({allowed}) then 'unknown_value:{name}' end")
    return checks


def _validate_and_replace(
    conn: duckdb.DuckDBPyConnection,
    contract: ChannelContract,
    now: datetime,
    results: list[PartitionLoad],
    backfill: tuple[str, str] | None = None,
) -> None:
    name, key = contract.name, contract.key
    partitions = [r.partition for r in results]
    checks = [check for c in contract.columns for check in _reasons(c, now)]
    ids = contract.identifier_columns
    if contract.require_any_identifier and ids:
        none = " and ".join(f"{_field(col)} is null" for col in ids)
        checks.append(f"case when {none} then 'missing_identifier' end")
    checks.append(
        f"case when row_number() over (partition by _partition, {_field(key)} order by _source_file, _source_line) > 1 "
        f"and {_field(key)} is not null then 'duplicate_key_in_partition:{key}' end"
    )
    if backfill:  # the keys of days outside the backfill, collected once for all its days
        outside = _keys_outside(name, backfill)
        conn.execute(
            f"create temp table if not exists {outside} as select distinct {q(key)} from raw.{name} "
            "where _partition < ? or _partition > ?", list(backfill))
        other_keys = f"select {q(key)} from {outside}"
    else:
        others = ", ".join(_sql_str(p) for p in partitions)
        other_keys = f"select {q(key)} from raw.{name} where _partition not in ({others})"
    checks.append(
        f"case when {_field(key)} in ({other_keys}) then '{DUPLICATE_ACROSS_DAYS}:{key}' end"
    )
    conn.execute(
        f"create or replace temp table _checked as select *, concat_ws('; ', {', '.join(checks)}) as _reason "
        "from _batch_stage"
    )
    typed_cols = ", ".join(f"{_typed(c)} as {q(c.name)}" for c in contract.columns)
    extras = [(r.partition, _extra_expression(r.extra_columns)) for r in results if r.extra_columns]
    extra_expr = ("case _partition " + " ".join(f"when {_sql_str(p)} then {e}" for p, e in extras)
                  + " else cast(null as JSON) end") if extras else "cast(null as JSON)"
    days = ", ".join(_sql_str(p) for p in partitions)
    conn.execute("begin transaction")
    try:
        conn.execute(f"delete from raw.{name} where _partition in ({days})")
        conn.execute(f"delete from quarantine.{name} where _partition in ({days})")
        conn.execute(
            f"insert into raw.{name} select {typed_cols}, {extra_expr}, _source_file, _source_line, _partition, ? "
            "from _checked where _reason = ''",
            [now],
        )
        conn.execute(
            f"insert into quarantine.{name} select _partition, _source_file, _source_line, _record, _reason, ? "
            "from _checked where _reason <> ''",
            [now],
        )
        conn.execute(f"insert into quarantine.{name} select _partition, source_file, source_line, raw_record, reason, ? "
                     "from _batch_rejects", [now])
        conn.execute("commit")
    except Exception:
        conn.execute("rollback")
        raise
    by_day = {r.partition: r for r in results}
    for day, loaded, staged in conn.execute(
        "select _partition, count(*) filter (where _reason = ''), count(*) from _checked group by 1"
    ).fetchall():
        by_day[day].rows_loaded, by_day[day].rows_read = int(loaded), int(staged)
    for day, reason, n in conn.execute(
        "select _partition, r, count(*) from (select _partition, unnest(string_split(_reason, '; ')) as r "
        "from _checked where _reason <> '') group by all "
        "union all select _partition, reason, count(*) from _batch_rejects group by all"
    ).fetchall():
        by_day[day].quarantined[str(reason)] += int(n)
    for day, rejected in conn.execute("select _partition, count(*) from _batch_rejects group by 1").fetchall():
        by_day[day].rows_read += int(rejected)
    for result in results:
        result.rows_quarantined = result.rows_read - result.rows_loaded
    conn.execute("drop table if exists _checked; drop table if exists _batch_stage; drop table if exists _batch_rejects")


def quarantine_duplicates_across_days(
    conn: duckdb.DuckDBPyConnection, contract: ChannelContract, first: str, last: str, now: datetime | None = None
) -> Counter[str]:
    """After a backfill of [first, last]: a key that several of its days hold stays on its earliest day;
    the later days' rows move to quarantine (as a day-by-day load would have put them). Rows per day."""
    name, key = contract.name, q(contract.key)
    now = now or datetime.now()
    conn.execute(
        f"""create or replace temp table _later as
            select rowid as row_id, _partition from (
                select rowid, _partition, min(_partition) over (partition by {key}) as first_day
                from raw.{name} where _partition between ? and ? and {key} is not null)
            where _partition <> first_day""", [first, last])
    moved = Counter({str(day): int(n) for day, n in conn.execute(
        "select _partition, count(*) from _later group by 1").fetchall()})
    if moved:
        conn.execute("begin transaction")
        try:
            conn.execute(
                f"insert into quarantine.{name} select r._partition, r._source_file, r._source_line, "
                f"cast(to_json(r) as varchar), ?, ? from raw.{name} r semi join _later l on r.rowid = l.row_id",
                [f"{DUPLICATE_ACROSS_DAYS}:{contract.key}", now])
            conn.execute(f"delete from raw.{name} where rowid in (select row_id from _later)")
            conn.execute("commit")
        except Exception:
            conn.execute("rollback")
            raise
    conn.execute("drop table if exists _later")
    conn.execute(f"drop table if exists {_keys_outside(name, (first, last))}")
    return moved


def _keys_outside(channel: str, backfill: tuple[str, str]) -> str:
    """The temp table of keys a channel holds outside a backfill's days."""
    return f"_keys_outside_{channel}_{backfill[0]}_{backfill[1]}".replace("-", "")


def _extra_expression(extra_columns: list[str]) -> str:
    if not extra_columns:
        return "cast(null as JSON)"
    pairs = ", ".join(f"{_sql_str(c)}, _record->{_json_path(c)}" for c in extra_columns)
    return f"nullif(json_object({pairs})::VARCHAR, '{{}}')::JSON"
