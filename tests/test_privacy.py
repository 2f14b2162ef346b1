"""Privacy requests end to end: an erasure removes the whole person everywhere; an opt-out withdraws consent."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import duckdb
import pandas as pd

from orchestration.ingest.contracts import CONTRACTS
from orchestration.privacy.erasure import apply_erasures
from orchestration.privacy.keys import load_key, pseudonymize
from orchestration.serving.publish import current_path
from tests.conftest import configure_environment, rows_only_in_each, run_dbt


def _person_values(truth: pd.DataFrame, person: str, anonymous_devices: set[str]) -> dict[str, list[str]]:
    """The person's identifier values the platform can know as theirs: not shared with anybody else (a recycled
    phone, a family tablet) and, for devices, seen at least once beside an account (a device only ever used
    before login is anonymous: nothing ties it to anyone)."""
    owners = truth.groupby(["identifier_type", "value"])["person_id"].nunique()
    own = truth[truth["person_id"] == person]
    values: dict[str, list[str]] = {}
    for kind, value in own[["identifier_type", "value"]].itertuples(index=False):
        if owners[(kind, value)] == 1 and value not in anonymous_devices:
            values.setdefault(kind, []).append(value)
    return values


def _anonymous_devices(warehouse: Path) -> set[str]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return {r[0] for r in conn.execute(
            """select device_id from raw.app_web_events group by device_id having count(account_id) = 0
            except select device_id from raw.ecommerce_orders"""
        ).fetchall()}


def _hash(kind: str, value: str, key: bytes) -> str:
    normalised = value.lower().strip() if kind == "email" else value.replace(" ", "") if kind == "phone" else value.strip()
    return pseudonymize(normalised, key)


def _hashes(values: dict[str, list[str]], key: bytes) -> set[str]:
    return {_hash(kind, value, key) for kind, items in values.items() for value in items}


def _linked_to(values: dict[str, list[str]], request_id: str, key: bytes, warehouse: Path) -> dict[str, list[str]]:
    """Only the values the identity graph joined to the identifier the request named (suppressed under it): an
    erasure can know nothing else as the person's (a phone seen once on a till receipt, never beside their
    e-mail, belongs to nobody the platform knows)."""
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        linked = {r[0] for r in conn.execute(
            "select identifier_hash from privacy.suppressed_identifiers where request_id = ?", [request_id]).fetchall()}
    return {k: kept for k, items in values.items() if (kept := [v for v in items if _hash(k, v, key) in linked])}


def _search_everywhere(path: Path, needles: list[str], skip: set[str] = frozenset()) -> list[str]:
    """Every VARCHAR column of every table in a DuckDB file, searched for the needles (digits compared for phones)."""
    hits = []
    with duckdb.connect(str(path), read_only=True) as conn:
        columns = conn.execute(
            "select table_schema, table_name, column_name from information_schema.columns where data_type = 'VARCHAR'"
        ).fetchall()
        for schema, table, column in columns:
            if f"{schema}.{table}" in skip:
                continue
            found = conn.execute(
                f"""select count(*) from {schema}."{table}", (select unnest(?) as needle)
                where contains(lower("{column}"), needle)
                   or (needle similar to '[0-9]{{9,}}' and contains(regexp_replace("{column}", '[^0-9]', '', 'g'), needle))""",
                [needles],
            ).fetchall()[0][0]
            if found:
                hits.append(f"{schema}.{table}.{column}")
    return hits


def test_erasure_and_opt_out_are_honoured_on_the_next_run(pipeline_run, tmp_path: Path) -> None:  # noqa: ANN001
    from orchestration.cli import run_pipeline
    from orchestration.settings import Settings

    home = tmp_path / "home"
    shutil.copytree(pipeline_run.home, home, symlinks=True, ignore=shutil.ignore_patterns("dagster_home"))
    truth = pd.concat(pd.read_parquet(p) for p in (home / "ground_truth").glob("identifiers-*.parquet"))
    records = pd.concat(pd.read_parquet(p) for p in (home / "ground_truth" / "records").glob("*.parquet"))
    # A member who shops online too: the request names only the loyalty id, which the graph joined to the rest.
    # Their every identifier is theirs alone and known to be theirs, so every record of theirs must go.
    anonymous = _anonymous_devices(home / "warehouse" / "clientele.duckdb")
    owners = truth.groupby(["identifier_type", "value"])["person_id"].transform("nunique")
    unclear = set(truth.loc[(owners > 1) | truth["value"].isin(anonymous), "person_id"])
    kinds = truth[~truth["person_id"].isin(unclear)].groupby("person_id")["identifier_type"].agg(set)
    full = kinds[kinds.map(lambda k: {"email", "phone", "loyalty_id", "account_id", "device_id"} <= k)].index
    busy = records[records["person_id"].isin(full)].groupby("person_id").size().sort_values()
    erased, opted_out = busy.index[-1], busy.index[-2]
    erased_values = _person_values(truth, erased, anonymous)
    opt_out_phone = _person_values(truth, opted_out, anonymous)["phone"][0]
    assert {"email", "phone", "loyalty_id"} <= erased_values.keys()

    day = pipeline_run.days[-1]
    folder = home / "landing" / "privacy_requests" / day
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "late-requests.jsonl", "w") as fh:
        for request_id, kind, id_type, value in [
            ("TEST-ERASE-1", "erasure", "loyalty_id", f"  {erased_values['loyalty_id'][0]} "),
            ("TEST-OPTOUT-1", "opt_out", "phone", opt_out_phone),
        ]:
            fh.write(json.dumps({"request_id": request_id, "requested_at": f"{day} 09:00:00", "request_type": kind,
                                 "identifier_type": id_type, "identifier_value": value}) + "\n")
    # Erasures already honoured by the first run: the re-run re-ingests their landing files too.
    earlier = []
    for path in (pipeline_run.home / "landing" / "privacy_requests").glob("*/*.jsonl"):
        earlier += [json.loads(line) for line in path.read_text().splitlines()]
    earlier_ids = [r["request_id"] for r in earlier if r["request_type"] == "erasure"]
    request_of = dict(records.loc[records["record_id"].isin(earlier_ids), ["person_id", "record_id"]].itertuples(index=False))
    request_of[erased] = "TEST-ERASE-1"

    saved = dict(os.environ)
    try:
        configure_environment(home)
        settings = Settings.from_env()
        result = run_pipeline(settings, (pipeline_run.days[0], pipeline_run.days[-1]))
        assert result.success
        key = load_key(settings.hash_key_file)

        with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
            log = dict(conn.execute("select request_id, identifiers_suppressed from privacy.erasure_log").fetchall())
            assert log["TEST-ERASE-1"] >= 4, "the request should suppress every identifier linked to the loyalty id"
            assert set(earlier_ids) <= log.keys()
            # The person's own records keep their facts but no personal or identifying column.
            mine = records[records["person_id"] == erased]
            for channel, contract in CONTRACTS.items():
                ids = mine.loc[mine["channel"] == channel, "record_id"].tolist()
                if not ids or channel == "privacy_requests":
                    continue
                columns = [c.name for c in contract.columns if c.personal or c.identifier]
                left = conn.execute(
                    f"select count(*) from raw.{channel} where {contract.key} in (select unnest(?)) "
                    f"and coalesce({', '.join(f'cast({c} as varchar)' for c in columns)}) is not null",
                    [ids],
                ).fetchall()[0][0]
                loaded = conn.execute(
                    f"select count(*) from raw.{channel} where {contract.key} in (select unnest(?))", [ids]
                ).fetchall()[0][0]
                assert loaded > 0 and left == 0, channel
            # The opt-out withdrew marketing consent for the customer holding that phone.
            consent = conn.execute(
                """select c.email_marketing_consent, c.sms_marketing_consent from marts.customers c
                join marts.customer_identifiers i using (customer_id)
                where i.identifier_type = 'phone' and i.identifier_hash = ?""",
                [pseudonymize(opt_out_phone.replace(" ", ""), key)],
            ).fetchall()
            assert consent == [(False, False)]

        for person, request_id in request_of.items():
            values = _linked_to(_person_values(truth, person, anonymous), request_id, key, settings.warehouse_path)
            if person == erased:
                assert values == erased_values, "every identifier of the test person is linked to their loyalty id"
            needles = [v.lower().strip() for kind, items in values.items() if kind != "phone" for v in items]
            needles += [v.replace(" ", "")[3:].lstrip("0") for v in values.get("phone", [])]
            hashes = sorted(_hashes(values, key))
            assert _search_everywhere(settings.warehouse_path, needles) == [], person
            assert _search_everywhere(settings.warehouse_path, hashes, skip={"privacy.suppressed_identifiers"}) == [], person
            served = current_path(settings.serving_dir)
            assert _search_everywhere(served, needles + hashes) == [], person
        # No model keeps a row under an erased customer's id, incremental ones (rebuilt by customer) included.
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
            erased_ids = [c for c, in conn.execute(
                "select customer_id from identity.customer_registry where status = 'erased'").fetchall()]
            modelled = conn.execute(
                """select table_schema || '.' || table_name from information_schema.columns
                where column_name = 'customer_id' and table_schema in ('intermediate', 'marts')
                    and table_name in (select table_name from information_schema.tables where table_type = 'BASE TABLE')"""
            ).fetchall()
            assert erased_ids and len(modelled) > 5
            # ... while their interactions still count, anonymously: touchpoints holds every staged interaction, as a
            # full rebuild from the scrubbed staging does.
            touchpoints, interactions = conn.execute(
                "select (select count(*) from marts.touchpoints), (select count(*) from intermediate.int_touchpoints_unioned)"
            ).fetchone()
            assert touchpoints == interactions
            for table, in modelled:
                kept = conn.execute(f"select count(*) from {table} where customer_id in (select unnest(?))",
                                    [erased_ids]).fetchone()[0]
                assert kept == 0, table
        # Older published versions held the person: none is kept, and the new one copied nothing from them.
        assert [p.name for p in (home / "serving" / "versions").iterdir()] == [os.readlink(home / "serving" / "current").split("/")[-1]]
        with duckdb.connect(str(current_path(settings.serving_dir)), read_only=True) as served:
            assert served.execute("select copied_from_version, tables_by_difference from published_version").fetchone() == (None, [])
        # Staging and the identity graph's input keep rows across nights: from the next night on, the erased
        # people's rows equal rows staged again from the scrubbed raw rows.
        rebuilt = tmp_path / "rebuilt" / settings.warehouse_path.name
        rebuilt.parent.mkdir()
        shutil.copy(settings.warehouse_path, rebuilt)
        night = run_dbt("run", "--select", "staging", "int_identifier_records", warehouse=rebuilt)
        assert night.returncode == 0, night.stdout[-3000:]
        with duckdb.connect(str(rebuilt)) as conn:
            staged = [f"staging.{t}" for t, in conn.execute(
                "select table_name from duckdb_tables() where schema_name = 'staging'").fetchall()]
            staged.append("intermediate.int_identifier_records")
            conn.execute("create schema kept")
            for table in staged:
                conn.execute(f"create table kept.{table.split('.')[1]} as select * from {table}")
        build = run_dbt("run", "--select", "staging", "int_identifier_records", "--full-refresh", warehouse=rebuilt)
        assert build.returncode == 0, build.stdout[-3000:]
        with duckdb.connect(str(rebuilt), read_only=True) as conn:
            for table in staged:
                kept = f"kept.{table.split('.')[1]}"
                assert rows_only_in_each(conn, kept, table) == (0, 0), table
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_the_journey_marts_of_an_erasure_night_equal_a_full_rebuild(pipeline_run, tmp_path: Path) -> None:  # noqa: ANN001
    """An erasure of a device's owner keeps their touchpoints (source records, whose facts still count anonymously,
    as staging's do) and deletes the device's sessions. The night's incremental build of the journey marts then
    equals a full rebuild from the scrubbed data."""
    night = tmp_path / "night" / pipeline_run.warehouse.name  # the same name: dbt's views name their catalog
    rebuilt = tmp_path / "rebuilt" / pipeline_run.warehouse.name
    night.parent.mkdir()
    rebuilt.parent.mkdir()
    shutil.copy(pipeline_run.warehouse, night)
    with duckdb.connect(str(night)) as conn:
        # The device with the most clicks of a known customer.
        device, _ = conn.execute(
            """select e.device_id_hash, count(*) from staging.stg_app__events as e
            join intermediate.int_known_customer_records as r
                on r.source_channel = 'app_web_events' and r.record_id = e.event_id
            where e.device_id_hash is not null group by 1 order by 2 desc, 1 limit 1"""
        ).fetchone()
        conn.execute(
            """create table main.test_requests as select 'TEST-DEVICE-1' as request_id,
            timestamp '2030-01-01 09:00:00' as requested_at, 'erasure' as request_type,
            'device_id' as identifier_type, ? as identifier_hash""", [device])
        touchpoints = conn.execute("select count(*) from marts.touchpoints").fetchone()[0]
        assert apply_erasures(conn, requests="main.test_requests").customers_erased == 1
        conn.execute("drop table main.test_requests")
        assert conn.execute("select count(*) from marts.touchpoints").fetchone()[0] == touchpoints
        assert conn.execute("select count(*) from marts.sessions where device_id_hash = ?", [device]).fetchone()[0] == 0
    shutil.copy(night, rebuilt)
    models = ("int_known_customers", "int_known_customer_records", "touchpoints", "sessions")
    for warehouse, args in ((night, ()), (rebuilt, ("--full-refresh",))):
        run = run_dbt("run", "--select", *models, *args, warehouse=warehouse)
        assert run.returncode == 0, run.stdout[-3000:]
    with duckdb.connect(str(night)) as conn:
        conn.execute(f"attach '{rebuilt}' as rebuilt (read_only)")
        for model in ("touchpoints", "sessions"):
            columns = "* exclude (built_at)"  # which build wrote the row
            assert rows_only_in_each(conn, f"marts.{model}", f"rebuilt.marts.{model}", columns) == (0, 0), model
        assert conn.execute(
            "select count(*) from marts.touchpoints where customer_id in "
            "(select customer_id from identity.customer_registry where status = 'erased')"
        ).fetchone()[0] == 0
