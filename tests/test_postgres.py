"""Publishing to a real PostgreSQL server that the test starts (Debian's postgresql package), readers querying throughout.

Each reader statement joins the two published tables; a statement that saw two versions at once would show a
summary that disagrees with its facts (this caught a first design that swapped schemas by renaming them)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from orchestration.serving.postgres import publish_to_postgres
from orchestration.serving.publish import publish
from tests.test_serving import TABLES, _fill


def _binary(name: str) -> str | None:
    found = shutil.which(name) or sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found if isinstance(found, str) else (found[-1] if found else None)


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    if not (initdb and pg_ctl):
        pytest.skip("PostgreSQL server binaries not installed (Debian: apt install postgresql)")
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    root = Path(tempfile.mkdtemp(prefix="clientele-pg-"))
    root.chmod(0o755)
    if as_postgres:
        shutil.chown(root, "postgres", "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    subprocess.run([*as_postgres, initdb, "-D", str(root / "data"), "-A", "trust", "-U", "clientele", "--no-sync"],
                   check=True, capture_output=True)
    subprocess.run([*as_postgres, pg_ctl, "-D", str(root / "data"), "-l", str(root / "log"), "-w", "start",
                    "-o", f"-p {port} -k {root} -c listen_addresses='' -c fsync=off"], check=True, capture_output=True)
    try:
        yield f"postgresql://clientele@/postgres?host={root}&port={port}"
    finally:
        subprocess.run([*as_postgres, pg_ctl, "-D", str(root / "data"), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def _version(warehouse: Path, serving: Path, marker: int) -> tuple[Path, str]:
    _fill(warehouse, marker, rows=50_000)
    with duckdb.connect(str(warehouse)) as conn:
        published = publish(conn, serving, TABLES)
    return published.path, published.version


def test_versions_swap_atomically_for_postgres_readers(postgres_url: str, tmp_path: Path) -> None:
    import psycopg2

    warehouse, serving = tmp_path / "warehouse.duckdb", tmp_path / "serving"
    path, version = _version(warehouse, serving, 0)
    counts = publish_to_postgres(path, postgres_url, version)
    assert counts["facts"] == 50_000 and counts["summary"] == 1

    stop, seen, errors, inconsistent = threading.Event(), set(), [], []

    def read() -> None:
        with psycopg2.connect(postgres_url) as conn:
            conn.autocommit = True
            while not stop.is_set():
                try:
                    with conn.cursor() as cur:
                        cur.execute("select s.n, s.marker, (select count(*) from clientele.facts), "
                                    "(select min(marker) from clientele.facts) from clientele.summary s")
                        n, marker, facts, low = cur.fetchone()
                    seen.add(marker)
                    if n != facts or low != marker:
                        inconsistent.append((n, marker, facts, low))
                except Exception as exc:  # noqa: BLE001 - counted
                    errors.append(f"{type(exc).__name__}: {exc}")

    readers = [threading.Thread(target=read) for _ in range(2)]
    for r in readers:
        r.start()
    for marker in range(1, 7):
        path, version = _version(warehouse, serving, marker)
        publish_to_postgres(path, postgres_url, version)
    stop.set()
    for r in readers:
        r.join(timeout=60)
    assert errors == [] and inconsistent == []
    assert 6 in seen and len(seen) >= 2
    # With nobody reading, the next publication clears every older version but the one before it.
    path, version = _version(warehouse, serving, 7)
    publish_to_postgres(path, postgres_url, version)

    with psycopg2.connect(postgres_url) as conn, conn.cursor() as cur:
        cur.execute("select count(distinct _version) from clientele_data.facts")
        assert cur.fetchone()[0] == 2  # the current version and the one before
        cur.execute("select count(*), min(marker), max(marker) from clientele.facts")
        assert cur.fetchone() == (50_007, 7, 7)
        cur.execute("select version from clientele.published_version")
        assert cur.fetchone()[0] == version


def test_the_nightly_publish_step_also_publishes_to_postgres(postgres_url: str, pipeline_run, tmp_path: Path) -> None:  # noqa: ANN001
    import dagster as dg
    import psycopg2

    from orchestration.definitions import build_definitions
    from orchestration.serving.publish import current_path
    from orchestration.settings import Settings
    from tests.conftest import configure_environment

    home = tmp_path / "home"
    shutil.copytree(pipeline_run.home, home, symlinks=True, ignore=shutil.ignore_patterns("dagster_home"))
    saved = dict(os.environ)
    try:
        configure_environment(home)
        os.environ["CLIENTELE_POSTGRES_URL"] = postgres_url
        defs = build_definitions(Settings.from_env())
        job = defs.resolve_job_def("refresh_models")
        with dg.instance_for_test() as instance:
            result = job.execute_in_process(instance=instance, asset_selection=[dg.AssetKey("serving_snapshot")])
        assert result.success
        with duckdb.connect(str(current_path(home / "serving")), read_only=True) as served:
            expected = {t: served.execute(f"select count(*) from {t}").fetchone()[0] for t in ("customers", "orders")}
        with psycopg2.connect(postgres_url) as conn, conn.cursor() as cur:
            for table, rows in expected.items():
                cur.execute(f"select count(*) from clientele.{table}")
                assert cur.fetchone()[0] == rows > 0
    finally:
        os.environ.clear()
        os.environ.update(saved)
