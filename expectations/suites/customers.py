"""The unified profile BI reads: one row per customer, valid rungs, sane values, no raw personal data."""

from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe
import pandas as pd

from expectations.suites.common import key, no_personal_data

TABLE = "marts.customers"
KEY = "customer_id"
LEVELS = ["none", "micro", "weak", "strong", "super_strong"]
STAGES = ["prospect", "first_purchase", "repeat", "loyal", "at_risk", "lapsed", "reactivated"]


def build(frame: pd.DataFrame | None = None) -> gx.ExpectationSuite:
    block = {"on_failure": "block"}
    return gx.ExpectationSuite(
        name="customers",
        expectations=[
            *key(KEY),
            gxe.ExpectColumnValuesToBeInSet(column="relationship_level", value_set=LEVELS, meta=block),
            gxe.ExpectColumnValuesToBeInSet(column="lifecycle_stage", value_set=STAGES, meta=block),
            gxe.ExpectColumnValuesToBeBetween(column="orders", min_value=0, meta=block),
            gxe.ExpectColumnValuesToBeBetween(column="p_alive", min_value=0, max_value=1, meta=block),
            gxe.ExpectColumnValuesToBeBetween(column="clv_12m", min_value=0, meta=block),
            gxe.ExpectColumnValuesToBeBetween(column="latest_nps", min_value=0, max_value=10, meta=block),
            gxe.ExpectTableRowCountToBeBetween(min_value=1, meta=block),
            *no_personal_data(frame),
        ],
    )
