"""Model outputs: probabilities are probabilities, values are finite and non-negative, bands are ordered."""

from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe
import pandas as pd

from expectations.suites.common import key

TABLE = "clv.customer_clv"
KEY = "customer_id"


def build(frame: pd.DataFrame | None = None) -> gx.ExpectationSuite:
    block = {"on_failure": "block"}
    # One customer's impossible score (a tail of the hypergeometric series) must not stop the night: the row is
    # set aside in quarantine.customer_clv with the rule it broke, and BI reads every other customer's value.
    quarantine = {"on_failure": "quarantine"}
    non_negative = ["expected_purchases_30d", "expected_purchases_90d", "expected_purchases_365d",
                    "expected_avg_order_value", "clv_12m", "clv_12m_p10", "clv_12m_p90"]
    return gx.ExpectationSuite(
        name="customer_clv",
        expectations=[
            *key(KEY),
            gxe.ExpectColumnValuesToNotBeNull(column="p_alive", meta=quarantine),
            gxe.ExpectColumnValuesToBeBetween(column="p_alive", min_value=0, max_value=1, meta=quarantine),
            *[gxe.ExpectColumnValuesToNotBeNull(column=c, meta=quarantine) for c in non_negative],
            # Between 0 and 1e12: NaN and infinity fail too.
            *[gxe.ExpectColumnValuesToBeBetween(column=c, min_value=0, max_value=1e12, meta=quarantine)
              for c in non_negative],
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="clv_12m_p90", column_B="clv_12m_p10", or_equal=True,
                                                        meta=quarantine),
            # Quarantine is for the odd row; a model that breaks for many customers is broken: block.
            gxe.ExpectColumnValuesToNotBeNull(column="clv_12m", mostly=0.99, meta=block),
            gxe.ExpectColumnValuesToBeBetween(column="clv_12m", min_value=0, max_value=1e12, mostly=0.99, meta=block),
        ],
    )
