"""The CDNOW transaction log (shipped with lifetimes) as POS landing files.

CDNOW_master.txt holds 69,659 purchases by 23,570 customers of an online CD
store, 1997-01 to 1998-06: ``customer_id date(YYYYMMDD) number_of_cds dollar_value``.
Each customer becomes a loyalty id, each line a store sale, so the whole
pipeline runs on a real, public data set.
"""

from __future__ import annotations

import importlib.resources
import shutil
from pathlib import Path

import pandas as pd

CDNOW_FILE = "CDNOW_master.txt"


def cdnow_path() -> Path:
    return Path(str(importlib.resources.files("lifetimes") / "datasets" / CDNOW_FILE))


def read_cdnow(path: Path | None = None) -> pd.DataFrame:
    frame = pd.read_csv(
        path or cdnow_path(), sep=r"\s+", header=0, names=["customer_id", "date", "number_of_cds", "dollar_value"],
        dtype={"customer_id": str, "date": str},
    )
    frame["date"] = pd.to_datetime(frame["date"], format="%Y%m%d")
    return frame


def import_cdnow(landing_dir: Path, path: Path | None = None) -> tuple[int, int, str, str]:
    """Replace the landing folder with CDNOW as pos_transactions; returns rows, customers, first and last day."""
    frame = read_cdnow(path)
    landing_dir = Path(landing_dir)
    if landing_dir.exists():
        shutil.rmtree(landing_dir)
    pos = pd.DataFrame(
        {
            "transaction_id": [f"CDNOW-{i:06d}" for i in range(len(frame))],
            "store_id": "CDNOW",
            "occurred_at": frame["date"].dt.strftime("%Y-%m-%d 12:00:00"),
            "transaction_type": "sale",
            "loyalty_id": "CDNOW" + frame["customer_id"],
            "phone": None,
            "customer_name": None,
            "amount": frame["dollar_value"].map("{:.2f}".format),
            "items": frame["number_of_cds"],
            "payment_method": "card",
        }
    )
    day = frame["date"].dt.strftime("%Y-%m-%d")
    for d, part in pos.groupby(day):
        folder = landing_dir / "pos_transactions" / str(d)
        folder.mkdir(parents=True, exist_ok=True)
        part.to_csv(folder / "cdnow.csv", index=False)
    return len(frame), frame["customer_id"].nunique(), day.min(), day.max()
