"""clientele: an open customer-centric data platform (Dagster code location)."""
