"""Expectations shared by the mart suites."""

from __future__ import annotations

import math
import re

import great_expectations as gx
import great_expectations.expectations as gxe
import pandas as pd

# Raw personal data must never reach a mart: e-mails, and phones as people write them (E.164, UK mobiles,
# Chinese mobiles). Hex neighbours are excluded so a pseudonym (a hex hash) never looks like a phone.
PERSONAL_DATA_PATTERNS = {
    "email": r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}",
    "phone": r"\+\d[\d \-]{7,}\d|(?<![0-9a-fA-F])(?:07\d{3} ?\d{6}|1[3-9]\d{9})(?![0-9a-fA-F])",
}
# The same patterns for DuckDB's RE2, which has no look-around: a neighbour is matched instead of looked at,
# and digits are any Unicode decimal digit, as Python's \d is (full-width ones included). Every value the
# Python patterns match, these match too; on tables of millions of rows DuckDB finds the few candidates
# (usually none) and the expectations judge them, instead of running Python's regex on every value.
PERSONAL_DATA_PATTERNS_RE2 = {
    "email": r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}",
    "phone": r"\+\p{Nd}[\p{Nd} \-]{7,}\p{Nd}|(^|[^0-9a-fA-F])(07\p{Nd}{3} ?\p{Nd}{6}|1[3-9]\p{Nd}{9})([^0-9a-fA-F]|$)",
}
CANDIDATE_COLUMN = "_personal_data_candidate"


def personal_data_candidate_sql(text_columns: list[str]) -> str:
    """A DuckDB boolean: may any of the text columns hold something the personal-data patterns match.

    One RE2 search per row, over the row's text values joined by line breaks, for both patterns at once: no
    pattern matches across a line break (e-mails exclude white space, phones allow spaces and dashes only)
    and a line break is a non-hex neighbour, as the start and end of a value are. At a million customers
    that is 15 s for touchpoints' 60 M rows, where one search per column and pattern took 37 s."""
    if not text_columns:
        return f"false as {CANDIDATE_COLUMN}"
    joined = "concat_ws(chr(10), " + ", ".join(f'"{c}"' for c in text_columns) + ")"
    either = "|".join(f"(?:{pattern})" for pattern in PERSONAL_DATA_PATTERNS_RE2.values())
    return f"coalesce(regexp_matches({joined}, '{either}'), false) as {CANDIDATE_COLUMN}"


def gate_select_sql(suite: gx.ExpectationSuite, table: str, columns: list[str], text_columns: list[str],
                    where: str | None = None) -> str:
    """The query a mart gate reads: the columns the suite's rules use, and ``CANDIDATE_COLUMN`` (the RE2
    prefilter, ``personal_data_candidate_sql``, computed in the same scan), of the rows ``where`` keeps (all by
    default). A text column that only the personal-data rule reads is sent to the rule only on candidate rows
    (null elsewhere, where the rule does not look): a table of tens of millions of rows crosses into pandas
    without its text."""
    used: set[str] = set()
    for expectation in suite.expectations:
        if isinstance(expectation, gxe.ExpectColumnValuesToNotMatchRegexList):
            continue
        for attribute in ("column", "column_A", "column_B"):
            if isinstance(value := getattr(expectation, attribute, None), str):
                used.add(value)
        used.update(getattr(expectation, "column_list", None) or [])
        condition = str(getattr(expectation, "row_condition", None) or "")  # a string or a condition object
        used.update(c for c in columns if re.search(rf"\b{re.escape(c)}\b", condition))
    selected = [
        f'"{c}"' if c in used else f'case when {CANDIDATE_COLUMN} then "{c}" end as "{c}"'
        for c in columns if c in used or c in text_columns
    ]
    return (f"select {', '.join(selected + [CANDIDATE_COLUMN])} "
            f"from (select *, {personal_data_candidate_sql(text_columns)} from {table}{f' where ({where})' if where else ''})")


def key(column: str) -> list[gxe.Expectation]:
    """A table's key: present and unique, or nothing downstream can be trusted."""
    block = {"on_failure": "block"}
    return [gxe.ExpectColumnValuesToNotBeNull(column=column, meta=block), gxe.ExpectColumnValuesToBeUnique(column=column, meta=block)]


# A mart may not shrink by more than this share from the published table overnight (block) and
# growing by more than ROW_COUNT_GROWTH_WARN is reported (warn): a night adds a day, not a quarter.
ROW_COUNT_DROP_BLOCK = 0.2
ROW_COUNT_GROWTH_WARN = 0.5


def row_count_near(table: str, previous_rows: int | None) -> gx.ExpectationSuite:
    """Every mart's row count within a tolerance of the table BI reads now (the last published run).

    A suite of its own, validated on a frame with the table's length and no columns, so the table's
    rows can be validated in parts (``orchestration/assets/quality.py``). No rule before a first publication.
    """
    rules = [] if not previous_rows else [
        gxe.ExpectTableRowCountToBeBetween(
            min_value=math.ceil(previous_rows * (1 - ROW_COUNT_DROP_BLOCK)),
            meta={"on_failure": "block", "rule": f"at most {ROW_COUNT_DROP_BLOCK:.0%} fewer rows than published"}),
        gxe.ExpectTableRowCountToBeBetween(
            max_value=math.floor(previous_rows * (1 + ROW_COUNT_GROWTH_WARN)),
            meta={"on_failure": "warn", "rule": f"at most {ROW_COUNT_GROWTH_WARN:.0%} more rows than published"}),
    ]
    return gx.ExpectationSuite(name=f"{table.split('.')[-1]}_row_count", expectations=rules)


def no_personal_data(frame: pd.DataFrame | None) -> list[gxe.Expectation]:
    """No text column matches the personal-data patterns. With ``CANDIDATE_COLUMN`` in the frame (read with
    ``personal_data_candidate_sql``), the patterns run on the candidate rows only."""
    if frame is None:
        return []
    text_columns = [c for c in frame.columns if pd.api.types.is_string_dtype(frame[c]) or frame[c].dtype == object]
    only_candidates = {"row_condition": CANDIDATE_COLUMN, "condition_parser": "pandas"} \
        if CANDIDATE_COLUMN in frame.columns else {}
    return [
        gxe.ExpectColumnValuesToNotMatchRegexList(
            column=column, regex_list=list(PERSONAL_DATA_PATTERNS.values()),
            meta={"on_failure": "block", "rule": f"no raw {' or '.join(PERSONAL_DATA_PATTERNS)} in a mart"},
            **only_candidates,
        )
        for column in text_columns
    ]
