"""The ``clientele`` command: generate or import data, run the pipeline, open the UI."""

from __future__ import annotations

import argparse
import os
import warnings
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from orchestration.settings import DBT_PROJECT_DIR, PROJECT_ROOT, Settings, partition_start_file

NIGHTLY_JOB = "nightly_refresh"
INGEST_JOB = "ingest_landing"
MODELS_JOB = "refresh_models"


def _prepare_environment(settings: Settings) -> None:
    from orchestration.privacy.keys import create_key_file

    settings.export_to_environment()
    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    settings.serving_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("DAGSTER_HOME", str(PROJECT_ROOT / ".dagster_home"))
    Path(os.environ["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)
    if not os.environ.get("CLIENTELE_HASH_KEY") and create_key_file(settings.hash_key_file):
        print(f"created a pseudonymisation key at {settings.hash_key_file} (set CLIENTELE_HASH_KEY to use your own)")


def prepare_dbt() -> None:
    """Write dbt's manifest, which the Dagster definitions read at load time."""
    from orchestration.resources import dbt_executable

    subprocess.run(
        [dbt_executable(), "parse", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR), "--quiet"],
        check=True,
        cwd=DBT_PROJECT_DIR,
    )


def landed_days(landing_dir: Path) -> list[str]:
    days = {p.name for p in landing_dir.glob("*/*") if p.is_dir() and len(p.name) == 10}
    return sorted(days)


def cmd_generate(args: argparse.Namespace) -> int:
    from orchestration.synthetic.generator import GeneratorConfig, generate

    cfg = GeneratorConfig(customers=args.customers, days=args.days, seed=args.seed, bad_row_rate=args.bad_rows,
                          end=date.fromisoformat(args.end) if args.end else GeneratorConfig().end)
    started = time.perf_counter()
    report = generate(cfg, Path(args.out))
    print(
        f"generated {report.persons:,} people ({report.buyers:,} buyers, {report.purchases:,} purchases) over {cfg.days} days "
        f"in {time.perf_counter() - started:.1f}s: {sum(report.rows_per_channel.values()):,} rows in {report.files_written:,} files"
    )
    for channel, rows in report.rows_per_channel.items():
        print(f"  {channel:<18} {rows:>10,}")
    print(f"ground truth: {Path(args.out).parent / 'ground_truth'}")
    return 0


def cmd_import_cdnow(args: argparse.Namespace) -> int:
    from orchestration.ingest.cdnow import import_cdnow

    n_rows, n_customers, first, last = import_cdnow(Path(args.out))
    print(f"imported CDNOW: {n_rows:,} purchases of {n_customers:,} customers, {first} .. {last}, into {args.out}")
    return 0


@dataclass
class PipelineResult:
    """The runs one `clientele run` made: the ingest backfill, then the models (or one nightly run)."""

    runs: list  # dagster ExecuteInProcessResult

    @property
    def success(self) -> bool:
        return all(r.success for r in self.runs)

    @property
    def run_id(self) -> str:
        return ", ".join(r.run_id for r in self.runs)

    def get_asset_check_evaluations(self) -> list:
        return [e for r in self.runs for e in r.get_asset_check_evaluations()]

    def get_asset_materialization_events(self) -> list:
        return [e for r in self.runs for e in r.get_asset_materialization_events()]


def run_pipeline(settings: Settings, partition_range: tuple[str, str], log_level: str = "INFO") -> PipelineResult:
    """Materialise every asset once for the landed days, in-process, recorded in DAGSTER_HOME.

    One day is one nightly_refresh run, as the schedule does. A range is an ingest
    backfill (one run over all its partitions) followed by refresh_models: in one
    run, Dagster would plan every unpartitioned asset once per partition too
    (36 assets x 365 days of planned events, minutes of SQLite writes).
    """
    import dagster as dg

    from orchestration.definitions import build_definitions

    defs = build_definitions(settings)
    instance = dg.DagsterInstance.get()
    run_config = {"loggers": {"console": {"config": {"log_level": log_level}}}}
    tags = {"dagster/asset_partition_range_start": partition_range[0],
            "dagster/asset_partition_range_end": partition_range[1]}
    if partition_range[0] == partition_range[1]:
        job = defs.resolve_job_def(NIGHTLY_JOB)
        return PipelineResult([job.execute_in_process(instance=instance, run_config=run_config,
                                                      partition_key=partition_range[0], raise_on_error=False)])
    ingest = defs.resolve_job_def(INGEST_JOB).execute_in_process(
        instance=instance, run_config=run_config, tags=tags, raise_on_error=False
    )
    blocked = [e for e in ingest.get_asset_check_evaluations()
               if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR]
    if not ingest.success or blocked:  # a raw gate blocked: nothing is modelled or published from this landing
        return PipelineResult([ingest])
    models = defs.resolve_job_def(MODELS_JOB).execute_in_process(
        instance=instance, run_config=run_config, raise_on_error=False
    )
    return PipelineResult([ingest, models])


def cmd_run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    settings = Settings.from_env()
    if args.cdnow:
        os.environ["CLIENTELE_PARTITION_START"] = "1997-01-01"
        settings = Settings.from_env()
        settings.home.mkdir(parents=True, exist_ok=True)
        partition_start_file(settings.home).write_text("1997-01-01\n")
    _prepare_environment(settings)
    if args.cdnow:
        from orchestration.ingest.cdnow import import_cdnow

        import_cdnow(settings.landing_dir)
        print(f"landing: the CDNOW transaction log (lifetimes' CDNOW_master.txt) in {settings.landing_dir}")
    elif args.regenerate or (not args.day and not landed_days(settings.landing_dir)):
        partition_start_file(settings.home).unlink(missing_ok=True)
        cmd_generate(argparse.Namespace(customers=args.customers, days=365, seed=42, bad_rows=0.0, end=None,
                                        out=str(settings.landing_dir)))
    else:
        print(f"landing: existing files in {settings.landing_dir} (use --regenerate for fresh demo data)")
    days = landed_days(settings.landing_dir)
    if args.day:  # one night, as the schedule runs it: that day's files, then every model
        if args.day not in days:
            print(f"nothing landed for {args.day} under {settings.landing_dir}", file=sys.stderr)
            return 2
        days = [args.day]
    if not days:
        print(f"no landing folders under {settings.landing_dir}", file=sys.stderr)
        return 2
    print("preparing dbt (dbt parse) ...")
    prepare_dbt()
    if len(days) == 1:
        print(f"running {NIGHTLY_JOB} for {days[0]} ...")
    else:
        print(f"running {INGEST_JOB} for {len(days)} days ({days[0]} .. {days[-1]}), then {MODELS_JOB} ...")
    result = run_pipeline(settings, (days[0], days[-1]))
    print_summary(settings, result, time.perf_counter() - started)
    return 0 if result.success else 1


def print_summary(settings: Settings, result: PipelineResult, seconds: float) -> None:
    import duckdb

    from orchestration.serving.publish import current_path

    print()
    print(f"run {'succeeded' if result.success else 'FAILED'} in {seconds:.0f}s (Dagster run {result.run_id})")
    evaluations = result.get_asset_check_evaluations()
    late = [e.asset_key.to_user_string() for e in evaluations if e.check_name == "landed_yesterday" and not e.passed]
    if late:
        landed = [str(e.metadata["latest_landed_day"].value) for e in evaluations if e.check_name == "landed_yesterday"]
        latest = max((day for day in landed if day != "never"), default="never")  # "never" sorts after dates
        print(f"  freshness: {len(late)} channel(s) have not landed yesterday's files (latest day landed: {latest}); "
              "a warning, not a failure")
    fit_checks = [e for e in evaluations if e.check_name == "clv_fit_succeeded"]
    dbt_tests = [e for e in evaluations
                 if not e.check_name.startswith("gx_") and e.check_name not in ("landed_yesterday", "clv_fit_succeeded")]
    failed_tests = [e.check_name for e in dbt_tests if not e.passed]
    print(f"  dbt tests: {len(dbt_tests) - len(failed_tests)} of {len(dbt_tests)} passed"
          + (f"; failed: {', '.join(failed_tests)}" if failed_tests else ""))
    for evaluation in fit_checks:
        print(f"  CLV model: {evaluation.metadata['status'].value if evaluation.passed else 'fit REJECTED'}"
              + ("" if evaluation.passed else f" ({evaluation.metadata['reason'].value}; "
                 f"{evaluation.metadata['kept'].value})"))
    gates = [e for e in evaluations if e.check_name.startswith("gx_")]
    quarantined = sum(int(e.metadata["rows_quarantined"].value) for e in gates if "rows_quarantined" in e.metadata)
    print(f"  quality gates: {sum(e.passed for e in gates)} of {len(gates)} passed, {quarantined:,} rows quarantined by them")
    for evaluation in gates:
        if not evaluation.passed:
            blocked = evaluation.severity.value == "ERROR"
            print(f"  quality gate {evaluation.check_name} on {evaluation.asset_key.to_user_string()}: "
                  f"{'FAILED (downstream and publication stopped)' if blocked else 'warning'}")
    docs = settings.data_docs_dir / "site" / "index.html"
    if docs.exists():
        print(f"  Data Docs:        {docs}")
    serving = current_path(settings.serving_dir)
    if serving.exists():
        with duckdb.connect(str(serving), read_only=True) as conn:
            customers, = conn.execute("select count(*) from customers").fetchone()
            orders, revenue = conn.execute("select count(*), sum(amount) from orders").fetchone()
            known_orders, = conn.execute("select count(*) from orders where customer_id is not null").fetchone()
            clv, = conn.execute("select sum(clv_12m) from customer_clv").fetchone()
            levels = conn.execute(
                "select relationship_level, count(*) from customers group by 1 order by 2 desc"
            ).fetchall()
            version, = conn.execute("select version from published_version").fetchone()
            touchpoints, stitched = conn.execute(
                "select count(*), count(customer_id) from touchpoints").fetchone()
            sessions, converted = conn.execute(
                "select count(*), count(*) filter (where converted) from sessions").fetchone()
            stages = conn.execute("select lifecycle_stage, count(*) from customers group by 1 order by 2 desc").fetchall()
        print(f"  customers         {customers:>14,}")
        print(f"  orders            {orders:>14,}  ({known_orders:,} linked to a customer)")
        print(f"  revenue           {float(revenue):>14,.2f}")
        print(f"  12-month CLV      {float(clv or 0):>14,.2f}  (sum over customers, discounted)")
        print("  relationship      " + ", ".join(f"{level} {n:,}" for level, n in levels))
        print("  lifecycle         " + ", ".join(f"{stage} {n:,}" for stage, n in stages))
        print(f"  touchpoints       {touchpoints:>14,}  ({stitched / max(touchpoints, 1):.1%} stitched to a customer)")
        print(f"  sessions          {sessions:>14,}  ({converted / max(sessions, 1):.1%} converted)")
        print(f"warehouse:          {settings.warehouse_path}")
        print(f"published for BI:   {serving} (version {version}; Parquet beside it)")
    else:
        print("nothing published yet (a gate failed or the run stopped early)")
    print("open the UI:        make ui   (then http://127.0.0.1:3000)")


def cmd_ui(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    _prepare_environment(settings)
    prepare_dbt()
    host = os.environ.get("CLIENTELE_UI_HOST", "127.0.0.1")
    return subprocess.call(
        [str(Path(sys.executable).parent / "dagster"), "dev", "-w", str(PROJECT_ROOT / "workspace.yaml"),
         "-h", host, "-p", str(args.port)],
        cwd=PROJECT_ROOT,
    )


def cmd_accuracy(args: argparse.Namespace) -> int:
    import duckdb

    from orchestration.identity.accuracy import measure_accuracy

    settings = Settings.from_env()
    truth = Path(args.truth) if args.truth else settings.landing_dir.parent / "ground_truth" / "records" / "*.parquet"
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        accuracy = measure_accuracy(conn, truth)
        with_anonymous = measure_accuracy(conn, truth, anonymous_types=())
    print(f"identity resolution in {settings.warehouse_path} against {truth}")
    print("records with a person-level identifier (email, phone, loyalty or account id):")
    print(accuracy.report())
    print("every record with an identifier, anonymous device activity included:")
    print(with_anonymous.report())
    ok = accuracy.precision >= args.min_precision and accuracy.recall >= args.min_recall
    print(f"targets: precision >= {args.min_precision:.1%}, recall >= {args.min_recall:.1%}: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


def cmd_contracts(args: argparse.Namespace) -> int:
    from orchestration.ingest.contracts import contract_markdown

    print(contract_markdown())
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="clientele", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="write omnichannel demo landing files with a known truth")
    gen.add_argument("--customers", type=int, default=20_000)
    gen.add_argument("--days", type=int, default=365)
    gen.add_argument("--seed", type=int, default=42)
    gen.add_argument("--end", help="last day (YYYY-MM-DD), default 2026-10-31")
    gen.add_argument("--bad-rows", type=float, default=0.0, help="share of damaged rows, e.g. 0.01")
    gen.add_argument("--out", default=str(Settings.from_env().landing_dir))
    gen.set_defaults(func=cmd_generate)

    cd = sub.add_parser("import-cdnow", help="turn lifetimes' CDNOW_master.txt into POS landing files")
    cd.add_argument("--out", default=str(Settings.from_env().landing_dir))
    cd.set_defaults(func=cmd_import_cdnow)

    run = sub.add_parser("run", help="generate demo data if none is landed, then run every asset once")
    run.add_argument("--cdnow", action="store_true", help="run on the real CDNOW transaction log instead of demo data")
    run.add_argument("--regenerate", action="store_true", help="write fresh demo data first")
    run.add_argument("--customers", type=int, default=20_000)
    run.add_argument("--day", help="run one night (YYYY-MM-DD) as the schedule does: that day's files, then the models")
    run.set_defaults(func=cmd_run)

    ui = sub.add_parser("ui", help="start the Dagster UI (dagster dev) on 127.0.0.1")
    ui.add_argument("--port", type=int, default=3000)
    ui.set_defaults(func=cmd_ui)

    acc = sub.add_parser("accuracy", help="score identity resolution against the generator's ground truth")
    acc.add_argument("--truth", help="Parquet file or glob of (channel, record_id, person_id); default: the demo's")
    acc.add_argument("--min-precision", type=float, default=0.995)
    acc.add_argument("--min-recall", type=float, default=0.99)
    acc.set_defaults(func=cmd_accuracy)

    con = sub.add_parser("contracts", help="print the channel contracts as Markdown")
    con.set_defaults(func=cmd_contracts)

    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", message=r".*is currently in (beta|preview).*")
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
