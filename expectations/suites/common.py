"""Expectations shared by the mart suites."""

from __future__ import annotations

import great_expectations.expectations as gxe
import pandas as pd

# Raw personal data must never reach a mart: e-mails, and phones as people write them (E.164, UK mobiles,
# Chinese mobiles). Hex neighbours are excluded so a pseudonym (a hex hash) never looks like a phone.
PERSONAL_DATA_PATTERNS = {
    "email": r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}",
    "phone": r"\+\d[\d \-]{7,}\d|(?<![0-9a-fA-F])(?:07\d{3} ?\d{6}|1[3-9]\d{9})(?![0-9a-fA-F])",
}


def key(column: str) -> list[gxe.Expectation]:
    """A table's key: present and unique, or nothing downstream can be trusted."""
    block = {"on_failure": "block"}
    return [gxe.ExpectColumnValuesToNotBeNull(column=column, meta=block), gxe.ExpectColumnValuesToBeUnique(column=column, meta=block)]


def no_personal_data(frame: pd.DataFrame | None) -> list[gxe.Expectation]:
    if frame is None:
        return []
    text_columns = [c for c in frame.columns if pd.api.types.is_string_dtype(frame[c]) or frame[c].dtype == object]
    return [
        gxe.ExpectColumnValuesToNotMatchRegex(
            column=column, regex=pattern, meta={"on_failure": "block", "rule": f"no raw {kind} in a mart"}
        )
        for column in text_columns
        for kind, pattern in PERSONAL_DATA_PATTERNS.items()
    ]
