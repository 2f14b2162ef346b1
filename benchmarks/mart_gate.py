"""A mart gate on a built warehouse: how its table is read into parts, against the previous way, in the same run.

    python benchmarks/mart_gate.py --warehouse DIR/warehouse/clientele.duckdb [--suite touchpoints]

Both sides run the suite's Great Expectations validation on every part; they differ only in the read:

- ``streamed`` (the gate now, ``orchestration/assets/quality.py``): keys found more than once are grouped first
  (in parts of their own), every other row streams from one scan of the query in Arrow batches;
- ``parquet_parts`` (the baseline, the gate before): one scan writes the parts by key hash to Parquet in a
  scratch folder, each part read back on its own.

Each side runs in its own process (peak resident memory is its own). Prints seconds, peak memory, the
verdicts (they must agree) and the ratio; writes benchmarks/results/<date>-mart-gate-<suite>.json.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
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
RESULTS = ROOT / "benchmarks" / "results"


def measure(side: str, warehouse: str, suite_name: str, memory_limit: str, part_rows: int) -> dict[str, object]:
    from dagster_duckdb import DuckDBResource

    from expectations.runner import SuiteOutcome, validate
    from orchestration.assets.quality import _read_in_parts, gate_read

    suite = importlib.import_module(f"expectations.suites.{suite_name}")
    resource_ = DuckDBResource(database=warehouse, connection_config={"memory_limit": memory_limit, "access_mode": "READ_ONLY"})
    started = time.perf_counter()
    with resource_.get_connection() as conn:
        read = gate_read(conn, suite)
    rows, query = read.table_rows, read.whole_query  # every row, as after a full rebuild
    parts = max(1, math.ceil(rows / part_rows))
    outcomes, read_seconds = [], 0.0

    def parquet_parts():  # noqa: ANN202  # the previous gate's read: one scan into Parquet parts by key hash
        with tempfile.TemporaryDirectory(prefix="clientele-gate-") as scratch:
            with resource_.get_connection() as conn:
                conn.execute(f"copy (select *, hash({suite.KEY}) % {parts} as _gate_part from ({query})) "
                             f"to '{scratch}' (format parquet, partition_by (_gate_part))")
            with duckdb.connect() as local:
                for folder in sorted(Path(scratch).glob("_gate_part=*")):
                    yield local.sql(f"select * from read_parquet('{folder.as_posix()}/*.parquet', hive_partitioning = false)"
                                    ).to_arrow_table().combine_chunks().to_pandas()

    frames = _read_in_parts(resource_, query, suite.KEY, part_rows) if side == "streamed" else parquet_parts()
    while True:
        read_started = time.perf_counter()
        frame = next(frames, None)
        read_seconds += time.perf_counter() - read_started
        if frame is None:
            break
        outcomes.append(validate(frame, suite.build(frame), key=suite.KEY))
        del frame
    outcome = SuiteOutcome.merge(outcomes)
    return {"side": side, "rows": rows, "parts": len(outcomes), "seconds": round(time.perf_counter() - started, 1),
            "read_seconds": round(read_seconds, 1),
            "peak_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
            "verdict": sorted((f.expectation, f.column, f.unexpected_count) for f in outcome.failed)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warehouse", required=True)
    parser.add_argument("--suite", default="touchpoints")
    parser.add_argument("--memory-limit", default="4GB", help="DuckDB's limit, as the pipeline sets it")
    parser.add_argument("--part-rows", type=int, help="rows per part (default: the gate's GATE_PART_ROWS)")
    parser.add_argument("--side", choices=["streamed", "parquet_parts"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.part_rows is None:
        from orchestration.assets.quality import GATE_PART_ROWS

        args.part_rows = GATE_PART_ROWS
    if args.side:
        print(json.dumps(measure(args.side, args.warehouse, args.suite, args.memory_limit, args.part_rows)))
        return 0
    sides = {}
    for side in ("streamed", "parquet_parts"):
        out = subprocess.run([sys.executable, __file__, "--warehouse", args.warehouse, "--suite", args.suite,
                              "--memory-limit", args.memory_limit, "--part-rows", str(args.part_rows), "--side", side],
                             check=True, capture_output=True, text=True).stdout
        sides[side] = json.loads(out.strip().splitlines()[-1])
        print(f"{side:16} {sides[side]['seconds']:>8.1f} s  (reading {sides[side]['read_seconds']:.1f} s, "
              f"{sides[side]['parts']} parts of {sides[side]['rows']:,} rows)  peak {sides[side]['peak_gib']:.2f} GiB",
              flush=True)
    same = sides["streamed"]["verdict"] == sides["parquet_parts"]["verdict"]
    ratio = sides["parquet_parts"]["seconds"] / sides["streamed"]["seconds"]
    print(f"same verdicts: {same}; parquet_parts / streamed: {ratio:.1f}x")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{date.today().isoformat()}-mart-gate-{args.suite}.json"
    out.write_text(json.dumps({"date": date.today().isoformat(), "suite": args.suite, "warehouse": args.warehouse,
                               "sides": sides, "same_verdicts": same, "ratio": round(ratio, 2)}, indent=2) + "\n")
    print(f"results: {out}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
