"""Validate a pandas frame against a suite and summarise the result for people (Dagster metadata).

Every expectation says in ``meta["on_failure"]`` what its failure does:

- ``warn``: reported, nothing stops;
- ``quarantine``: the offending rows (by the table's key) are set aside with the
  expectation as their reason, counted, and the rest goes on;
- ``block``: the gate fails; downstream assets and publication stop.

Given a folder, the validation runs through a Great Expectations checkpoint
that stores the result and renders it into Data Docs there (static HTML).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

OUTCOMES = ("warn", "quarantine", "block")
SAMPLE_SIZE = 5


@dataclass
class FailedExpectation:
    expectation: str
    column: str | None
    on_failure: str
    unexpected_count: int | None
    sample: list[Any] = field(default_factory=list)
    unexpected_keys: list[Any] = field(default_factory=list)  # filled for quarantine rules

    @property
    def reason(self) -> str:
        return f"{self.expectation}({self.column})" if self.column else self.expectation


@dataclass
class SuiteOutcome:
    suite: str
    evaluated: int
    failed: list[FailedExpectation]
    docs_url: str | None = None

    def by_outcome(self, outcome: str) -> list[FailedExpectation]:
        return [f for f in self.failed if f.on_failure == outcome]

    @property
    def blocking_failures(self) -> list[FailedExpectation]:
        return self.by_outcome("block")

    @property
    def passed(self) -> bool:
        return not self.blocking_failures

    @classmethod
    def merge(cls, parts: list[SuiteOutcome]) -> SuiteOutcome:
        """One outcome for a table validated in disjoint parts (by key): counts add up, samples and keys join."""
        merged: dict[tuple[str, str | None, str], FailedExpectation] = {}
        for part in parts:
            for f in part.failed:
                into = merged.setdefault((f.expectation, f.column, f.on_failure), FailedExpectation(
                    f.expectation, f.column, f.on_failure, 0 if f.unexpected_count is not None else None))
                if f.unexpected_count is not None:
                    into.unexpected_count = (into.unexpected_count or 0) + f.unexpected_count
                into.sample = (into.sample + f.sample)[:SAMPLE_SIZE]
                into.unexpected_keys += f.unexpected_keys
        docs = next((p.docs_url for p in parts if p.failed and p.docs_url), parts[0].docs_url)
        return cls(parts[0].suite, parts[0].evaluated, list(merged.values()), docs)

    def as_markdown(self) -> str:
        if not self.failed:
            return f"All {self.evaluated} expectations of `{self.suite}` passed."
        lines = ["| expectation | column | on failure | unexpected | sample |", "|---|---|---|---|---|"]
        for f in self.failed:
            sample = ", ".join(str(s) for s in f.sample[:SAMPLE_SIZE]).replace("|", "\\|")
            lines.append(f"| {f.expectation} | {f.column or ''} | {f.on_failure} | {f.unexpected_count} | {sample} |")
        return "\n".join(lines)


def _plain(value: Any) -> str:
    """A sample value as people read it: numpy scalars unwrapped, a column pair as 'a vs b'."""
    if isinstance(value, (tuple, list)):
        return " vs ".join(_plain(v) for v in value)
    return str(value.item() if hasattr(value, "item") else value)


def on_failure(config: Any) -> str:
    outcome = (config.meta or {}).get("on_failure", "block")
    if outcome not in OUTCOMES:
        raise ValueError(f"{config.type}: on_failure must be one of {OUTCOMES}, not {outcome!r}")
    return outcome


def _context(docs_dir: Path | None) -> Any:
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        FilesystemStoreBackendDefaults,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    if docs_dir is None:
        config = DataContextConfig(store_backend_defaults=InMemoryStoreBackendDefaults())
    else:  # results and suites on disk, rendered into one static site; data sources stay in memory (no shared YAML)
        site = {"class_name": "SiteBuilder", "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir / "site")}}
        config = DataContextConfig(
            store_backend_defaults=FilesystemStoreBackendDefaults(root_directory=str(docs_dir / "store")),
            data_docs_sites={"clientele": site},
        )
    config.progress_bars = ProgressBarsConfig(globally=False)
    config.analytics_enabled = False
    return gx.get_context(project_config=config, mode="ephemeral")


def _skip_batch_fingerprint() -> None:
    """GX fingerprints every pandas batch under 1 GB (md5 over ``hash_pandas_object``) only to name it in the
    result's batch markers, which nothing here reads: 2.3 s of a 5.7 s validation of a 2 M-row part of touchpoints
    (cProfile). Frames over the threshold get no fingerprint in GX itself; this makes every frame take that path."""
    from great_expectations.execution_engine import pandas_execution_engine

    pandas_execution_engine.HASH_THRESHOLD = 0


def validate(frame: pd.DataFrame, suite: Any, key: str | None = None, docs_dir: Path | None = None,
             docs_only_if_failed: bool = False) -> SuiteOutcome:
    """Run ``suite`` on ``frame``; ``key`` names the rows of quarantine rules; ``docs_dir`` gets Data Docs (with
    ``docs_only_if_failed``, only a failed validation is rendered: a table validated in 30 parts needs one page
    of the parts that passed, not 30; every result is stored either way)."""
    import great_expectations as gx  # slow import: keep it out of definition loading
    from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

    _skip_batch_fingerprint()

    quarantining = [e for e in suite.expectations if on_failure(e.configuration) == "quarantine"]
    if quarantining and key is None:
        raise ValueError(f"suite {suite.name} quarantines rows but the table has no key to name them by")
    # With a key, samples name their rows; quarantine rules need every offending row's key (COMPLETE).
    result_format: dict[str, Any] = {"result_format": "COMPLETE" if quarantining else "SUMMARY",
                                     "partial_unexpected_count": SAMPLE_SIZE}
    if key is not None:
        result_format |= {"unexpected_index_column_names": [key], "return_unexpected_index_query": False}

    context = _context(docs_dir)
    batch = context.data_sources.add_pandas("clientele").add_dataframe_asset(suite.name)
    definition = batch.add_batch_definition_whole_dataframe("whole")
    suite = context.suites.add_or_update(suite)
    validation = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=suite.name, data=definition, suite=suite))
    checkpoint = context.checkpoints.add_or_update(
        gx.Checkpoint(name=suite.name, validation_definitions=[validation], result_format=result_format))
    (identifier, result), = checkpoint.run(batch_parameters={"dataframe": frame}).run_results.items()
    docs_url = None
    if docs_dir and (result.success is False or not docs_only_if_failed):  # what UpdateDataDocsAction renders
        context.build_data_docs(site_names=["clientele"],
                                resource_identifiers=[identifier, ExpectationSuiteIdentifier(name=suite.name)])
        urls = context.get_docs_sites_urls(resource_identifier=identifier, site_names=["clientele"])
        docs_url = urls[0]["site_url"] if urls else None

    failed = []
    for r in result.results:
        if r.success:
            continue
        cfg = r.expectation_config
        info = r.result or {}
        sample = info.get("partial_unexpected_list") or ([info["observed_value"]] if "observed_value" in info else [])
        rows = info.get("partial_unexpected_index_list") or []
        if key is not None and len(rows) == len(sample):
            sample = [f"{row[key]}: {_plain(value)}" for row, value in zip(rows, sample, strict=True)]
        if r.exception_info and r.exception_info.get("raised_exception"):
            sample = [r.exception_info.get("exception_message")]
        outcome = on_failure(cfg)
        keys = [row[key] for row in info.get("unexpected_index_list") or []] if outcome == "quarantine" else []
        if outcome == "quarantine" and not keys:  # a table-level rule cannot name rows: it blocks instead
            outcome = "block"
        failed.append(
            FailedExpectation(
                expectation=cfg.type,
                column=cfg.kwargs.get("column") or cfg.kwargs.get("column_A"),
                on_failure=outcome,
                unexpected_count=info.get("unexpected_count"),
                sample=list(sample)[:SAMPLE_SIZE],
                unexpected_keys=keys,
            )
        )
    return SuiteOutcome(suite=suite.name, evaluated=len(result.results), failed=failed, docs_url=docs_url)
