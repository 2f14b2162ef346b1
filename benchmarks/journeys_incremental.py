"""Journey models: tonight's incremental build against a full rebuild of the same data, in the same run.

    python benchmarks/journeys_incremental.py [--home DIR] [--customers 20000]

Needs a warehouse the pipeline has built: ``--home`` (a CLIENTELE_HOME after ``make run``), or else the
demo is generated and run in a temporary home first. On a copy of its warehouse:

1. yesterday: the last landed day has not arrived (its rows are held back from staging); ``touchpoints``
   and ``sessions`` are built in full;
2. tonight: the day is delivered (a new load time) and the two models are built incrementally;
3. baseline: the same two models rebuilt in full on tonight's data.

Times are dbt's own per-model execution times (run_results.json), so dbt's start-up is left out of both.
Prints a Markdown table and the ratio incremental / full, writes benchmarks/results/<date>-journeys.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
MODELS = ("touchpoints", "sessions")
STAGING = ("stg_app__events", "stg_pos__transactions", "stg_ecommerce__orders", "stg_crm__members",
           "stg_service__tickets", "stg_survey__responses", "stg_marketing__events")


def build(warehouse: Path, target: Path, *flags: str) -> dict[str, float]:
    """Seconds per model, as dbt measured them."""
    from orchestration.resources import dbt_executable
    from orchestration.settings import DBT_PROJECT_DIR

    subprocess.run(
        [dbt_executable(), "run", "--select", *MODELS, *flags, "--project-dir", str(DBT_PROJECT_DIR),
         "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(target), "--quiet"],
        cwd=DBT_PROJECT_DIR, check=True, env=os.environ | {"CLIENTELE_WAREHOUSE": str(warehouse)},
    )
    results = json.loads((target / "run_results.json").read_text())["results"]
    return {r["unique_id"].split(".")[-1]: r["execution_time"] for r in results}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", type=Path, help="a CLIENTELE_HOME the pipeline has run in")
    parser.add_argument("--customers", type=int, default=20_000)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="clientele-bench-journeys-"))
    home = args.home
    if home is None:
        home = scratch / "home"
        env = os.environ | {"CLIENTELE_HOME": str(home), "DAGSTER_HOME": str(scratch / "dagster_home")}
        (scratch / "dagster_home").mkdir()
        subprocess.run([sys.executable, "-m", "orchestration.cli", "run", "--customers", str(args.customers)],
                       cwd=ROOT, env=env, check=True)
    os.environ["CLIENTELE_HASH_KEY_FILE"] = str(home / "secrets" / "hash_key")
    warehouse = scratch / "warehouse" / "clientele.duckdb"  # the same file name: dbt's views name their catalog
    warehouse.parent.mkdir(exist_ok=True)
    shutil.copy(home / "warehouse" / "clientele.duckdb", warehouse)

    with duckdb.connect(str(warehouse)) as conn:
        last_day = conn.execute("select max(source_partition) from staging.stg_app__events").fetchone()[0]
        conn.execute("create schema arriving")
        for table in STAGING:
            conn.execute(f"create table arriving.{table} as select * from staging.{table} where source_partition = ?", [last_day])
            conn.execute(f"delete from staging.{table} where source_partition = ?", [last_day])
        day_rows = sum(conn.execute(f"select count(*) from arriving.{t}").fetchone()[0] for t in STAGING)
    build(warehouse, scratch / "target", "--full-refresh")
    with duckdb.connect(str(warehouse)) as conn:
        for table in STAGING:
            conn.execute(f"insert into staging.{table} select * replace (current_timestamp::timestamp as loaded_at) "
                         f"from arriving.{table}")
    incremental = build(warehouse, scratch / "target")
    full = build(warehouse, scratch / "target", "--full-refresh")
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        rows = {m: conn.execute(f"select count(*) from marts.{m}").fetchone()[0] for m in MODELS}

    print(f"\njourney models, one new day ({last_day}, {day_rows:,} rows) on top of the history\n")
    print("| model | rows | full rebuild | incremental | ratio |")
    print("| --- | --- | --- | --- | --- |")
    for m in MODELS:
        print(f"| {m} | {rows[m]:,} | {full[m]:.2f} s | {incremental[m]:.2f} s | {incremental[m] / full[m]:.2f} |")
    total_full, total_incremental = sum(full.values()), sum(incremental.values())
    print(f"| both | | {total_full:.2f} s | {total_incremental:.2f} s | {total_incremental / total_full:.2f} |")
    results = ROOT / "benchmarks" / "results"
    results.mkdir(exist_ok=True)
    (results / f"{date.today().isoformat()}-journeys.json").write_text(json.dumps(
        {"day": last_day, "day_rows": day_rows, "rows": rows, "full_seconds": full,
         "incremental_seconds": incremental, "ratio": total_incremental / total_full}, indent=2) + "\n")
    shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
