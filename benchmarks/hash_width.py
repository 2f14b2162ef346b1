"""What the width of the pseudonyms costs: the clicks' table with today's 64-character HMACs against the same
table with the hashes cut to their first 32 characters (128 bits), in the same run, on a built warehouse.

    python benchmarks/hash_width.py --warehouse DIR/warehouse/clientele.duckdb [--rounds 2]

For each width, in alternating rounds in one scratch DuckDB (the warehouse attached read-only, the pipeline's
4 GB memory limit): the copy of ``staging.stg_app__events`` (what staging writes), a grouping by device (what
the incremental ``sessions`` and the gates read) and the dense device keys joined back to every click (what
``sessions``' windows start from). Prints seconds per round, the ratios of the means and the table's size in
blocks; writes benchmarks/results/<date>-hash-width.json. The scratch file is deleted afterwards.

The question it answers (docs/performance.md, what stands between): would shorter pseudonyms shorten the run?
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from statistics import mean

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from orchestration.settings import Settings  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
HASHES = ("device_id_hash", "account_id_hash")
WIDTHS = {"64": "*", "32": "* replace (" + ", ".join(f"left({h}, 32) as {h}" for h in HASHES) + ")"}
STEPS = {
    "copy": "create table clicks_{w} as select {columns} from clientele.staging.stg_app__events",
    "group by device": "create or replace temp table grouped as "
                       "select device_id_hash, count(*) as events, max(loaded_at) as last_loaded_at from clicks_{w} group by 1",
    "device keys joined back": "create or replace temp table keyed as "
                               "with d as (select device_id_hash, row_number() over (order by device_id_hash) as device_key "
                               "from (select distinct device_id_hash from clicks_{w} where device_id_hash is not null)) "
                               "select d.device_key, c.event_id, c.occurred_at from clicks_{w} as c join d using (device_id_hash)",
}


def blocks(conn: duckdb.DuckDBPyConnection, table: str, columns: tuple[str, ...] | None = None) -> int:
    where = f" and column_name in ({', '.join(repr(c) for c in columns)})" if columns else ""
    return conn.execute(f"select count(distinct block_id) from pragma_storage_info('{table}') where block_id >= 0{where}").fetchall()[0][0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warehouse", required=True, type=Path)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--memory-limit", default=Settings.from_env().duckdb_memory_limit)
    args = parser.parse_args()
    seconds: dict[str, dict[str, list[float]]] = {w: {s: [] for s in STEPS} for w in WIDTHS}
    with tempfile.TemporaryDirectory(prefix="clientele-hash-width-", dir=args.warehouse.parent) as scratch:
        conn = duckdb.connect(str(Path(scratch) / "scratch.duckdb"))
        conn.execute(f"set memory_limit = '{args.memory_limit}'")
        conn.execute(f"attach '{args.warehouse}' as clientele (read_only)")
        for round_ in range(args.rounds):
            for width, columns in WIDTHS.items():
                conn.execute(f"drop table if exists clicks_{width}")
                for step, sql in STEPS.items():
                    started = time.perf_counter()
                    conn.execute(sql.format(w=width, columns=columns))
                    if step == "copy":
                        conn.execute("checkpoint")
                    seconds[width][step].append(round(time.perf_counter() - started, 2))
                    print(f"round {round_ + 1}, {width} characters, {step}: {seconds[width][step][-1]:.1f} s", flush=True)
        size = {w: {"blocks": blocks(conn, f"clicks_{w}"), "hash_blocks": blocks(conn, f"clicks_{w}", HASHES)} for w in WIDTHS}
        conn.close()
    ratios = {s: round(mean(seconds["64"][s]) / mean(seconds["32"][s]), 2) for s in STEPS}
    print("\n| step | 64 characters | 32 characters | ratio |\n| --- | --- | --- | --- |")
    for s in STEPS:
        print(f"| {s} | {mean(seconds['64'][s]):.1f} s | {mean(seconds['32'][s]):.1f} s | {ratios[s]}x |")
    print(f"| table size (256 KiB blocks) | {size['64']['blocks']:,} | {size['32']['blocks']:,} | "
          f"{size['64']['blocks'] / size['32']['blocks']:.2f}x |")
    print(f"| of which the two hashes | {size['64']['hash_blocks']:,} | {size['32']['hash_blocks']:,} | "
          f"{size['64']['hash_blocks'] / size['32']['hash_blocks']:.2f}x |")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{date.today().isoformat()}-hash-width.json"
    out.write_text(json.dumps({"warehouse": str(args.warehouse), "seconds": seconds, "ratios": ratios, "size": size}, indent=2))
    print(f"\nresults: {out}")


if __name__ == "__main__":
    main()
