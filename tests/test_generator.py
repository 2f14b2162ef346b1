"""The demo generator: deterministic for a seed, files that honour the channel contracts, traps present."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb
import pandas as pd

from orchestration.ingest.contracts import CONTRACTS
from orchestration.ingest.loader import landing_files, load_partition
from orchestration.synthetic.generator import GeneratorConfig, generate

TINY = GeneratorConfig(customers=600, days=30, seed=11)


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            h.update(str(path.relative_to(folder)).encode())
            if path.suffix == ".parquet":
                h.update(pd.read_parquet(path).to_csv().encode())  # parquet metadata may carry versions
            else:
                h.update(path.read_bytes())
    return h.hexdigest()


def test_same_seed_same_files(tmp_path: Path) -> None:
    generate(TINY, tmp_path / "a" / "landing")
    generate(TINY, tmp_path / "b" / "landing")
    assert _digest(tmp_path / "a" / "landing") == _digest(tmp_path / "b" / "landing")
    generate(GeneratorConfig(customers=600, days=30, seed=12), tmp_path / "c" / "landing")
    assert _digest(tmp_path / "a" / "landing") != _digest(tmp_path / "c" / "landing")


def test_files_match_contracts_and_load_cleanly(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    generate(TINY, landing)
    conn = duckdb.connect()
    for name, contract in CONTRACTS.items():
        days = sorted(p.name for p in (landing / name).iterdir() if p.is_dir())
        assert days, f"no files for {name}"
        for day in days:
            load = load_partition(conn, contract, landing, day)
            assert load.rows_quarantined == 0, (name, day, dict(load.quarantined))
            assert load.extra_columns == [], (name, load.extra_columns)
    assert json.loads((landing / "crm_members" / "_source.json").read_text())["encoding"] == "gb18030"


def test_truth_and_traps_are_written(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    generate(TINY, landing)
    truth = landing.parent / "ground_truth"
    params = json.loads((truth / "parameters.json").read_text())
    assert set(params["parameters"]) == {"r", "alpha", "a", "b", "p", "q", "v"}
    ids = pd.read_parquet(truth / "identifiers-0000.parquet")
    devices = ids[ids["identifier_type"] == "device_id"]
    assert (devices.groupby("value")["person_id"].nunique() > 1).any(), "no shared family tablet"
    phones = ids[ids["identifier_type"] == "phone"]
    assert (phones.groupby("value")["person_id"].nunique() > 1).any(), "no recycled phone number"
    pos = pd.concat(pd.read_csv(f, dtype=str) for d in (landing / "pos_transactions").iterdir() for f in landing_files(d))
    assert pos["phone"].str.startswith("+44 20 7946", na=False).any(), "no store phone typed for walk-ins"
    names = pd.concat(pd.read_csv(f, dtype=str, encoding="gb18030") for d in (landing / "crm_members").iterdir() if d.is_dir() for f in landing_files(d))
    assert names["full_name"].str.contains("[\u4e00-\u9fff]", regex=True).any(), "no Chinese names"


def test_bad_rows_are_injected_when_asked(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    report = generate(GeneratorConfig(customers=600, days=30, seed=11, bad_row_rate=0.02), landing)
    assert report.bad_rows["app_web_events"] > 0
    conn = duckdb.connect()
    contract = CONTRACTS["app_web_events"]
    quarantined = sum(
        load_partition(conn, contract, landing, d.name).rows_quarantined
        for d in (landing / "app_web_events").iterdir()
    )
    assert quarantined >= report.bad_rows["app_web_events"] * 0.8
