"""Assets by layer: ingest, dbt (staging, marts), identity, quality, clv, publish."""
