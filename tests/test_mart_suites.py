"""The mart suites pass on real pipeline output and block what must never be published."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from expectations.runner import validate
from expectations.suites import customer_clv, customers, orders, touchpoints


def _real(pipeline_run, table: str) -> pd.DataFrame:  # noqa: ANN001
    with duckdb.connect(str(pipeline_run.warehouse), read_only=True) as conn:
        return conn.execute(f"select * from {table}").df()


def _blocked_by(frame: pd.DataFrame, suite) -> set[str]:  # noqa: ANN001
    outcome = validate(frame, suite.build(frame), key=suite.KEY)
    return {f"{f.expectation}:{f.column}" for f in outcome.blocking_failures}


def test_real_marts_pass(pipeline_run) -> None:  # noqa: ANN001
    for suite in (customers, customer_clv, orders, touchpoints):
        assert _blocked_by(_real(pipeline_run, suite.TABLE), suite) == set(), suite.TABLE


def test_duplicates_impossible_values_and_leaked_personal_data_block(pipeline_run) -> None:  # noqa: ANN001
    people = _real(pipeline_run, customers.TABLE)
    bad = pd.concat([people, people.iloc[:1]], ignore_index=True)  # a duplicated key
    bad.loc[1, "p_alive"] = 1.2
    bad.loc[2, "channel_list"] = "pos_transactions, 李娜 <li.na1234@qq.com>"  # an e-mail leaked into a text column
    bad.loc[3, "loyalty_tier"] = "+86 138 0013 8000"
    assert _blocked_by(bad, customers) == {
        "expect_column_values_to_be_unique:customer_id",
        "expect_column_values_to_be_between:p_alive",
        "expect_column_values_to_not_match_regex:channel_list",
        "expect_column_values_to_not_match_regex:loyalty_tier",
    }

    # One customer's impossible score is quarantined (that row, with the rule); many of them block.
    scores = _real(pipeline_run, customer_clv.TABLE)
    scores.loc[0, "clv_12m"] = np.inf
    scores.loc[1, "clv_12m_p10"] = scores.loc[1, "clv_12m_p90"] + 1
    outcome = validate(scores, customer_clv.build(scores), key=customer_clv.KEY)
    assert outcome.passed
    assert {(f.reason, tuple(f.unexpected_keys)) for f in outcome.by_outcome("quarantine")} == {
        ("expect_column_values_to_be_between(clv_12m)", (scores.loc[0, "customer_id"],)),
        ("expect_column_pair_values_a_to_be_greater_than_b(clv_12m_p90)", (scores.loc[1, "customer_id"],)),
    }
    scores.loc[: len(scores) // 20, "clv_12m"] = np.nan
    scores.loc[len(scores) // 2 : len(scores) // 2 + len(scores) // 20, "clv_12m"] = -1.0
    assert {"expect_column_values_to_not_be_null:clv_12m",
            "expect_column_values_to_be_between:clv_12m"} <= _blocked_by(scores, customer_clv)

    sales = _real(pipeline_run, orders.TABLE)
    sales.loc[0, "amount"] = -10
    assert _blocked_by(sales, orders) == {"expect_column_values_to_be_between:amount"}

    activity = _real(pipeline_run, touchpoints.TABLE)
    bad = pd.concat([activity, activity.iloc[:1]], ignore_index=True)
    bad.loc[1, "channel"] = "fax"
    bad.loc[2, "marketing_source"] = "wang.fang@163.com"
    bad.loc[3, "touchpoint_value"] = -1.0
    assert _blocked_by(bad, touchpoints) == {
        "expect_column_values_to_be_unique:touchpoint_id",
        "expect_column_values_to_be_in_set:channel",
        "expect_column_values_to_not_match_regex:marketing_source",
        "expect_column_values_to_be_between:touchpoint_value",
    }
    # Activity that loses its customers (identity resolution broke) warns without blocking.
    bad = activity.assign(customer_id=None)
    outcome = validate(bad, touchpoints.build(bad), key=touchpoints.KEY)
    assert outcome.passed and [f.column for f in outcome.failed] == ["customer_id"]
