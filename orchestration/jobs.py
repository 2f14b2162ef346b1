"""Jobs: the nightly refresh (everything) and the ingest-only job the landing sensor uses."""

from __future__ import annotations

import dagster as dg

# Every run that writes the warehouse carries this tag; the run queue lets one such run at a time.
WAREHOUSE_WRITER_TAGS = {"clientele/warehouse": "writer"}


def build_jobs(partitions_def: dg.PartitionsDefinition) -> tuple[dg.UnresolvedAssetJobDefinition, dg.UnresolvedAssetJobDefinition]:
    nightly = dg.define_asset_job(
        "nightly_refresh",
        selection=dg.AssetSelection.all(),
        partitions_def=partitions_def,
        tags=WAREHOUSE_WRITER_TAGS,
        description="Ingest the day's landing files, rebuild models, gate, refit CLV, publish.",
    )
    ingest = dg.define_asset_job(
        "ingest_landing",
        selection=dg.AssetSelection.groups("ingest"),
        partitions_def=partitions_def,
        tags=WAREHOUSE_WRITER_TAGS,
        description="Load new landing folders (requested by the landing_folders sensor).",
    )
    return nightly, ingest
