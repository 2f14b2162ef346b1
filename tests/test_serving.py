"""BI readers during publication: never an error, never a mixed version; a killed publication leaves the last good one;
a version copied from the last and brought up to date by difference serves exactly the warehouse's tables."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from orchestration.serving.publish import FULL_WRITE_EVERY, PUBLISHED_BY_DIFFERENCE, PUBLISHED_TABLES, current_path, publish
from tests.conftest import pipeline_copy, rows_only_in_each

ROWS = 300_000
TABLES = {"facts": "marts.facts", "summary": "marts.summary"}


def _fill(warehouse: Path, version_marker: int, rows: int = ROWS) -> None:
    """Two tables that must agree: summary holds facts' row count and marker."""
    with duckdb.connect(str(warehouse)) as conn:
        conn.execute("create schema if not exists marts")
        conn.execute(
            f"create or replace table marts.facts as select i as id, {version_marker} as marker, "
            f"md5(cast(i as varchar)) as payload from range({rows + version_marker}) t(i)"
        )
        conn.execute(
            f"create or replace table marts.summary as select count(*) as n, max(marker) as marker from marts.facts"
        )


def _reader(serving: str, stop, results) -> None:  # noqa: ANN001
    """Opens the served file again and again, as a BI tool does, and checks each version is whole."""
    seen, errors, inconsistent = set(), [], 0
    while not stop.is_set():
        try:
            with duckdb.connect(str(current_path(Path(serving))), read_only=True) as conn:
                n, marker, facts_n, lo, hi = conn.execute(
                    "select s.n, s.marker, (select count(*) from facts), (select min(marker) from facts), "
                    "(select max(marker) from facts) from summary s"
                ).fetchone()
            if not (n == facts_n and lo == hi == marker):
                inconsistent += 1
            seen.add(marker)
        except Exception as exc:  # noqa: BLE001 - any error is what the test counts
            errors.append(f"{type(exc).__name__}: {exc}")
    results.put((sorted(seen), errors, inconsistent))


def test_readers_see_only_whole_versions_and_never_fail(tmp_path: Path) -> None:
    warehouse, serving = tmp_path / "warehouse.duckdb", tmp_path / "serving"
    _fill(warehouse, 0)
    with duckdb.connect(str(warehouse)) as conn:
        publish(conn, serving, TABLES)
    ctx = multiprocessing.get_context("spawn")
    stop, results = ctx.Event(), ctx.Queue()
    readers = [ctx.Process(target=_reader, args=(str(serving), stop, results)) for _ in range(2)]
    for r in readers:
        r.start()
    time.sleep(2)  # readers up and reading version 0
    for marker in range(1, 6):
        _fill(warehouse, marker)
        with duckdb.connect(str(warehouse)) as conn:
            publish(conn, serving, TABLES)
    time.sleep(1)
    stop.set()
    outcomes = [results.get(timeout=60) for _ in readers]
    for r in readers:
        r.join(timeout=60)
    for seen, errors, inconsistent in outcomes:
        assert errors == []
        assert inconsistent == 0
        assert seen[-1] == 5 and len(seen) >= 2, seen


def test_parquet_files_hold_the_rows_of_the_served_tables(tmp_path: Path) -> None:
    """Both are written from the warehouse side by side; neither may lose or gain a row, and the caller's connection
    keeps its insertion-order setting."""
    warehouse, serving = tmp_path / "warehouse.duckdb", tmp_path / "serving"
    _fill(warehouse, 3, rows=50_000)
    with duckdb.connect(str(warehouse)) as conn:
        published = publish(conn, serving, TABLES)
        assert conn.execute("select current_setting('preserve_insertion_order')").fetchone()[0] is True
    with duckdb.connect(str(published.path), read_only=True) as served:
        for name in TABLES:
            parquet = published.path.parent / "parquet" / f"{name}.parquet"
            in_file = f"read_parquet('{parquet}')"
            assert served.execute(f"select count(*) from {in_file}").fetchone()[0] == published.row_counts[name]
            assert rows_only_in_each(served, name, in_file) == (0, 0)
    assert published.row_counts == {"facts": 50_003, "summary": 1}


PUBLISH_SCRIPT = """
import sys, duckdb
from pathlib import Path
from orchestration.serving.publish import publish
with duckdb.connect(sys.argv[1]) as conn:
    print("publishing", flush=True)
    publish(conn, Path(sys.argv[2]), {"facts": "marts.facts", "summary": "marts.summary"})
"""


def _start_publication(warehouse: Path, serving: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", PUBLISH_SCRIPT, str(warehouse), str(serving)],
                            cwd=Path(__file__).resolve().parents[1], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "publishing"
    return proc


def test_a_publication_killed_at_any_point_leaves_the_last_good_version(tmp_path: Path) -> None:
    warehouse, serving = tmp_path / "warehouse.duckdb", tmp_path / "serving"
    _fill(warehouse, 1)
    with duckdb.connect(str(warehouse)) as conn:
        good = publish(conn, serving, TABLES, keep=10)
    _fill(warehouse, 2, rows=3_000_000)
    # How long one uninterrupted publication takes here, then kills spread over that time.
    timed = tmp_path / "timed"
    started = time.perf_counter()
    _start_publication(warehouse, timed).wait()
    duration = time.perf_counter() - started
    killed_while_writing = 0
    for fraction in (0.05, 0.2, 0.4, 0.6, 0.8, 0.95):
        proc = _start_publication(warehouse, serving)
        time.sleep(duration * fraction)
        if proc.poll() is not None:
            continue  # finished before the kill: nothing to test at this point
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        killed_while_writing += 1
        if os.readlink(serving / "current").endswith(good.version):
            with duckdb.connect(str(current_path(serving)), read_only=True) as conn:
                assert conn.execute("select marker from summary").fetchone()[0] == 1
        else:  # killed after the swap: the new version is whole
            with duckdb.connect(str(current_path(serving)), read_only=True) as conn:
                assert conn.execute("select marker, n from summary").fetchone() == (2, 3_000_002)
    assert killed_while_writing >= 3, f"publication took {duration:.2f}s, too fast to interrupt"
    # The next publication succeeds and clears what the killed ones left.
    with duckdb.connect(str(warehouse)) as conn:
        latest = publish(conn, serving, TABLES)
    assert os.readlink(serving / "current").endswith(latest.version)
    assert not list((serving / "versions").glob("*.tmp"))
    assert not list(serving.glob(".current-*"))
    with duckdb.connect(str(current_path(serving)), read_only=True) as conn:
        assert conn.execute("select marker, n from summary").fetchone() == (2, 3_000_002)


PATHS = {"conversion_paths": "marts.conversion_paths", "summary": "marts.summary"}


def _night(conn: duckdb.DuckDBPyConnection, night: int, sql: str) -> None:
    """A build of conversion_paths as dbt's delete+insert by order_key writes it: ``sql`` selects the orders
    rebuilt tonight (``order_key``, ``paths``); each gets ``paths`` rows stamped with tonight's built_at."""
    conn.execute(f"create or replace temp table rebuilt as select * from ({sql}) t(order_key, paths)")
    conn.execute("delete from marts.conversion_paths where order_key in (select order_key from rebuilt)")
    conn.execute(
        f"""insert into marts.conversion_paths (order_key, position, night, built_at)
        select order_key, position, {night} as night, timestamp '2026-11-01' + interval {night} day as built_at
        from rebuilt, range(paths) p(position)"""
    )
    conn.execute("create or replace table marts.summary as select count(*) as n from marts.conversion_paths")


def _published_equals_warehouse(conn: duckdb.DuckDBPyConnection, published) -> None:  # noqa: ANN001
    for name, source in PATHS.items():
        for served in (f"snap.main.{name}", f"read_parquet('{published.path.parent / 'parquet' / (name + '.parquet')}')"):
            assert rows_only_in_each(conn, served, source) == (0, 0), (name, served)


def _publish(conn: duckdb.DuckDBPyConnection, serving: Path, **options) -> tuple[str, ...]:  # noqa: ANN003
    published = publish(conn, serving, PATHS, **options)
    conn.execute(f"attach '{published.path}' as snap (read_only)")
    try:
        _published_equals_warehouse(conn, published)
        recorded, = conn.execute("select tables_by_difference from snap.published_version").fetchone()
        assert recorded == list(published.by_difference)
    finally:
        conn.execute("detach snap")
    return published.by_difference


def test_incremental_marts_are_published_by_difference_and_equal_the_warehouse(tmp_path: Path) -> None:
    """A version's DuckDB file starts as a copy of the previous one, and conversion_paths takes only the orders
    rebuilt since, minus the orders gone; whatever the night did, both forms equal the warehouse."""
    serving = tmp_path / "serving"
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as conn:
        conn.execute("create schema marts")
        conn.execute(
            "create table marts.conversion_paths (order_key varchar, position bigint, night integer, built_at timestamp)"
        )
        _night(conn, 0, "select 'o' || i as order_key, 1 + i % 4 as paths from range(20000) t(i)")
        assert _publish(conn, serving) == ()  # nothing to copy yet
        # Rebuilt orders with more or fewer rows, new orders, and orders gone (the model's post-hook deletes them).
        _night(conn, 1, "select 'o' || i, 1 + i % 3 from range(0, 20000, 50) t(i) union all select 'n' || i, 2 from range(300) t(i)")
        conn.execute("delete from marts.conversion_paths where order_key in ('o7', 'o8', 'o9')")
        assert _publish(conn, serving) == ("conversion_paths",)
        # An erasure deletes one row of an order that stays, written by no build: the counts disagree, so it is
        # written whole rather than served wrong.
        conn.execute("delete from marts.conversion_paths where order_key = 'o11' and position = 0")
        assert _publish(conn, serving) == ()
        _night(conn, 2, "select 'o' || i, 5 from range(1, 20000, 97) t(i)")
        assert _publish(conn, serving, from_previous=False) == ()  # after an erasure: nothing copied
        _night(conn, 3, "select 'o' || i, 2 from range(1, 20000, 89) t(i)")
        assert _publish(conn, serving) == ("conversion_paths",)
        _night(conn, 4, "select 'o' || i, 2 from range(0, 20000, 3) t(i)")  # a third rebuilt: cheaper whole
        assert _publish(conn, serving) == ()
        conn.execute("alter table marts.conversion_paths add column channel varchar default 'web'")
        _night(conn, 5, "select 'o' || i, 1 from range(5) t(i)")
        assert _publish(conn, serving) == ()  # a new column: written whole
        kinds = [_publish(conn, serving) for _ in range(FULL_WRITE_EVERY)]
        assert kinds.count(()) == 1  # and a fresh file once every FULL_WRITE_EVERY versions


def test_a_night_of_the_pipeline_publishes_the_incremental_marts_by_difference(pipeline_run, tmp_path: Path) -> None:  # noqa: ANN001
    """The last day loaded again, as a re-run does: the incremental marts rewrite its rows, and the new version,
    copied from the last one, serves exactly the warehouse's tables. The dbt steps remove invocation folders past
    their retention, and nothing else under dbt's target path."""
    from orchestration.cli import run_pipeline
    from orchestration.settings import DBT_PROJECT_DIR, Settings

    target = DBT_PROJECT_DIR / "target"
    stale, foreign = target / "dbt_staging-0000000-abcdef0", target / "kept-by-hand"
    for folder in (stale, foreign):
        folder.mkdir(exist_ok=True)
        os.utime(folder, (0, time.time() - 30 * 86_400))
    with pipeline_copy(pipeline_run, tmp_path) as home:
        previous = os.readlink(home / "serving" / "current").split("/")[-1]
        started = time.time()
        assert run_pipeline(Settings.from_env(), (pipeline_run.days[-1], pipeline_run.days[-1])).success
        assert not stale.exists() and foreign.exists()
        foreign.rmdir()
        written = [p for p in target.glob("dbt_*-*-*") if p.stat().st_mtime >= started]
        assert {p.name.rsplit("-", 2)[0] for p in written} >= {"dbt_staging", "dbt_core_marts", "dbt_customer_marts"}
        with duckdb.connect(str(current_path(home / "serving")), read_only=True) as served:
            copied_from, by_difference = served.execute(
                "select copied_from_version, tables_by_difference from published_version").fetchone()
            assert copied_from == previous and sorted(by_difference) == sorted(PUBLISHED_BY_DIFFERENCE)
            served.execute(f"attach '{home / 'warehouse' / 'clientele.duckdb'}' as w (read_only)")
            for name in PUBLISHED_BY_DIFFERENCE:
                rewritten, = served.execute(
                    f"select count(*) from {name} where built_at = (select max(built_at) from w.{PUBLISHED_TABLES[name]})"
                ).fetchone()
                assert rewritten > 0, name  # the night wrote rows that only the difference brought in
            for name, source in PUBLISHED_TABLES.items():
                assert rows_only_in_each(served, name, f"w.{source}") == (0, 0), name
