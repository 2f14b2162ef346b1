"""Ingest cost: the contract loader against a plain DuckDB file read of the same files, in the same run.

    python benchmarks/ingest.py [--rows 2000000] [--formats csv parquet]

Writes one day of ``pos_transactions`` (``--rows`` rows, about 1% bad) as CSV and
as Parquet, then times, each in a fresh process (so peak memory is its own):

- baseline: ``create table ... as select * from read_csv/read_parquet(...)``,
  DuckDB's own reader with type detection, no validation, no lineage;
- clientele: ``load_partition``: contract types, per-row reasons, quarantine,
  lineage columns, one transaction replacing the partition.

Prints a Markdown table and the ratio clientele / baseline per format, and
writes ``benchmarks/results/<date>-ingest.json``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DAY = "2026-10-01"
CHANNEL = "pos_transactions"


def write_landing(folder: Path, rows: int, fmt: str) -> Path:
    day = folder / fmt / CHANNEL / DAY
    day.mkdir(parents=True, exist_ok=True)
    target = day / f"part-0000.{fmt}"
    # 2% of rows break the contract (negative amounts, unknown payment methods); 1% are anonymous cash sales (valid).
    query = f"""
        select 'T' || lpad(cast(i as varchar), 10, '0') as transaction_id,
               'S' || lpad(cast(i % 40 as varchar), 3, '0') as store_id,
               timestamp '{DAY} 08:00:00' + to_seconds(i % 43000) as occurred_at,
               'sale' as transaction_type,
               case when i % 100 = 7 then null else 'L' || lpad(cast(i % 900000 as varchar), 9, '0') end as loyalty_id,
               case when i % 3 = 0 then '+44 7700 ' || lpad(cast(i % 1000000 as varchar), 6, '0') end as phone,
               case when i % 5 = 0 then '王伟' when i % 5 = 1 then 'O''Brien, Seán' else 'Alex Smith' end as customer_name,
               case when i % 100 = 3 then -5.0 else round(5 + (i % 9000) / 37.0, 2) end as amount,
               1 + i % 7 as items,
               case when i % 100 = 5 then 'barter' else 'card' end as payment_method
        from range({rows}) as t(i)"""
    options = "(format csv, header true)" if fmt == "csv" else "(format parquet)"
    with duckdb.connect() as conn:
        conn.execute(f"copy ({query}) to '{target}' {options}")
    return folder / fmt


def run_one(kind: str, fmt: str, landing: Path, warehouse: Path) -> dict[str, float]:
    """Executed in a child process."""
    conn = duckdb.connect(str(warehouse))
    started = time.perf_counter()
    if kind == "baseline":
        reader = "read_csv" if fmt == "csv" else "read_parquet"
        path = landing / CHANNEL / DAY / f"part-0000.{fmt}"
        conn.execute(f"create table plain as select * from {reader}('{path}')")
        rows = conn.execute("select count(*) from plain").fetchall()[0][0]
        loaded, quarantined = rows, 0
    else:
        from orchestration.ingest.contracts import CONTRACTS
        from orchestration.ingest.loader import load_partition

        result = load_partition(conn, CONTRACTS[CHANNEL], landing, DAY)
        rows, loaded, quarantined = result.rows_read, result.rows_loaded, result.rows_quarantined
    seconds = time.perf_counter() - started
    conn.close()
    return {"seconds": seconds, "rows": rows, "loaded": loaded, "quarantined": quarantined,
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--formats", nargs="+", default=["csv", "parquet"])
    parser.add_argument("--one", nargs=4, metavar=("KIND", "FORMAT", "LANDING", "WAREHOUSE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        kind, fmt, landing, warehouse = args.one
        print(json.dumps(run_one(kind, fmt, Path(landing), Path(warehouse))))
        return 0

    results = []
    with tempfile.TemporaryDirectory(prefix="clientele-bench-ingest-") as tmp:
        tmp_path = Path(tmp)
        for fmt in args.formats:
            landing = write_landing(tmp_path / "landing", args.rows, fmt)
            size_mib = sum(p.stat().st_size for p in landing.rglob("*") if p.is_file()) / 2**20
            measured = {}
            for kind in ("baseline", "clientele"):
                warehouse = tmp_path / f"{fmt}-{kind}.duckdb"
                out = subprocess.run(
                    [sys.executable, __file__, "--one", kind, fmt, str(landing), str(warehouse)],
                    check=True, capture_output=True, text=True,
                ).stdout
                measured[kind] = json.loads(out.strip().splitlines()[-1])
            ratio = measured["clientele"]["seconds"] / measured["baseline"]["seconds"]
            results.append({"format": fmt, "rows": args.rows, "file_mib": round(size_mib, 1), **{
                f"{k}_{m}": v for k, r in measured.items() for m, v in r.items()}, "ratio": ratio})

    print(f"ingest of one day of {CHANNEL}, {args.rows:,} rows (2 cores; each side in its own process)")
    print("| format | file MiB | plain DuckDB read s | clientele load s | ratio | rows/s (clientele) | loaded | quarantined | peak RSS MiB plain / clientele |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        print(f"| {r['format']} | {r['file_mib']} | {r['baseline_seconds']:.2f} | {r['clientele_seconds']:.2f} | "
              f"{r['ratio']:.2f}x | {r['rows'] / r['clientele_seconds']:,.0f} | {r['clientele_loaded']:,} | "
              f"{r['clientele_quarantined']:,} | {r['baseline_peak_rss_mib']:.0f} / {r['clientele_peak_rss_mib']:.0f} |")
    out_dir = ROOT / "benchmarks" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    out_file = out_dir / f"{date.today().isoformat()}-ingest.json"
    out_file.write_text(json.dumps(results, indent=2) + "\n")
    print(f"results: {out_file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
