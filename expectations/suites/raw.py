"""Raw channel suites, derived from the channel contracts: a contract change is a suite change.

Two suites per channel:

- ``raw_<channel>`` on the rows of the partitions a run loaded: the key present (block) and
  unique (quarantine), required columns present, allowed values, numeric bounds and event times
  inside the business's window (quarantine). The loader applies the same contract row by row
  in SQL; this suite is the independent second opinion before anything is modelled.
- ``raw_<channel>_volume`` on one row per landing day: a day must bring at least
  ``VOLUME_MIN_RATIO`` of the median of the days before it (block: a channel delivering half
  its usual volume stops publication; BI keeps the last good tables).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import great_expectations as gx
import great_expectations.expectations as gxe

from orchestration.ingest.contracts import EARLIEST_TIMESTAMP, ChannelContract

VOLUME_MIN_RATIO = 0.6
# A day may fall this many standard deviations below usual: the channel's own robust spread (1.4826 MAD of the
# baseline days), never less than a Poisson count's (square root of usual).
VOLUME_NOISE_SD = 3.5
VOLUME_HISTORY_DAYS = 28  # the baseline: median and MAD of up to this many previous landing days
VOLUME_MIN_HISTORY_DAYS = 7  # fewer previous days: no baseline yet, the rule does not apply
VOLUME_BLOCK_DAYS = 7  # a backfill's shortfalls block on its last days only, and warn before
VOLUME_MIN_BASELINE_ROWS = 30  # below this, a day's count says too little


def build(contract: ChannelContract) -> gx.ExpectationSuite:
    block, quarantine = {"on_failure": "block"}, {"on_failure": "quarantine"}
    rules: list[gxe.Expectation] = [
        gxe.ExpectColumnValuesToNotBeNull(column=contract.key, meta=block | {"rule": "contract key"}),
        gxe.ExpectColumnValuesToBeUnique(column=contract.key, meta=quarantine | {"rule": "contract key"}),
    ]
    for column in contract.columns:
        meta = quarantine | {"rule": f"contract {contract.name}.{column.name}"}
        # Erasure clears a person's identifiers and personal columns in raw: those may be empty.
        if column.required and column.name != contract.key and not (column.identifier or column.personal):
            rules.append(gxe.ExpectColumnValuesToNotBeNull(column=column.name, meta=meta))
        if column.allowed:
            rules.append(gxe.ExpectColumnValuesToBeInSet(column=column.name, value_set=list(column.allowed), meta=meta))
        if column.minimum is not None or column.maximum is not None:
            rules.append(gxe.ExpectColumnValuesToBeBetween(
                column=column.name, min_value=column.minimum, max_value=column.maximum, meta=meta))
    rules.append(gxe.ExpectColumnValuesToBeBetween(
        column=contract.event_time, min_value=datetime.fromisoformat(EARLIEST_TIMESTAMP), meta=quarantine | {"rule": "event time window"}))
    return gx.ExpectationSuite(name=f"raw_{contract.name}", expectations=rules)


def volume_sql(contract: ChannelContract, first_day: str, last_day: str) -> str:
    """Rows per landing day of [first_day, last_day] against the median of the days before it (DuckDB SQL).

    The lowest expected count is VOLUME_MIN_RATIO of usual, or lower where the channel's own day-to-day
    spread (VOLUME_NOISE_SD robust standard deviations) could explain the drop: a small or bursty channel's
    quiet day is not an outage. ``recent``: the run's last VOLUME_BLOCK_DAYS days, whose shortfall blocks;
    older days of a backfill only warn (history is not re-judged night after night).
    """
    recent_after = str(date.fromisoformat(last_day) - timedelta(days=VOLUME_BLOCK_DAYS))
    return f"""
        with days as (
            select _partition as landing_day, count(*) as rows_loaded from raw.{contract.name} group by 1
        ), baseline as (
            select landing_day, rows_loaded,
                   median(rows_loaded) over w as usual_rows, mad(rows_loaded) over w as spread,
                   count(*) over w as history_days
            from days
            window w as (order by landing_day rows between {VOLUME_HISTORY_DAYS} preceding and 1 preceding)
        )
        select landing_day, rows_loaded, usual_rows,
               least({VOLUME_MIN_RATIO} * usual_rows,
                     usual_rows - {VOLUME_NOISE_SD} * greatest(1.4826 * spread, sqrt(usual_rows)))
                   as lowest_expected_rows,
               landing_day > '{recent_after}' as recent
        from baseline
        where landing_day between '{first_day}' and '{last_day}'
          and history_days >= {VOLUME_MIN_HISTORY_DAYS} and usual_rows >= {VOLUME_MIN_BASELINE_ROWS}
        order by landing_day
    """


def build_volume(contract: ChannelContract) -> gx.ExpectationSuite:
    rule = f"a day brings at least {VOLUME_MIN_RATIO:.0%} of its usual rows, or what its spread allows"
    return gx.ExpectationSuite(
        name=f"raw_{contract.name}_volume",
        expectations=[
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="rows_loaded", column_B="lowest_expected_rows", or_equal=True, row_condition="recent",
                condition_parser="pandas", meta={"on_failure": "block", "rule": rule}),
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="rows_loaded", column_B="lowest_expected_rows", or_equal=True, row_condition="~recent",
                condition_parser="pandas", meta={"on_failure": "warn", "rule": rule + " (older days of a backfill)"}),
        ],
    )
