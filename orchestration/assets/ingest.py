"""Ingest: one daily-partitioned asset per channel, built from the channel contracts."""

from collections import Counter

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration.ingest.contracts import CONTRACTS, ChannelContract
from orchestration.ingest.loader import load_backfill
from orchestration.resources import WAREHOUSE_POOL, PlatformPaths


def _preview(conn, contract: ChannelContract, partition: str) -> str:  # noqa: ANN001
    """First rows of the partition as Markdown, personal columns masked (the UI is not a place for PII)."""
    shown = [c.name for c in contract.columns][:8]
    cols = ", ".join(f"'***' as {c}" if contract.column(c).personal else f"cast({c} as varchar) as {c}" for c in shown)
    rows = conn.execute(
        f"select {cols} from raw.{contract.name} where _partition = ? order by _source_file, _source_line limit 5",
        [partition],
    ).fetchall()
    header = "| " + " | ".join(shown) + " |\n|" + "---|" * len(shown) + "\n"
    return header + "\n".join("| " + " | ".join("" if v is None else str(v).replace("|", "\\|") for v in r) + " |" for r in rows)


def build_ingest_asset(contract: ChannelContract, partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    @dg.asset(
        name=contract.name,
        partitions_def=partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run(),
        group_name="ingest",
        kinds={"duckdb", "python"},
        owners=["team:data-engineering"],
        pool=WAREHOUSE_POOL,
        description=f"{contract.description} Loaded from landing/{contract.name}/<day>/ into raw.{contract.name}; "
        f"bad rows go to quarantine.{contract.name} with their reason.",
        metadata={"contract_key": contract.key, "contract_columns": len(contract.columns)},
    )
    def _ingest(context: dg.AssetExecutionContext, warehouse: DuckDBResource, paths: PlatformPaths) -> dg.MaterializeResult:
        with warehouse.get_connection() as conn:
            loads = load_backfill(conn, contract, paths.landing, list(context.partition_keys))
            preview = _preview(conn, contract, loads[-1].partition) if loads else ""
            total = conn.execute(f"select count(*) from raw.{contract.name}").fetchall()[0][0]
        reasons: Counter[str] = Counter()
        for load in loads:
            reasons.update(load.quarantined)
        empty = [f"{load.partition}/{f}" for load in loads for f in load.empty_files]
        context.log.info(
            "%s: %d partition(s), %d rows read, %d loaded, %d quarantined",
            contract.name, len(loads), sum(x.rows_read for x in loads), sum(x.rows_loaded for x in loads),
            sum(x.rows_quarantined for x in loads),
        )
        return dg.MaterializeResult(
            metadata={
                "partitions_loaded": len(loads),
                "files": sum(len(x.files) for x in loads),
                "empty_files": dg.MetadataValue.json(empty),
                "rows_read": sum(x.rows_read for x in loads),
                "rows_loaded": sum(x.rows_loaded for x in loads),
                "rows_quarantined": sum(x.rows_quarantined for x in loads),
                "quarantined_by_reason": dg.MetadataValue.json(dict(reasons.most_common())),
                "extra_columns_kept": dg.MetadataValue.json(sorted({c for x in loads for c in x.extra_columns})),
                "table_rows_total": total,
                "preview": dg.MetadataValue.md(preview),
            }
        )

    return _ingest


def build_ingest_assets(partitions_def: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    return [build_ingest_asset(contract, partitions_def) for contract in CONTRACTS.values()]
