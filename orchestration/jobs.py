"""Jobs: the nightly refresh (everything), the ingest-only job the landing sensor uses, and the models-only
job that follows an ingest backfill (so a year of partitions is not planned for every unpartitioned asset)."""

from __future__ import annotations

import dagster as dg

# Every run that writes the warehouse carries this tag; the run queue lets one such run at a time.
WAREHOUSE_WRITER_TAGS = {"clientele/warehouse": "writer"}


def build_jobs(partitions_def: dg.PartitionsDefinition) -> list[dg.UnresolvedAssetJobDefinition]:
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
    models = dg.define_asset_job(
        "refresh_models",
        selection=dg.AssetSelection.all() - dg.AssetSelection.groups("ingest"),
        tags=WAREHOUSE_WRITER_TAGS,
        description="Rebuild everything after ingest (models, gates, CLV, publish) over all loaded partitions.",
    )
    return [nightly, ingest, models]
