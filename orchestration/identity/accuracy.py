"""How well the resolved customers match a known truth (the generator's, or a labelled test set).

Pairwise over source records: two records are a true pair when the same person
produced them and a predicted pair when resolution gave them the same customer.
Precision = correct predicted pairs / predicted pairs; recall = correct
predicted pairs / true pairs. Pair counts come from the person x customer
contingency table (sum of n choose 2), so nothing quadratic is materialised.

Scored are the records that carry a person-level identifier (email, phone,
loyalty or account id), the same rule that makes someone a customer: a device
seen only before login is anonymous activity, stitched later by touchpoints. A scored record that resolution left without a customer (all its
identifiers held back, say) counts as a singleton: it costs recall.

The recall ceiling tells the resolver's losses from the data's: it links each
person's records through the identifiers they share, with no guards, which is
the best any exact-match resolver can do with the evidence in the records.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb

from orchestration.identity.resolve import IDENTIFIER_TYPES, connected_components


@dataclass(frozen=True)
class ResolutionAccuracy:
    records_scored: int
    records_unresolved: int
    persons: int
    customers: int
    true_pairs: int
    predicted_pairs: int
    correct_pairs: int
    over_merged_customers: int
    over_merged_persons: int
    under_merged_persons: int
    evidence_pairs: int

    @property
    def precision(self) -> float:
        return self.correct_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0

    @property
    def recall_ceiling(self) -> float:
        return self.evidence_pairs / self.true_pairs if self.true_pairs else 1.0

    def as_dict(self) -> dict[str, float | int]:
        return {**asdict(self), "precision": self.precision, "recall": self.recall, "recall_ceiling": self.recall_ceiling}

    def report(self) -> str:
        return "\n".join(
            [
                f"records scored       {self.records_scored:>12,} ({self.records_unresolved:,} left unresolved)",
                f"persons / customers  {self.persons:>12,} / {self.customers:,}",
                f"pairwise precision   {self.precision:>12.4%}  ({self.correct_pairs:,} of {self.predicted_pairs:,} pairs)",
                f"pairwise recall      {self.recall:>12.4%}  ({self.correct_pairs:,} of {self.true_pairs:,} pairs)",
                f"recall ceiling       {self.recall_ceiling:>12.4%}  (records linked by shared identifiers alone)",
                f"over-merged          {self.over_merged_customers:>12,} customers holding "
                f"{self.over_merged_persons:,} persons",
                f"under-merged         {self.under_merged_persons:>12,} persons split over 2+ customers",
            ]
        )


def measure_accuracy(
    conn: duckdb.DuckDBPyConnection,
    truth_records: str | Path,
    records: str = "intermediate.int_identifier_records",
    record_customers: str = "identity.record_customers",
    anonymous_types: tuple[str, ...] = ("device_id",),
) -> ResolutionAccuracy:
    """Compare ``record_customers`` with a truth file set of (channel, record_id, person_id) rows.

    ``truth_records`` is a Parquet file or glob (the generator writes
    ``ground_truth/records/*.parquet``). Records whose only identifiers are of
    ``anonymous_types`` (a device before login) are not scored, matching who
    counts as a customer; pass ``()`` to score every record with an identifier.
    ``records`` has one row per source record and a ``<type>_hash`` column per type.
    """
    scored = " or ".join(f"{t}_hash is not null" for t in IDENTIFIER_TYPES if t not in anonymous_types) or "true"
    conn.execute(
        f"""create or replace temp view accuracy_truth as
        select t.channel as source_channel, cast(t.record_id as varchar) as record_id, t.person_id, r.* exclude (source_channel, record_id)
        from read_parquet('{Path(truth_records).as_posix()}') t
        join {records} r on r.source_channel = t.channel and r.record_id = cast(t.record_id as varchar);
        create or replace temp table accuracy_cells as
        select t.person_id,
               coalesce(rc.customer_id, 'unresolved:' || t.source_channel || ':' || t.record_id) as customer_id,
               rc.customer_id is null as unresolved,
               count(*) as n
        from accuracy_truth t
        left join {record_customers} rc using (source_channel, record_id)
        where {scored}
        group by all"""
    )
    row = conn.execute(
        """with persons as (select person_id, sum(n) as n, count(*) as customers from accuracy_cells group by all),
               customers as (select customer_id, sum(n) as n, count(*) as persons from accuracy_cells group by all)
        select (select sum(n) from accuracy_cells),
               (select coalesce(sum(n), 0) from accuracy_cells where unresolved),
               (select count(*) from persons),
               (select count(*) from customers where not customer_id like 'unresolved:%'),
               (select coalesce(sum(n * (n - 1) // 2), 0) from persons),
               (select coalesce(sum(n * (n - 1) // 2), 0) from customers),
               (select coalesce(sum(n * (n - 1) // 2), 0) from accuracy_cells),
               (select count(*) from customers where persons > 1),
               (select coalesce(sum(persons), 0) from customers where persons > 1),
               (select count(*) from persons where customers > 1)"""
    ).fetchall()[0]
    evidence_pairs = _evidence_pairs(conn, scored)
    conn.execute("drop table accuracy_cells; drop view accuracy_truth")
    return ResolutionAccuracy(*(int(v or 0) for v in row), evidence_pairs=evidence_pairs)


def _evidence_pairs(conn: duckdb.DuckDBPyConnection, scored: str) -> int:
    """Scored true pairs reachable through identifiers shared within each person's own records (any record).

    A node is a person's identifier (``person|type:hash``), so only a person's own records link; a record's
    nodes link to its smallest one, as in resolution but with no guards.
    """
    nodes = ", ".join(f"person_id || '|{t}:' || {t}_hash" for t in IDENTIFIER_TYPES)
    conn.execute(
        f"""create or replace temp view evidence_anchored as
        select *, least({nodes}) as anchor, [{nodes}] as nodes from accuracy_truth;
        create or replace temp table evidence_edges as
        select distinct node as a, anchor as b from (select anchor, unnest(nodes) as node from evidence_anchored)
        where node <> anchor;
        create or replace temp table evidence_nodes as
        select distinct node from (select unnest(nodes) as node from evidence_anchored) where node is not null"""
    )
    connected_components(conn, "evidence_nodes", "evidence_edges")
    pairs = conn.execute(
        f"""select coalesce(sum(n * (n - 1) // 2), 0) from (
            select r.person_id, l.label, count(*) as n
            from evidence_anchored r join labels l on l.node = r.anchor
            where {scored}
            group by all)"""
    ).fetchall()[0][0]
    conn.execute("drop view evidence_anchored")
    for table in ("evidence_nodes", "evidence_edges", "labels"):
        conn.execute(f"drop table {table}")
    return int(pairs)
