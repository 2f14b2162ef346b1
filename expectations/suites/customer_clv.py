"""Model outputs: probabilities are probabilities, values are finite and non-negative, bands are ordered."""

from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe
import pandas as pd

from expectations.suites.common import key

TABLE = "clv.customer_clv"


def build(frame: pd.DataFrame | None = None) -> gx.ExpectationSuite:
    block = {"on_failure": "block"}
    non_negative = ["expected_purchases_30d", "expected_purchases_90d", "expected_purchases_365d",
                    "expected_avg_order_value", "clv_12m", "clv_12m_p10", "clv_12m_p90"]
    return gx.ExpectationSuite(
        name="customer_clv",
        expectations=[
            *key("customer_id"),
            gxe.ExpectColumnValuesToNotBeNull(column="p_alive", meta=block),
            gxe.ExpectColumnValuesToBeBetween(column="p_alive", min_value=0, max_value=1, meta=block),
            *[gxe.ExpectColumnValuesToNotBeNull(column=c, meta=block) for c in non_negative],
            # Between 0 and 1e12: NaN and infinity fail too.
            *[gxe.ExpectColumnValuesToBeBetween(column=c, min_value=0, max_value=1e12, meta=block) for c in non_negative],
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="clv_12m_p90", column_B="clv_12m_p10", or_equal=True,
                                                        meta=block),
        ],
    )
