"""The nightly refresh end to end at scale, against baselines measured in the same run.

    python benchmarks/nightly_refresh.py --customers 100000 [--days 730] [--home DIR]

1. Demo data for ``--customers`` over ``--days`` (generated once per home, then reused).
2. Full refresh: ``clientele run`` over every landed day but the last, in its own process; the
   resident memory of that process and its children (dbt) is sampled every 0.25 s. Time and peak
   memory per stage (ingest, staging, identity, marts, gates, CLV, publish) come from the steps'
   start and end in Dagster's event log.
3. Incremental night: the last day lands and ``clientele run --day`` refreshes it, as the schedule
   does; its time against the full refresh.
4. Baselines, same machine, same run: a plain DuckDB read of every landed file into tables (the
   floor for ingest), a plain DuckDB scan-and-aggregate pass over every landed file (the floor no
   pipeline can beat), and the plain lifetimes CLV path on the run's orders (benchmarks/clv_at_scale.py).

5. Profiles: DuckDB's EXPLAIN ANALYZE of the slowest dbt model of the full refresh and of the night, re-run
   read-only on the warehouse after the runs at the same memory limit: operators by time, and what it spilled.
   The night's model runs on the warehouse the night left, so an incremental model shows what it costs with
   nothing left to add: the night's fixed cost.

Prints Markdown tables and the ratios; writes benchmarks/results/<date>-nightly-<customers>.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results"
STAGES = ("ingest", "staging", "identity", "marts", "gates", "clv", "publish")
STEP_STAGES = {"dbt_staging": "staging", "identity_resolution": "identity", "dbt_core_marts": "marts",
               "dbt_customer_marts": "marts", "customer_lifetime_value": "clv", "serving_snapshot": "publish"}
TARGET_MINUTES, TARGET_GIB = 15, 6
NIGHT_AIM = 0.15  # one new night / full refresh
# Disk a run needs beside its landing files, per customer: the warehouse (22 GB at a million), up to three published
# versions at once (5-8 GB each) and DuckDB's spill files (up to 15 GB). Measured at a million customers, 2026-11-24.
DISK_BYTES_PER_CUSTOMER = 60_000


def stage_of(step_key: str) -> str:
    from orchestration.ingest.contracts import CONTRACTS

    if "gx_" in step_key:
        return "gates"
    if step_key in STEP_STAGES:
        return STEP_STAGES[step_key]
    if step_key.split(".")[0] in CONTRACTS:
        return "ingest"
    return "other"  # freshness checks and the like


class MemorySampler:
    """Peak resident memory of a process and its descendants, sampled from /proc; also the process's own, so a
    stage's peak says how much of it is the run process (Dagster's in-process steps) and how much dbt."""

    def __init__(self, pid: int, every: float = 0.25) -> None:
        self.pid, self.every, self.samples = pid, every, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _tree_rss(self) -> tuple[int, int]:
        children: dict[int, list[int]] = defaultdict(list)
        rss: dict[int, int] = {}
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                stat = (proc / "stat").read_text()
                fields = stat[stat.rindex(")") + 2:].split()
                children[int(fields[1])].append(int(proc.name))
                rss[int(proc.name)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
            except (OSError, ValueError, IndexError):
                continue
        total, todo = 0, [self.pid]
        while todo:
            pid = todo.pop()
            total += rss.get(pid, 0)
            todo.extend(children.get(pid, []))
        return total, rss.get(self.pid, 0)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.time(), *self._tree_rss()))
            self._stop.wait(self.every)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def peak(self, start: float = 0.0, end: float = float("inf"), own: bool = False) -> int:
        """The highest sample of the tree (or, ``own``, of the process alone) between start and end."""
        return max((o if own else r for t, r, o in self.samples if start <= t <= end), default=0)


def run_clientele(home: Path, *args: str, required: bool = True) -> dict[str, object]:
    """``clientele run`` in its own process; wall time, peak memory, and time and memory per stage.

    A run that is not ``required`` may fail: the result says so (``failed``, the last error) and the benchmark
    goes on to the baselines, which do not depend on it."""
    env = os.environ | {"CLIENTELE_HOME": str(home), "DAGSTER_HOME": str(home / "dagster_home"),
                        "CLIENTELE_PARTITION_START": first_day(home)}
    before = set(run_ids(home))
    started = time.time()
    process = subprocess.Popen([str(Path(sys.executable).parent / "clientele"), "run", *args], env=env, cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    sampler = MemorySampler(process.pid)
    output = process.communicate()[0]
    sampler.stop()
    seconds = time.time() - started
    if process.returncode != 0:
        print(output[-5000:])
        if required:
            raise SystemExit(f"clientele run {' '.join(args)} failed ({process.returncode})")
        errors = [line.strip() for line in output.splitlines() if "Error" in line and "Traceback" not in line]
        return {"failed": True, "seconds": round(seconds, 1), "peak_gib": round(sampler.peak() / 2**30, 2),
                "stages": {}, "error": errors[-1][:500] if errors else output[-500:]}
    windows: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for run_id in [r for r in run_ids(home) if r not in before]:
        for step, window in step_windows(home, run_id).items():
            windows[stage_of(step)].append(window)
    stages = {}
    for stage, spans in windows.items():
        busy = sum(end - start for start, end in merge(spans))
        stages[stage] = {"seconds": round(busy, 1),
                         "peak_gib": round(max(sampler.peak(s, e) for s, e in spans) / 2**30, 2),
                         "run_process_peak_gib": round(max(sampler.peak(s, e, own=True) for s, e in spans) / 2**30, 2)}
    return {"seconds": round(seconds, 1), "peak_gib": round(sampler.peak() / 2**30, 2), "stages": stages,
            "started_at": started, "slowest_dbt_nodes": [
                {k: v for k, v in n.items() if k != "compiled_code"} for n in dbt_nodes(started, time.time())[:10]],
            "summary": output[output.rfind("run succeeded"):].strip()}


def dbt_nodes(since: float, until: float, target: Path = ROOT / "dbt_project" / "target") -> list[dict[str, object]]:
    """The dbt models and tests a run built, slowest first, from the run_results.json of each dbt invocation it made
    (Dagster gives each one its own target folder): where the dbt stages spend their time."""
    nodes = []
    for results in target.glob("*/run_results.json"):
        if not since <= results.stat().st_mtime <= until:
            continue
        for node in json.loads(results.read_text())["results"]:
            nodes.append({"node": node["unique_id"].split(".", 2)[-1], "seconds": round(node["execution_time"], 1),
                          "invocation": results.parent.name.rsplit("-", 2)[0],
                          "resource_type": node["unique_id"].split(".")[0], "compiled_code": node.get("compiled_code")})
    return sorted(nodes, key=lambda n: n["seconds"], reverse=True)


def operators(node: dict) -> Iterator[dict]:
    """Every operator of an EXPLAIN ANALYZE JSON plan, depth first."""
    yield node
    for child in node.get("children", []):
        yield from operators(child)


def slowest_model_profile(home: Path, run: dict, target: Path = ROOT / "dbt_project" / "target",
                          top: int = 8) -> dict[str, object]:
    """DuckDB's EXPLAIN ANALYZE of the run's slowest dbt model: its compiled SQL (as the run built it) re-run
    read-only on the warehouse at the pipeline's memory limit, with the pseudonymisation key's pads set as dbt's
    plugin sets them. Operator times are summed over DuckDB's threads, so they add up to more than the wall time."""
    from orchestration.privacy.keys import hmac_pads, load_key, set_hmac_pads
    from orchestration.settings import Settings

    models = [n for n in dbt_nodes(run["started_at"], run["started_at"] + run["seconds"], target)
              if n["resource_type"] == "model" and n["compiled_code"]]
    if not models:
        return {"skipped": "no dbt model in the run"}
    model = models[0]
    config = {"memory_limit": Settings.from_env().duckdb_memory_limit}
    with duckdb.connect(str(home / "warehouse" / "clientele.duckdb"), read_only=True, config=config) as conn:
        conn.execute("set enable_progress_bar = false")
        set_hmac_pads(conn, hmac_pads(load_key(home / "secrets" / "hash_key")))
        plan = json.loads(conn.execute("explain (analyze, format json) " + model["compiled_code"]).fetchall()[0][1])
    steps = [op for op in operators({"children": plan["operator"]})
             if op.get("timing") and op["type"] not in ("EXPLAIN_ANALYZE", "RESULT_COLLECTOR")]
    summed = sum(op["timing"] for op in steps)
    slowest = sorted(steps, key=lambda op: op["timing"], reverse=True)[:top]

    def detail(op: dict) -> str:
        info = op.get("extra_info", {})
        text = info.get("Table") or info.get("Conditions") or info.get("Groups") or info.get("Projections") or ""
        return (", ".join(text) if isinstance(text, list) else str(text)).replace("\n", " ")[:100]

    return {"node": model["node"], "build_seconds": model["seconds"],
            "seconds": round(plan["query"]["total_time"], 1), "operator_seconds": round(summed, 1),
            "spilled_gib": round(plan["system"]["peak_temp_dir_size"] / 2**30, 2),
            "peak_buffer_gib": round(plan["system"]["peak_buffer_memory"] / 2**30, 2),
            "operators": [{"operator": op["type"], "detail": detail(op), "rows": op.get("intermediate_rows", 0),
                           "seconds": round(op["timing"], 1), "share": round(op["timing"] / summed, 3)} for op in slowest]}


def merge(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Overlapping step windows counted once (ingest steps of a backfill share one run)."""
    merged: list[tuple[float, float]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _instance(home: Path):  # noqa: ANN202
    import dagster as dg

    os.environ["DAGSTER_HOME"] = str(home / "dagster_home")
    return dg.DagsterInstance.get()


def run_ids(home: Path) -> list[str]:
    if not (home / "dagster_home").exists():
        return []
    with _instance(home) as instance:
        return [r.run_id for r in instance.get_runs()]


def step_windows(home: Path, run_id: str) -> dict[str, tuple[float, float]]:
    with _instance(home) as instance:
        starts, windows = {}, {}
        for entry in instance.all_logs(run_id):
            event = entry.dagster_event
            if event is None or event.step_key is None:
                continue
            if event.event_type_value == "STEP_START":
                starts[event.step_key] = entry.timestamp
            elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE") and event.step_key in starts:
                windows[event.step_key] = (starts[event.step_key], entry.timestamp)
    return windows


def first_day(home: Path) -> str:
    from orchestration.cli import landed_days

    return landed_days(home / "landing")[0]


def landed_files(landing: Path) -> dict[str, str]:
    """Per channel, the DuckDB reader over every landed file (GB18030 CSV decoded to UTF-8 first, as a reader must)."""
    from orchestration.ingest.contracts import CONTRACTS
    from orchestration.ingest.loader import source_settings

    readers = {}
    for channel in CONTRACTS:
        folder = landing / channel
        files = sorted(p for p in folder.glob("*/*") if p.is_file())
        if not files:
            continue
        suffix = "".join(files[0].suffixes)
        if suffix.startswith(".csv") and source_settings(folder, CONTRACTS[channel])["encoding"].lower() != "utf-8":
            utf8 = Path(tempfile.mkdtemp(prefix="clientele-bench-utf8-"))
            for i, f in enumerate(files):
                (utf8 / f"{i}.csv").write_text(f.read_text(encoding="gb18030"), encoding="utf-8")
            readers[channel] = f"read_csv('{utf8}/*.csv', union_by_name = true, all_varchar = true)"
        elif suffix.startswith(".csv"):
            readers[channel] = f"read_csv('{folder}/*/*.csv*', union_by_name = true, all_varchar = true)"
        elif suffix.startswith(".json"):  # the contract's columns, as text: inferring a union schema over
            # hundreds of files takes DuckDB more than 18 GiB
            columns = "{" + ", ".join(f"'{c.name}': 'VARCHAR'" for c in CONTRACTS[channel].columns) + "}"
            readers[channel] = f"read_json('{folder}/*/*{suffix}', columns = {columns}, format = 'newline_delimited')"
        else:
            readers[channel] = f"read_parquet('{folder}/*/*.parquet', union_by_name = true)"
    return readers


def baselines(landing: Path) -> dict[str, object]:
    """Plain DuckDB over the landed files: a read into tables, and one scan-and-aggregate pass."""
    from orchestration.ingest.contracts import CONTRACTS

    readers = landed_files(landing)
    scratch = Path(tempfile.mkdtemp(prefix="clientele-bench-plain-"))
    result: dict[str, object] = {}
    try:
        with duckdb.connect(str(scratch / "plain.duckdb"), config={"preserve_insertion_order": False}) as conn:
            started, rows = time.perf_counter(), 0
            for channel, reader in readers.items():
                conn.execute(f"create table {channel} as select * from {reader}")
                rows += conn.execute(f"select count(*) from {channel}").fetchone()[0]
            result["plain_read"] = {"seconds": round(time.perf_counter() - started, 1), "rows": rows}
        with duckdb.connect(config={"preserve_insertion_order": False}) as conn:
            started = time.perf_counter()
            for channel, reader in readers.items():
                contract = CONTRACTS[channel]
                conn.execute(f"select count(*), count(distinct {contract.key}), min({contract.event_time}), "
                             f"max({contract.event_time}) from {reader}").fetchall()
            result["scan_and_aggregate"] = {"seconds": round(time.perf_counter() - started, 1)}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return result


def plain_lifetimes(home: Path) -> dict[str, object]:
    """benchmarks/clv_at_scale.py's plain lifetimes path on the orders of customers the run resolved."""
    scratch = Path(tempfile.mkdtemp(prefix="clientele-bench-lifetimes-"))
    with duckdb.connect(str(home / "warehouse" / "clientele.duckdb"), read_only=True) as conn:
        conn.execute(f"copy (select customer_id, cast(ordered_at as date) as order_date, cast(amount as double) as amount "
                     f"from marts.orders where customer_id is not null) to '{scratch / 'orders.parquet'}'")
    out = scratch / "plain.json"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "clv_at_scale.py"), "--side", "plain",
                    "--orders", str(scratch / "orders.parquet"), "--out", str(out)], check=True)
    plain = json.loads(out.read_text())
    shutil.rmtree(scratch, ignore_errors=True)
    return {"seconds": round(sum(plain["timings"].values()), 1), "timings": plain["timings"],
            "customers": plain["customers"], "peak_gib": round(plain["peak_rss_mib"] / 1024, 2)}


def prepare(home: Path, customers: int, days: int) -> tuple[str, dict[str, object]]:
    """Landing files for the configuration (reused when the home holds them), the last day held back."""
    marker = home / "bench-config.json"
    config = {"customers": customers, "days": days}
    held = home / "held"
    generation: dict[str, object] = {}
    if not marker.exists() or json.loads(marker.read_text()) != config:
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True)
        started = time.time()
        process = subprocess.Popen([str(Path(sys.executable).parent / "clientele"), "generate", "--customers",
                                    str(customers), "--days", str(days), "--out", str(home / "landing")], cwd=ROOT)
        sampler = MemorySampler(process.pid)
        process.wait()
        sampler.stop()
        if process.returncode:
            raise SystemExit("generation failed")
        generation = {"seconds": round(time.time() - started, 1), "peak_gib": round(sampler.peak() / 2**30, 2)}
        marker.write_text(json.dumps(config))
    for stale in ("warehouse", "serving", "dagster_home", "data_docs", "partition_start"):
        path = home / stale
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
    (home / "dagster_home").mkdir()
    shutil.copy(ROOT / ".dagster_home" / "dagster.yaml", home / "dagster_home" / "dagster.yaml")
    for folder in held.glob("*/*") if held.exists() else []:  # an interrupted earlier run
        shutil.move(str(folder), str(home / "landing" / folder.parent.name / folder.name))
    from orchestration.cli import landed_days

    last = landed_days(home / "landing")[-1]
    for folder in (home / "landing").glob(f"*/{last}"):
        (held / folder.parent.name).mkdir(parents=True, exist_ok=True)
        shutil.move(str(folder), str(held / folder.parent.name / last))
    return last, generation


def check_free_space(home: Path, customers: int) -> None:
    """Stop before a run that would fill the disk part-way: a million customers take 40 minutes, and one such run
    failed in its night's publication for want of space."""
    need, free = customers * DISK_BYTES_PER_CUSTOMER, shutil.disk_usage(home).free
    if free < need:
        raise SystemExit(f"{home}: {free / 2**30:.1f} GiB free, and a run of {customers:,} customers needs about "
                         f"{need / 2**30:.0f} GiB (warehouse, published versions, DuckDB's spill files): free some, "
                         f"or pass --home on a larger disk")


def land(home: Path, day: str) -> None:
    for folder in (home / "held").glob(f"*/{day}"):
        shutil.move(str(folder), str(home / "landing" / folder.parent.name / day))


def row_counts(home: Path) -> dict[str, int]:
    with duckdb.connect(str(home / "warehouse" / "clientele.duckdb"), read_only=True) as conn:
        tables = [t for t, in conn.execute("select table_name from duckdb_tables() where schema_name = 'raw'").fetchall()]
        raw = sum(conn.execute(f"select count(*) from raw.{t}").fetchone()[0] for t in tables)
        customers = conn.execute("select count(*) from marts.customers").fetchone()[0]
        orders = conn.execute("select count(*) from marts.orders").fetchone()[0]
    return {"raw_rows": int(raw), "customers": int(customers), "orders": int(orders)}


def identity_resolution(home: Path) -> dict[str, object]:
    """The full refresh's resolution (iterations, identifiers, edges, customers) and its accuracy against the truth."""
    from orchestration.identity.accuracy import measure_accuracy

    with duckdb.connect(str(home / "warehouse" / "clientele.duckdb"), read_only=True) as conn:
        run = conn.execute("select * from identity.resolution_runs order by run_at limit 1").df().iloc[0]
        started = time.perf_counter()
        accuracy = measure_accuracy(conn, home / "ground_truth" / "records" / "*.parquet")
        scored_in = time.perf_counter() - started
    return {"iterations": int(run["iterations"]), "identifiers": int(run["identifiers"]), "edges": int(run["edges"]),
            "customers": int(run["customers"]), "precision": round(accuracy.precision, 5),
            "recall": round(accuracy.recall, 5), "recall_ceiling": round(accuracy.recall_ceiling, 5),
            "accuracy_seconds": round(scored_in, 1)}


def slowest_stage(stages: dict) -> str:
    """The named stage (not "other") that took longest, with its time: what holds a missed target back."""
    slowest = max(STAGES, key=lambda s: stages.get(s, {}).get("seconds", 0))
    return f"{slowest} ({stages[slowest]['seconds']} s)"


def night_ratio(nightly: dict, full: dict) -> str:
    if nightly.get("skipped"):
        return "not measured (--skip-night)"
    if nightly.get("failed"):
        return f"not measured: the night failed after {nightly['seconds']} s ({nightly['error']})"
    share = nightly["seconds"] / full["seconds"]
    if share < NIGHT_AIM:
        return f"{share:.1%}"
    return f"{share:.1%}; over the aim, the night's slowest stage: {slowest_stage(nightly['stages'])}"


def markdown(result: dict) -> str:
    full, nightly, base = result["full_refresh"], result["incremental_night"], result["baselines"]
    lines = [f"## Nightly refresh, {result['customers']:,} customers, {result['days']} days "
             f"({result['rows']['raw_rows']:,} landed rows), {result['date']}", "",
             "| stage | full refresh | peak memory (run process) | one new night | peak memory (run process) |",
             "| --- | --- | --- | --- | --- |"]

    def memory(stage: dict | None) -> str:
        return f"{stage['peak_gib']:.2f} GiB ({stage.get('run_process_peak_gib', 0):.2f})" if stage else "-"

    for stage in (*STAGES, "other"):
        a, b = full["stages"].get(stage), nightly["stages"].get(stage)
        if a or b:
            night = f"{b['seconds']:.1f} s | {memory(b)}" if b else "- | -"
            lines.append(f"| {stage} | {a['seconds'] if a else 0:.1f} s | {memory(a)} | {night} |")
    lines.append(f"| **whole run** | **{full['seconds']:.1f} s** | **{full['peak_gib']:.2f} GiB** | "
                 + ("skipped | |" if nightly.get("skipped") else
                    f"**{nightly['seconds']:.1f} s**{' (failed)' if nightly.get('failed') else ''} | "
                    f"**{nightly['peak_gib']:.2f} GiB** |"))
    lines += ["", "| measure | value |", "| --- | --- |"]
    for name, value in result["ratios"].items():
        lines.append(f"| {name} | {value} |")
    lines.append(f"| rows per second (landed rows / full refresh) | {result['rows']['raw_rows'] / full['seconds']:,.0f} |")
    lines.append(f"| targets ({TARGET_MINUTES} min, {TARGET_GIB} GiB) | {result['targets']} |")
    ident = result["identity"]
    lines.append(f"| identity resolution | {ident['identifiers']:,} identifiers, {ident['edges']:,} edges, "
                 f"{ident['iterations']} iterations, {ident['customers']:,} customers; precision "
                 f"{ident['precision']:.3%}, recall {ident['recall']:.3%} (ceiling {ident['recall_ceiling']:.3%}) |")
    lines.append(f"| baselines | plain read {base['plain_read']['seconds']} s, scan-and-aggregate "
                 f"{base['scan_and_aggregate']['seconds']} s, plain lifetimes {base['plain_lifetimes']['seconds']} s |")
    for label, run in (("full refresh", full), ("one new night", nightly)):
        lines += ["", f"Slowest dbt nodes, {label} (dbt's run_results.json):", "", "| node | step | seconds |",
                  "| --- | --- | --- |"]
        lines += [f"| {n['node']} | {n['invocation']} | {n['seconds']} |" for n in run.get("slowest_dbt_nodes", [])]
    for label, profile in result.get("profiles", {}).items():
        if not profile.get("operators"):
            continue
        lines += ["", f"Where the {label}'s slowest model, {profile['node']}, spends its time (DuckDB's EXPLAIN "
                  f"ANALYZE of its SELECT, re-run read-only after the runs: {profile['seconds']} s, against "
                  f"{profile['build_seconds']} s to build it in the run; {profile['operator_seconds']} "
                  f"operator-seconds over the threads; spilled {profile['spilled_gib']} GiB, peak buffer "
                  f"{profile['peak_buffer_gib']} GiB):", "",
                  "| operator | detail | rows | seconds | share |", "| --- | --- | --- | --- | --- |"]
        lines += [f"| {o['operator']} | {o['detail'].replace('|', '/')} | {o['rows']:,} | {o['seconds']} | {o['share']:.0%} |"
                  for o in profile["operators"]]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--skip-night", action="store_true", help="measure the full refresh and the baselines only")
    parser.add_argument("--home", type=Path, help="where data and warehouse live (default: a folder under the temp dir)")
    args = parser.parse_args()
    home = (args.home or Path(tempfile.gettempdir()) / f"clientele-bench-{args.customers}").resolve()

    RESULTS.mkdir(parents=True, exist_ok=True)
    partial = RESULTS / f"{date.today().isoformat()}-nightly-{args.customers}.partial.json"
    measured: dict[str, object] = {"customers": args.customers, "days": args.days}

    def keep(name: str, value: object) -> object:
        measured[name] = value
        partial.write_text(json.dumps(measured, indent=2) + "\n")
        return value

    last, generation = prepare(home, args.customers, args.days)
    check_free_space(home, args.customers)
    keep("generation", generation)
    print(f"full refresh of {home} (every day but {last}) ...", flush=True)
    full = keep("full_refresh", run_clientele(home))
    if args.skip_night:
        nightly = keep("incremental_night", {"skipped": True, "seconds": 0, "peak_gib": 0, "stages": {}})
    else:
        land(home, last)
        print(f"one new night: {last} ...", flush=True)
        nightly = keep("incremental_night", run_clientele(home, "--day", last, required=False))
    print("baselines: plain DuckDB read, scan-and-aggregate, plain lifetimes ...", flush=True)
    base = keep("baselines", baselines(home / "landing"))
    base["plain_lifetimes"] = plain_lifetimes(home)
    keep("baselines", base)
    print("profiles: EXPLAIN ANALYZE of the slowest dbt model of the full refresh and of the night ...", flush=True)
    profiles = keep("profiles", {label: slowest_model_profile(home, run) for label, run in
                                 (("full refresh", full), ("one new night", nightly)) if "started_at" in run})

    stages = full["stages"]
    within = full["seconds"] <= TARGET_MINUTES * 60 and full["peak_gib"] <= TARGET_GIB
    gates = stages.get("gates", {}).get("seconds", 0)
    result = {
        "date": date.today().isoformat(), "customers": args.customers, "days": args.days, "machine_cores": os.cpu_count(),
        "generation": generation, "rows": row_counts(home), "identity": identity_resolution(home),
        "full_refresh": full, "incremental_night": nightly,
        "baselines": base, "profiles": profiles,
        "ratios": {
            "full refresh / scan-and-aggregate (aim 10x)": f"{full['seconds'] / base['scan_and_aggregate']['seconds']:.1f}x",
            "ingest stage / plain DuckDB read": f"{stages['ingest']['seconds'] / base['plain_read']['seconds']:.1f}x",
            "plain lifetimes / CLV stage": f"{base['plain_lifetimes']['seconds'] / stages['clv']['seconds']:.1f}x",
            "gates / full refresh": f"{gates / full['seconds']:.1%}",
            "gates / full refresh without them (the gates' addition, aim <= 10%)": f"{gates / (full['seconds'] - gates):.1%}",
            "one new night / full refresh (aim < 15%)": night_ratio(nightly, full),
        },
        "targets": ("met" if within else "MISSED") + f"; slowest stage: {slowest_stage(stages)}",
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = RESULTS / f"{result['date']}-nightly-{args.customers}"
    stem.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    stem.with_suffix(".md").write_text(markdown(result))
    partial.unlink(missing_ok=True)
    print(markdown(result))
    print(f"results: {stem}.json, {stem}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
