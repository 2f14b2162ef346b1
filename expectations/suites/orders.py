"""Every purchase once, with a time and a non-negative amount; no raw personal data."""

from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe
import pandas as pd

from expectations.suites.common import key, no_personal_data

TABLE = "marts.orders"
KEY = "order_key"


def build(frame: pd.DataFrame | None = None) -> gx.ExpectationSuite:
    block = {"on_failure": "block"}
    return gx.ExpectationSuite(
        name="orders",
        expectations=[
            *key(KEY),
            gxe.ExpectColumnValuesToNotBeNull(column="ordered_at", meta=block),
            gxe.ExpectColumnValuesToBeBetween(column="amount", min_value=0, meta=block),
            gxe.ExpectColumnValuesToBeInSet(column="sales_channel", value_set=["store", "online"], meta=block),
            *no_personal_data(frame),
        ],
    )
