"""Validate a pandas frame against a suite and summarise the result for people (Dagster metadata)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd


@dataclass
class FailedExpectation:
    expectation: str
    column: str | None
    on_failure: str
    unexpected_count: int | None
    sample: list[Any] = field(default_factory=list)


@dataclass
class SuiteOutcome:
    suite: str
    evaluated: int
    failed: list[FailedExpectation]

    @property
    def blocking_failures(self) -> list[FailedExpectation]:
        return [f for f in self.failed if f.on_failure == "block"]

    @property
    def passed(self) -> bool:
        return not self.blocking_failures

    def as_markdown(self) -> str:
        if not self.failed:
            return f"All {self.evaluated} expectations of `{self.suite}` passed."
        lines = ["| expectation | column | on failure | unexpected | sample |", "|---|---|---|---|---|"]
        for f in self.failed:
            sample = ", ".join(str(s) for s in f.sample[:5]).replace("|", "\\|")
            lines.append(f"| {f.expectation} | {f.column or ''} | {f.on_failure} | {f.unexpected_count} | {sample} |")
        return "\n".join(lines)


def validate(frame: pd.DataFrame, suite: Any) -> SuiteOutcome:
    import great_expectations as gx  # slow import: keep it out of definition loading

    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas("clientele")
    asset = source.add_dataframe_asset(suite.name)
    batch = asset.add_batch_definition_whole_dataframe("whole").get_batch(batch_parameters={"dataframe": frame})
    result = batch.validate(suite, result_format={"result_format": "SUMMARY", "partial_unexpected_count": 5})
    failed = []
    for r in result.results:
        if r.success:
            continue
        cfg = r.expectation_config
        info = r.result or {}
        sample = info.get("partial_unexpected_list") or ([info["observed_value"]] if "observed_value" in info else [])
        if r.exception_info and r.exception_info.get("raised_exception"):
            sample = [r.exception_info.get("exception_message")]
        failed.append(
            FailedExpectation(
                expectation=cfg.type,
                column=cfg.kwargs.get("column") or cfg.kwargs.get("column_A"),
                on_failure=(cfg.meta or {}).get("on_failure", "block"),
                unexpected_count=info.get("unexpected_count"),
                sample=list(sample),
            )
        )
    return SuiteOutcome(suite=suite.name, evaluated=len(result.results), failed=failed)
