"""Ingest: every kind of bad input is quarantined with a reason or rejects the file, and good rows survive."""

from __future__ import annotations

import gzip
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from orchestration.ingest.contracts import CONTRACTS
from orchestration.ingest.loader import (
    FileRejected,
    load_backfill,
    load_partition,
    load_partitions,
    next_batch_days,
    quarantine_duplicates_across_days,
)

POS = CONTRACTS["pos_transactions"]
HEADER = "transaction_id,store_id,occurred_at,transaction_type,loyalty_id,phone,customer_name,amount,items,payment_method\n"
GOOD = "T1,S001,2026-10-01 10:00:00,sale,L1,,Anne,10.50,1,card\n"


def _write(landing: Path, day: str, name: str, content: str | bytes, channel: str = "pos_transactions") -> Path:
    folder = landing / channel / day
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


@pytest.fixture
def conn() -> duckdb.DuckDBPyConnection:
    return duckdb.connect()


def test_each_bad_row_is_quarantined_with_its_reason(tmp_path: Path, conn: duckdb.DuckDBPyConnection) -> None:
    rows = [
        GOOD,
        "T2,S001,2026-10-01 10:00:00,sale,L2,,Bob,twelve,1,card\n",  # wrong type
        ",S001,2026-10-01 10:00:00,sale,L3,,Cy,1.00,1,card\n",  # missing required id
        "T4,S001,2026-02-30 10:00:00,sale,L4,,Di,1.00,1,card\n",  # impossible date
        "T5,S001,2199-01-01 00:00:00,sale,L5,,Ed,1.00,1,card\n",  # far future
        "T6,S001,2026-10-01 10:00:00,sale,L6,,Flo,-4.00,1,card\n",  # negative
        "T7,S001,2026-10-01 10:00:00,sale,L7,,Gus,9999999.00,1,card\n",  # absurd
        "T8,S001,2026-10-01 10:00:00,gift,L8,,Hal,1.00,1,card\n",  # unknown enum
        "T1,S001,2026-10-01 11:00:00,sale,L1,,Anne,10.50,1,card\n",  # duplicate id in the file
        'T9,S001,2026-10-01 10:00:00,sale,L9,,"O\'Brien, ""Bob""); DROP TABLE x;-- 🙂",3.00,1,card\n',  # awkward name: good
        "T10,S001,2026-10-01 10:00:00,sale,L10\n",  # too few columns
    ]
    _write(tmp_path, "2026-10-01", "a.csv", HEADER + "".join(rows))
    load = load_partition(conn, POS, tmp_path, "2026-10-01")
    assert load.rows_loaded == 2
    assert load.rows_read == len(rows)
    reasons = dict(load.quarantined)
    for expected in ["wrong_type:amount", "missing_required:transaction_id", "wrong_type:occurred_at",
                     "impossible_date:occurred_at", "below_minimum:amount", "above_maximum:amount",
                     "unknown_value:transaction_type", "duplicate_key_in_partition:transaction_id",
                     "malformed_row:missing_columns"]:
        assert expected in reasons, expected
    name = conn.execute("select customer_name from raw.pos_transactions where transaction_id = 'T9'").fetchone()[0]
    assert name == "O'Brien, \"Bob\"); DROP TABLE x;-- 🙂"
    q = conn.execute("select source_file, source_line, raw_record from quarantine.pos_transactions where reason like 'wrong_type:amount%'").fetchone()
    assert q[0] == "a.csv" and q[1] == 3 and "twelve" in q[2]


def test_reload_replaces_exactly_the_partition(tmp_path: Path, conn: duckdb.DuckDBPyConnection) -> None:
    _write(tmp_path, "2026-10-01", "a.csv", HEADER + GOOD)
    _write(tmp_path, "2026-10-02", "a.csv", HEADER + GOOD.replace("T1", "T2").replace("10-01", "10-02"))
    load_partition(conn, POS, tmp_path, "2026-10-01")
    load_partition(conn, POS, tmp_path, "2026-10-02")
    before = conn.execute("select * exclude (_loaded_at) from raw.pos_transactions order by 1").fetchall()
    load_partition(conn, POS, tmp_path, "2026-10-01")
    after = conn.execute("select * exclude (_loaded_at) from raw.pos_transactions order by 1").fetchall()
    assert before == after and len(after) == 2


def test_duplicate_id_across_days_is_quarantined(tmp_path: Path, conn: duckdb.DuckDBPyConnection) -> None:
    _write(tmp_path, "2026-10-01", "a.csv", HEADER + GOOD)
    _write(tmp_path, "2026-10-02", "a.csv", HEADER + GOOD)
    load_partition(conn, POS, tmp_path, "2026-10-01")
    load = load_partition(conn, POS, tmp_path, "2026-10-02")
    assert load.rows_loaded == 0
    assert "duplicate_key_other_partition:transaction_id" in load.quarantined


def test_backfill_over_a_redelivered_history_is_not_a_duplicate_of_itself(tmp_path: Path, conn: duckdb.DuckDBPyConnection) -> None:
    """The source re-sends two days with the ids reshuffled: T2 moves from day 2 to day 1."""
    _write(tmp_path, "2026-10-01", "a.csv", HEADER + GOOD)
    _write(tmp_path, "2026-10-02", "a.csv", HEADER + GOOD.replace("T1", "T2").replace("10-01", "10-02"))
    for day in ("2026-10-01", "2026-10-02"):
        load_partition(conn, POS, tmp_path, day)
    _write(tmp_path, "2026-10-01", "a.csv", HEADER + GOOD.replace("T1", "T2"))
    _write(tmp_path, "2026-10-02", "a.csv", HEADER + GOOD.replace("10-01", "10-02") + GOOD.replace("T1", "T3").replace("10-01", "10-02"))
    days = ["2026-10-01", "2026-10-02"]
    loads = load_backfill(conn, POS, tmp_path, days)
    assert [x.rows_quarantined for x in loads] == [0, 0]
    assert conn.execute("select list(transaction_id order by transaction_id) from raw.pos_transactions").fetchone()[0] == ["T1", "T2", "T3"]
    # Within the same backfill a real duplicate across its days is still caught (the later day's row).
    _write(tmp_path, "2026-10-02", "b.csv", HEADER + GOOD.replace("T1", "T2").replace("10-01", "10-02"))
    loads = load_backfill(conn, POS, tmp_path, days)
    assert loads[0].rows_quarantined == 0 and dict(loads[1].quarantined) == {"duplicate_key_other_partition:transaction_id": 1}


def test_a_backfill_finds_keys_repeated_across_its_days_in_one_pass(tmp_path: Path, conn: duckdb.DuckDBPyConnection) -> None:
    days = ["2026-10-01", "2026-10-02", "2026-10-03"]
    _write(tmp_path, days[0], "a.csv", HEADER + GOOD)
    _write(tmp_path, days[1], "a.csv", HEADER + GOOD.replace("T1", "T2").replace("10-01", "10-02"))
    _write(tmp_path, days[2], "a.csv", HEADER + GOOD.replace("10-01", "10-03") + GOOD.replace("T1", "T2").replace("10-01", "10-03"))
    loads = load_partitions(conn, POS, tmp_path, days, backfill=(days[0], days[-1]))
    assert [x.rows_quarantined for x in loads] == [0, 0, 0]  # not yet: the backfill's days are compared at its end
    later = quarantine_duplicates_across_days(conn, POS, days[0], days[-1])
    assert later == {days[2]: 2}  # T1 stays on day 1 and T2 on day 2, as loading day by day keeps them
    assert conn.execute("select list(transaction_id || '@' || _partition order by 1) from raw.pos_transactions"
                        ).fetchone()[0] == ["T1@2026-10-01", "T2@2026-10-02"]
    reasons = conn.execute("select distinct reason from quarantine.pos_transactions").fetchall()
    assert reasons == [("duplicate_key_other_partition:transaction_id",)]
    # A day outside the backfill still counts at load time.
    _write(tmp_path, "2026-10-04", "a.csv", HEADER + GOOD.replace("10-01", "10-04"))
    load, = load_partitions(conn, POS, tmp_path, ["2026-10-04"], backfill=("2026-10-04", "2026-10-05"))
    assert dict(load.quarantined) == {"duplicate_key_other_partition:transaction_id": 1}


def test_missing_required_column_rejects_file_and_keeps_old_load(tmp_path: Path, conn: duckdb.DuckDBPyConnection) -> None:
    _write(tmp_path, "2026-10-01", "a.csv", HEADER + GOOD)
    load_partition(conn, POS, tmp_path, "2026-10-01")
    _write(tmp_path, "2026-10-01", "b.csv", "transaction_id,store_id,occurred_at\nT5,S1,2026-10-01 09:00:00\n")
    with pytest.raises(FileRejected, match=r"b\.csv.*'transaction_type'"):
        load_partition(conn, POS, tmp_path, "2026-10-01")
    assert conn.execute("select count(*) from raw.pos_transactions").fetchone()[0] == 1


def test_corrupt_gzip_fails_the_partition_clearly(tmp_path: Path, conn: duckdb.DuckDBPyConnection) -> None:
    data = gzip.compress((HEADER + GOOD * 50).encode())
    _write(tmp_path, "2026-10-01", "a.csv.gz", data[: len(data) // 2])
    with pytest.raises(FileRejected, match=r"a\.csv\.gz"):
        load_partition(conn, POS, tmp_path, "2026-10-01")


def test_empty_file_and_extra_columns(tmp_path: Path, conn: duckdb.DuckDBPyConnection) -> None:
    _write(tmp_path, "2026-10-01", "empty.csv", "")
    _write(tmp_path, "2026-10-01", "a.csv", HEADER.strip() + ",till_operator\n" + GOOD.strip() + ",Zoe\n")
    load = load_partition(conn, POS, tmp_path, "2026-10-01")
    assert load.empty_files == ["empty.csv"]
    assert load.rows_loaded == 1 and load.extra_columns == ["till_operator"]
    extra = conn.execute("select _extra->>'$.till_operator' from raw.pos_transactions").fetchone()[0]
    assert extra == "Zoe"


def test_bom_crlf_and_gbk(tmp_path: Path, conn: duckdb.DuckDBPyConnection) -> None:
    contract = CONTRACTS["crm_members"]
    header = "member_event_id,occurred_at,event_type,loyalty_id,email,full_name,address\r\n"
    rows = "M1,2026-10-01 08:00:00,sign_up,L1,a@b.cn,张伟,北京市朝阳区建国路1号\r\n"
    bad = "M2,2026-10-01 08:00:00,sign_up,L2,c@d.cn,".encode("gbk") + b"\xff\xfe\r\n"
    folder = tmp_path / "crm_members"
    folder.mkdir()
    (folder / "_source.json").write_text('{"encoding": "gbk"}')
    _write(tmp_path, "2026-10-01", "m.csv", header.encode("gbk") + rows.encode("gbk") + bad, "crm_members")
    load = load_partition(conn, contract, tmp_path, "2026-10-01")
    assert load.rows_loaded == 1
    assert load.quarantined["invalid_encoding:gbk"] == 1
    assert conn.execute("select full_name from raw.crm_members").fetchone()[0] == "张伟"
    pos_bom = "\ufeff" + HEADER.replace("\n", "\r\n") + GOOD.replace("\n", "\r\n")
    _write(tmp_path, "2026-10-03", "bom.csv", pos_bom)
    assert load_partition(conn, POS, tmp_path, "2026-10-03").rows_loaded == 1
    _write(tmp_path, "2026-10-04", "padded.csv", HEADER.replace(",store_id,", ", store_id ,") + GOOD.replace("T1", "T2"))
    padded = load_partition(conn, POS, tmp_path, "2026-10-04")  # a padded header names a contract column, not an extra one
    assert (padded.rows_loaded, padded.extra_columns) == (1, [])


def test_jsonl_with_broken_line(tmp_path: Path, conn: duckdb.DuckDBPyConnection) -> None:
    contract = CONTRACTS["survey_responses"]
    text = (
        '{"response_id": "R1", "responded_at": "2026-10-01 10:00:00", "nps_score": 9, "email": "x@y.com"}\n'
        '{"response_id": "R2", "responded_at": "2026-10-01 10:00:00", "nps_sc\n'
        '{"response_id": "R3", "responded_at": "2026-10-01 11:00:00", "nps_score": 11}\n'
    )
    _write(tmp_path, "2026-10-01", "s.jsonl.gz", gzip.compress(text.encode()), "survey_responses")
    load = load_partition(conn, contract, tmp_path, "2026-10-01")
    assert load.rows_loaded == 1
    assert load.quarantined["invalid_json"] == 1
    assert load.quarantined["above_maximum:nps_score"] == 1


def test_cdnow_import_writes_every_purchase_as_a_store_sale(tmp_path: Path) -> None:
    from orchestration.ingest.cdnow import import_cdnow

    rows, customers, first, last = import_cdnow(tmp_path / "landing")
    assert (rows, customers, first, last) == (69_659, 23_570, "1997-01-01", "1998-06-30")
    files = sorted((tmp_path / "landing" / "pos_transactions").glob("*/cdnow.csv"))
    assert len(files) == len({f.parent.name for f in files}) > 500
    assert sum(len(f.read_text().splitlines()) - 1 for f in files) == rows


def test_a_batch_of_days_loads_exactly_what_loading_day_by_day_does(tmp_path: Path) -> None:
    """Damaged rows, extra columns on one day, a GB18030 channel, keys repeated across days: same tables."""
    from orchestration.ingest.contracts import CONTRACTS as ALL
    from orchestration.synthetic.generator import GeneratorConfig, generate

    landing = tmp_path / "landing"
    generate(GeneratorConfig(customers=400, days=6, bad_row_rate=0.05, seed=3), landing)
    days = sorted(p.name for p in (landing / "pos_transactions").iterdir() if p.is_dir())
    _write(landing, days[2], "extra.csv", HEADER.rstrip("\n") + ",till_note\n" + GOOD.rstrip("\n") + ",收银员 王\n")
    for day in (days[3], days[5]):  # T1 again: on a day of the same batch, and of the next batch
        _write(landing, day, "again.csv", HEADER + GOOD.replace("10-01", day[5:]))
    now = datetime(2026, 11, 1)
    tables = {}
    for mode in ("day by day", "batched"):
        with duckdb.connect(str(tmp_path / f"{mode}.duckdb")) as conn:
            for channel in ("pos_transactions", "crm_members", "app_web_events"):
                loads = load_backfill(conn, ALL[channel], landing, days, now, batch_days=1 if mode == "day by day" else 4)
                tables[(mode, channel, "loads")] = [(x.partition, x.rows_read, x.rows_loaded) for x in loads]
                tables[(mode, channel, "raw")] = conn.execute(
                    f"select * exclude (_loaded_at) from raw.{channel} order by all").fetchall()
                tables[(mode, channel, "quarantine")] = conn.execute(
                    f"select _partition, source_file, source_line, reason from quarantine.{channel} order by all").fetchall()
    for channel in ("pos_transactions", "crm_members", "app_web_events"):
        assert tables[("batched", channel, "loads")] == tables[("day by day", channel, "loads")], channel
        assert tables[("batched", channel, "raw")] == tables[("day by day", channel, "raw")], channel
        assert tables[("batched", channel, "quarantine")] == tables[("day by day", channel, "quarantine")], channel
    assert any("duplicate_key_other_partition" in r[3] for r in tables[("batched", "pos_transactions", "quarantine")])
    assert any(r[-4] is not None for r in tables[("batched", "pos_transactions", "raw")])  # the extra column kept


def test_backfill_batches_hold_about_a_million_rows_and_grow_at_most_fourfold() -> None:
    assert next_batch_days(14, 1_000_000) == 14  # the clickstream at a million customers: as it was
    assert next_batch_days(14, 3_000_000) == 4  # a heavier channel: fewer days
    assert next_batch_days(14, 28_000) == 56  # web orders: four times the days, not 500
    assert next_batch_days(56, 0) == 224  # empty days
    assert next_batch_days(1, 5_000_000) == 1


def test_files_read_in_one_scan_keep_their_own_lines_and_errors(tmp_path: Path, conn: duckdb.DuckDBPyConnection) -> None:
    """A day of many files is read by one scan per layout: each quarantined row still names its own file and
    line (also in a re-encoded file that lost a line), and an unreadable file among good ones is named."""
    for part in range(3):
        rows = [GOOD.replace("T1", f"T{part}-{i}") for i in range(3000)]
        if part == 1:
            rows[2500] = rows[2500].replace("10.50", "ten")  # line 2502 of b.csv
        _write(tmp_path, "2026-10-01", f"{'abc'[part]}.csv", HEADER + "".join(rows))
    load = load_partition(conn, POS, tmp_path, "2026-10-01")
    assert (load.rows_read, load.rows_loaded) == (9000, 8999)
    assert conn.execute("select source_file, source_line from quarantine.pos_transactions").fetchall() == [("b.csv", 2502)]
    assert conn.execute("select _source_file, _source_line from raw.pos_transactions where transaction_id = 'T2-2999'"
                        ).fetchone() == ("c.csv", 3001)

    crm = CONTRACTS["crm_members"]
    header = "member_event_id,occurred_at,event_type,loyalty_id,email,full_name,address\n"
    (tmp_path / "crm_members").mkdir()
    (tmp_path / "crm_members" / "_source.json").write_text('{"encoding": "gb18030"}')
    row = "M{},2026-10-01 08:00:00,sign_up,L{},a@b.cn,张伟,北京市朝阳区建国路1号\n"
    _write(tmp_path, "2026-10-01", "a.csv", (header + row.format(1, 1)).encode("gb18030"), "crm_members")
    lines = [row.format(n, n).encode("gb18030") for n in range(2, 7)]
    lines[1] = b"M3,2026-10-01 08:00:00,sign_up,L3,\xff\xfe\n"  # line 3: not GB18030
    lines[3] = lines[3].replace(b"2026-10-01", b"2026-13-01")  # line 5: an impossible date
    _write(tmp_path, "2026-10-01", "b.csv", header.encode("gb18030") + b"".join(lines), "crm_members")
    load_partition(conn, crm, tmp_path, "2026-10-01")
    assert conn.execute("select source_file, source_line, reason from quarantine.crm_members order by 2").fetchall() == [
        ("b.csv", 3, "invalid_encoding:gb18030"), ("b.csv", 5, "wrong_type:occurred_at")]
    assert conn.execute("select count(*), min(full_name) from raw.crm_members").fetchone() == (4, "张伟")

    data = gzip.compress((HEADER + GOOD * 5000).encode())
    _write(tmp_path, "2026-10-01", "d.csv.gz", data[: len(data) // 2])
    with pytest.raises(FileRejected, match=r"d\.csv\.gz: cannot be read"):
        load_partition(conn, POS, tmp_path, "2026-10-01")
    assert conn.execute("select count(*) from raw.pos_transactions").fetchone()[0] == 8999


def test_parquet_files_whose_column_types_differ_load_together(tmp_path: Path, conn: duckdb.DuckDBPyConnection) -> None:
    """One file writes amount as a decimal number, the next as text: one scan cannot read both, each alone can."""
    folder = tmp_path / "pos_transactions" / "2026-10-01"
    folder.mkdir(parents=True)
    base = ("select 'T{n}' as transaction_id, 'S001' as store_id, '2026-10-01 10:00:00' as occurred_at, 'sale' as "
            "transaction_type, 'L{n}' as loyalty_id, {amount} as amount, 1 as items, 'card' as payment_method")
    conn.execute(f"copy ({base.format(n=1, amount='10.5')}) to '{folder / 'a.parquet'}' (format parquet)")
    as_text = base.format(n=2, amount="'twelve'")
    conn.execute(f"copy ({as_text}) to '{folder / 'b.parquet'}' (format parquet)")
    load = load_partition(conn, POS, tmp_path, "2026-10-01")
    assert (load.rows_read, load.rows_loaded, dict(load.quarantined)) == (2, 1, {"wrong_type:amount": 1})


def test_a_key_repeated_within_a_day_keeps_its_first_row_by_file_and_line(tmp_path: Path, conn: duckdb.DuckDBPyConnection) -> None:
    """The first occurrence in (file, line) order loads, in CSV and in Parquet; the later ones are quarantined."""
    _write(tmp_path, "2026-10-01", "b.csv", HEADER + GOOD.replace("Anne", "Third") + GOOD.replace("T1", "T2"))
    _write(tmp_path, "2026-10-01", "a.csv", HEADER + GOOD.replace("T1", "T3") + GOOD + GOOD.replace("Anne", "Second"))
    load = load_partition(conn, POS, tmp_path, "2026-10-01")
    assert (load.rows_loaded, load.quarantined["duplicate_key_in_partition:transaction_id"]) == (3, 2)
    assert conn.execute("select customer_name, _source_file, _source_line from raw.pos_transactions "
                        "where transaction_id = 'T1'").fetchall() == [("Anne", "a.csv", 3)]
    assert sorted(conn.execute("select source_file, source_line from quarantine.pos_transactions").fetchall()) == [
        ("a.csv", 4), ("b.csv", 2)]
    events = pa.table({"event_id": ["E2", "E1", "E1", "E1"], "occurred_at": ["2026-10-02 10:00:00"] * 4,
                       "event_type": ["page_view"] * 4, "device_id": ["D1"] * 4, "platform": ["ios"] * 4})
    (tmp_path / "app_web_events" / "2026-10-02").mkdir(parents=True)
    pq.write_table(events, tmp_path / "app_web_events" / "2026-10-02" / "part-0000.parquet")
    clicks = load_partition(conn, CONTRACTS["app_web_events"], tmp_path, "2026-10-02")
    assert (clicks.rows_loaded, clicks.quarantined["duplicate_key_in_partition:event_id"]) == (2, 2)
    assert conn.execute("select _source_line from raw.app_web_events where event_id = 'E1'").fetchall() == [(2,)]
