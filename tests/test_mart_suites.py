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
        "expect_column_values_to_not_match_regex_list:channel_list",
        "expect_column_values_to_not_match_regex_list:loyalty_tier",
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
        "expect_column_values_to_not_match_regex_list:marketing_source",
        "expect_column_values_to_be_between:touchpoint_value",
    }
    # Activity that loses its customers (identity resolution broke) warns without blocking.
    bad = activity.assign(customer_id=None)
    outcome = validate(bad, touchpoints.build(bad), key=touchpoints.KEY)
    assert outcome.passed and [f.column for f in outcome.failed] == ["customer_id"]


def test_duckdb_finds_every_personal_data_candidate_the_expectations_would(tmp_path) -> None:  # noqa: ANN001
    """The RE2 prefilter (one search over a row's text columns) flags the rows the Python patterns match in any
    column, on tricky values, and no others."""
    import hashlib
    import re

    from expectations.suites.common import CANDIDATE_COLUMN, PERSONAL_DATA_PATTERNS, personal_data_candidate_sql

    values = [
        "li.na1234@qq.com", "王芳 <wang.fang@163.com>", "+86 138 0013 8000", "+44 7700 900123", "13800138000",
        "手机１３８００１３８０００", "07700 900123", "call 07700900123 now", "C" + hashlib.sha256(b"x").hexdigest(),
        hashlib.sha256(b"13800138000").hexdigest(), "a13800138000", "13800138000f", "order 2026-10-31", "12345",
        "上海市浦东新区世纪大道100号", "utm_source=newsletter", None, "", "name@domain", "x@y.cn",
    ]
    values += [hashlib.sha256(str(i).encode()).hexdigest() for i in range(2000)]  # pseudonyms: never personal
    # A second column, searched in the same pass: halves of a phone or an e-mail split over two columns are no match.
    firsts, seconds = ["call 07700", "wang.fang", "+86 138", "1380013", "mail me at x"], ["900123", "@163.com", "0013 8000", "8000", "@y.cn"]
    other = [hashlib.sha256(str(i).encode()).hexdigest()[:12] for i in range(len(values))] + seconds
    frame = pd.DataFrame({"k": range(len(values) + len(firsts)), "text": values + firsts, "other": other})
    with duckdb.connect(str(tmp_path / "w.duckdb")) as conn:
        conn.register("frame", frame)
        flagged = conn.execute(f"select k, {personal_data_candidate_sql(['text', 'other'])} from frame order by k").df()
        alone = conn.execute(f"select k, {personal_data_candidate_sql(['other'])} from frame order by k").df()

    def python(column: str) -> pd.Series:
        return frame[column].map(lambda v: isinstance(v, str) and any(re.search(p, v) for p in PERSONAL_DATA_PATTERNS.values()))

    assert python("text").sum() >= 8 and not python("other").any() and not alone[CANDIDATE_COLUMN].any()
    either = python("text") | python("other")
    assert (flagged[CANDIDATE_COLUMN].to_numpy() == either.to_numpy()).all(), frame[flagged[CANDIDATE_COLUMN] != either]


def test_leaks_are_blocked_the_same_when_the_gate_reads_text_of_candidate_rows_only(pipeline_run, tmp_path) -> None:  # noqa: ANN001
    """The gate's query (``gate_select_sql``) sends the columns the rules use, and other text only on rows the
    DuckDB prefilter marks: a leak is blocked exactly as on the whole table."""
    from expectations.suites.common import CANDIDATE_COLUMN, gate_select_sql

    people = _real(pipeline_run, customers.TABLE)
    people.loc[2, "channel_list"] = "pos_transactions, 李娜 <li.na1234@qq.com>"
    people.loc[3, "loyalty_tier"] = "+86 138 0013 8000"
    text = [c for c in people.columns if pd.api.types.is_string_dtype(people[c]) or people[c].dtype == object]
    with duckdb.connect(str(tmp_path / "w.duckdb")) as conn:
        conn.register("people", people)
        read = conn.execute(gate_select_sql(customers.build(people), "people", list(people.columns), text)).df()
    assert int(read[CANDIDATE_COLUMN].sum()) == 2
    assert read["channel_list"].notna().sum() == 2  # text only the personal-data rule reads: on the candidate rows
    assert read["relationship_level"].notna().sum() == len(people)  # a rule reads it: every row
    assert len(read.columns) < len(people.columns)  # numbers no rule reads stay behind
    assert _blocked_by(read, customers) == _blocked_by(people, customers) == {
        "expect_column_values_to_not_match_regex_list:channel_list",
        "expect_column_values_to_not_match_regex_list:loyalty_tier",
    }


def test_parts_that_pass_are_stored_but_only_the_first_and_the_failed_are_rendered(pipeline_run, tmp_path) -> None:  # noqa: ANN001
    """A mart validated in 30 parts renders the first part's Data Docs page and every failed part's, and the
    check links the failed one; all results are stored."""
    from expectations.runner import SuiteOutcome

    frame = _real(pipeline_run, touchpoints.TABLE)
    halves = [frame.iloc[: len(frame) // 2].copy(), frame.iloc[len(frame) // 2:].copy(), frame.iloc[:100].copy()]
    halves[2].loc[halves[2].index[0], "channel"] = "carrier_pigeon"
    outcomes = [validate(part, touchpoints.build(part), key=touchpoints.KEY, docs_dir=tmp_path, docs_only_if_failed=i > 0)
                for i, part in enumerate(halves)]
    first, passed, failed = outcomes
    assert first.docs_url and passed.docs_url is None and failed.docs_url
    pages = list((tmp_path / "site" / "validations").rglob("*.html"))
    assert len(pages) == 2 and len(list((tmp_path / "store").rglob("*.json"))) >= 3
    merged = SuiteOutcome.merge(outcomes)
    assert merged.docs_url == failed.docs_url
    assert [f.sample for f in merged.blocking_failures] == [[f"{halves[2].iloc[0]['touchpoint_id']}: carrier_pigeon"]]
