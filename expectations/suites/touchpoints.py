"""Every interaction once, in a known channel and type, at a time; no raw personal data. A drop in how much of
the activity is stitched to customers warns: identity resolution or a source lost its identifiers."""

from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe
import pandas as pd

from expectations.suites.common import key, no_personal_data

TABLE = "marts.touchpoints"
KEY = "touchpoint_id"
CHANNELS = ["web", "app", "mini_program", "store", "email", "sms", "push", "phone", "chat", "loyalty", "unknown"]
MIN_STITCHED_SHARE = 0.5  # the demo stitches about 93%; a real business with many anonymous visitors may lower it


def build(frame: pd.DataFrame | None = None) -> gx.ExpectationSuite:
    block = {"on_failure": "block"}
    return gx.ExpectationSuite(
        name="touchpoints",
        expectations=[
            *key(KEY),
            gxe.ExpectColumnValuesToNotBeNull(column="occurred_at", meta=block),
            gxe.ExpectColumnValuesToNotBeNull(column="touchpoint_type", meta=block),
            gxe.ExpectColumnValuesToBeInSet(column="channel", value_set=CHANNELS, meta=block),
            gxe.ExpectColumnValuesToBeBetween(column="touchpoint_value", min_value=0, meta=block),
            # A share, not a row rule: anonymous activity is normal, so no row is "unexpected" (and GX need not
            # list millions of anonymous rows by key only to report a proportion).
            gxe.ExpectColumnProportionOfNonNullValuesToBeBetween(
                column="customer_id", min_value=MIN_STITCHED_SHARE,
                meta={"on_failure": "warn", "rule": "most activity belongs to a known customer"},
            ),
            *no_personal_data(frame),
        ],
    )
