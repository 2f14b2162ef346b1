"""Quality gates: Great Expectations suites run as Dagster asset checks.

A blocking check that fails stops every downstream asset in the run, so the
publish step never sees bad data and BI keeps the last good snapshot.
"""

import importlib

import dagster as dg
from dagster_duckdb import DuckDBResource

# Suite module (expectations.suites.<name>) -> the asset whose table it validates.
GATED_TABLES = {
    "customer_rfm_summary": dg.AssetKey(["marts", "customer_rfm_summary"]),
    "orders": dg.AssetKey(["marts", "orders"]),
    "customer_clv": dg.AssetKey(["clv", "customer_clv"]),
    "customers": dg.AssetKey(["marts", "customers"]),
    "touchpoints": dg.AssetKey(["marts", "touchpoints"]),
}


def _build_check(suite_name: str, asset_key: dg.AssetKey) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=asset_key,
        name=f"gx_{suite_name}",
        blocking=True,
        description=f"Great Expectations suite expectations/suites/{suite_name}.py; blocking.",
    )
    def _check(warehouse: DuckDBResource) -> dg.AssetCheckResult:
        from expectations.runner import validate  # GX imports take seconds: only when the check runs

        suite_module = importlib.import_module(f"expectations.suites.{suite_name}")
        with warehouse.get_connection() as conn:
            frame = conn.execute(f"select * from {suite_module.TABLE}").df()
        outcome = validate(frame, suite_module.build(frame))
        return dg.AssetCheckResult(
            passed=outcome.passed,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                "rows_validated": len(frame),
                "expectations": outcome.evaluated,
                "failed_expectations": len(outcome.failed),
                "blocking_failures": len(outcome.blocking_failures),
                "results": dg.MetadataValue.md(outcome.as_markdown()),
            },
        )

    return _check


quality_checks = [_build_check(name, key) for name, key in GATED_TABLES.items()]
