"""Great Expectations 1.x suites as code, and a runner that validates DuckDB tables read into pandas.

Why pandas and not GX's SQL datasource: on DuckDB the SQL path is broken as
shipped (no dialect without duckdb-engine; with it, metric resolution fails),
and dagster-ge pins GX below 1.0. Reading a table into pandas with a
short-lived DuckDB connection and validating it in an ephemeral context works
and is fast (docs/quality.md).
"""
