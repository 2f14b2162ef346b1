"""Identity resolution on DuckDB: connected components of the identifier graph.

Nodes are hashed identifier values (``email:<hmac>``); two nodes are linked when
one source record carries both. Customers are the connected components,
computed by min-label propagation with pointer jumping, repeated until no label
changes (the iteration count is recorded), so chains of any length converge.

Guards against over-merging run before linking: a value that co-occurs with
more distinct values of a person-level identifier (account, loyalty id, email)
or with more distinct names than its type's cap allows is held back (a family
tablet, a shop's own phone number, a recycled number) and recorded with why.

``customer_id`` is stable from run to run: a component keeps the id most of
its identifiers had last time; when components fuse, the others are logged in
``identity.merge_log`` with the survivor and the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import duckdb

from orchestration.warehouse import table_exists

# The ``<type>_hash`` columns of the records relation (dbt macro ``identifier_types``).
IDENTIFIER_TYPES = ("email", "phone", "loyalty_id", "account_id", "device_id")
PERSON_LEVEL_TYPES = ("account_id", "loyalty_id", "email")


@dataclass(frozen=True)
class IdentityRules:
    # Max distinct values of one person-level identifier type a value may co-occur with.
    caps: dict[str, int] = field(
        default_factory=lambda: {"device_id": 1, "phone": 1, "email": 2, "loyalty_id": 3, "account_id": 3}
    )
    # Max distinct (hashed) names a value may be written with.
    max_names_per_value: int = 2
    max_iterations: int = 200


@dataclass(frozen=True)
class ResolutionResult:
    iterations: int
    identifiers: int
    edges: int
    customers: int
    records_resolved: int
    records_unresolved: int
    held_back: int
    merges: int
    splits: int
    new_customers: int
    customers_changed: int  # customers whose records may have changed hands (identity.customer_changes)
    records_remapped: int  # records whose row of the record map this run rewrote


def connected_components(conn: duckdb.DuckDBPyConnection, nodes: str, edges: str, max_iterations: int = 200) -> int:
    """Label every node of ``nodes(node)`` with the smallest node of its component in temp table ``labels(node, label)``.

    Min-label propagation over the undirected ``edges(a, b)`` plus pointer jumping,
    repeated until no label changes; returns the number of iterations. The
    propagation runs on dense integer ids numbered in node order (so the smallest
    id is the smallest node): joins on 8-byte keys instead of 70-character text.
    """
    conn.execute(f"create or replace temp table cc_ids as select row_number() over (order by node) as id, node from {nodes}")
    conn.execute("create or replace temp table labels as select id as node, id as label from cc_ids")
    conn.execute(
        f"""create or replace temp table und as
        with e as (select a.id as x, b.id as y from {edges} e join cc_ids a on a.node = e.a join cc_ids b on b.node = e.b)
        select x, y from e union select y, x from e"""
    )
    iterations = 0
    while True:
        iterations += 1
        conn.execute(
            """create or replace temp table proposed as
            with m as (
                select node, min(label) as label from (
                    select node, label from labels
                    union all
                    select e.x as node, l.label from und e join labels l on l.node = e.y
                ) group by node
            )
            select m.node, least(m.label, j.label) as label from m join m as j on j.node = m.label"""
        )
        changed = conn.execute(
            "select count(*) from proposed p join labels l using (node) where p.label <> l.label"
        ).fetchall()[0][0]
        conn.execute("create or replace temp table labels as select * from proposed")
        if changed == 0:
            break
        if iterations >= max_iterations:
            raise RuntimeError(f"identity graph did not converge in {max_iterations} iterations")
    conn.execute(
        """create or replace temp table labels as
        select n.node, m.node as label from labels l join cc_ids n on n.id = l.node join cc_ids m on m.id = l.label"""
    )
    conn.execute("drop table und; drop table proposed; drop table cc_ids")
    return iterations


def _node(t: str) -> str:
    """A graph node of identifier type ``t``: ``'<type>:' || <type>_hash`` (null where the record has none)."""
    return f"'{t}:' || {t}_hash"


def _usable_hash(t: str) -> str:
    """``<type>_hash``, or null where the guards held the value back (temp table ``held``)."""
    return f"case when {t}_hash in (select identifier_hash from held where identifier_type = '{t}') then null else {t}_hash end"


def _record_anchors(records: str) -> str:
    """Each record of ``records`` with one usable identifier as ``anchor_type``, ``anchor_hash``.

    Every usable identifier of a record links to the record's anchor, so any of them finds the record's customer;
    taking the first non-null one needs no node string per identifier (this is the one pass over every record)."""
    usable = ", ".join(f"{_usable_hash(t)} as {t}_usable" for t in IDENTIFIER_TYPES)
    first_type = " ".join(f"when {t}_usable is not null then '{t}'" for t in IDENTIFIER_TYPES)
    return f"""select source_channel, record_id, occurred_at, case {first_type} end as anchor_type,
               coalesce({", ".join(f"{t}_usable" for t in IDENTIFIER_TYPES)}) as anchor_hash
        from (select source_channel, record_id, occurred_at, {usable} from {records})"""


def _occurrences(records: str, columns: str = "", where: str = "") -> str:
    """The long form of ``records`` (one row per row of it and identifier) with ``node``, as a union over the types."""
    return "\nunion all\n".join(
        f"select '{t}' as identifier_type, {t}_hash as identifier_hash, {_node(t)} as node{columns} "
        f"from {records} where {t}_hash is not null{where}"
        for t in IDENTIFIER_TYPES
    )


CUSTOMER_CHANGES_DDL = """create table if not exists identity.customer_changes (customer_id VARCHAR primary key,
    changed_at TIMESTAMP)"""


def record_customer_changes(conn: duckdb.DuckDBPyConnection, assigned: str, run_at: datetime) -> int:
    """Stamp ``run_at`` on every customer id whose set of records may differ from the last resolution's.

    A record's customer is the customer of its anchor identifier, so a record changes hands only if one of its
    identifiers changes customer, appears or disappears (a held-back value leaves the graph): the customers on
    both sides of the difference between the previous and the new ``identifier_customers`` (``assigned``) are
    all the customers whose records, or whose being known by a person-level identifier, can have changed.
    Incremental marts (touchpoints, sessions) re-stitch the rows of customers changed since they were last built,
    instead of joining every stored row with the record map (60 M rows at a million customers). One row per
    customer (the latest change), so the table stays as small as the registry. The difference stays behind as
    temp table ``changed_identifiers`` (type, hash, customer on either side): the record map redoes their records.
    """
    conn.execute(CUSTOMER_CHANGES_DDL)
    previous = "select identifier_type, identifier_hash, customer_id from identity.identifier_customers"
    current = f"select identifier_type, identifier_hash, customer_id from {assigned}"
    conn.execute(
        f"""create or replace temp table changed_identifiers as
        select * from ({current} except {previous})
        union all
        select * from ({previous} except {current})"""
    )
    conn.execute(
        "insert or replace into identity.customer_changes select distinct customer_id, ? from changed_identifiers",
        [run_at],
    )
    return conn.execute("select count(*) from identity.customer_changes where changed_at = ?", [run_at]).fetchone()[0]


RECORD_BUCKETS_COLUMNS = "source_channel VARCHAR, occurred_on DATE, part UBIGINT, records BIGINT, fingerprint HUGEINT"
# Buckets per channel and day. An erasure touches a person's records on many days: with day buckets the first night
# after a million-customer refresh redid 62.9 M of 63.4 M records (1,009 people erased); with 1,024 parts a day, the
# buckets of 1,009 people's records hold 6.3 M records and those of 50 people 0.45 M.
BUCKET_PARTS = 1024
# Above this share of all records to redo, rewriting the record map whole is cheaper than deleting and inserting.
MAX_REMAPPED_SHARE = 0.25


def update_record_map(conn: duckdb.DuckDBPyConnection, records: str) -> int:
    """Bring ``identity.record_customers`` to ``records`` joined with their anchors' customers; returns the records
    it rewrote (all of them when it rewrote the table whole).

    Rewriting the map whole joins every record with its anchor (33 s at a million customers, 63 M records) though a
    night changes a fraction of a percent of it. A record's row can change only if the record itself changed
    (arrived, left, or its time or identifiers changed) or one of its identifiers is in ``changed_identifiers``
    (``record_customer_changes``): otherwise its usable identifiers and their customers, hence its anchor's
    customer, are what they were. Records are grouped in buckets (channel, day, one of BUCKET_PARTS parts of the
    record ids), each with a count and the sum of its records' 64-bit hashes (``identity.record_buckets``, one scan,
    about 6 s at a million customers): the buckets whose count or sum differs from the last run's are redone whole,
    which also drops the rows of records gone from them (a DuckDB whose hash differs makes every bucket stale: one
    whole rewrite). Needs the temp tables ``held`` and ``changed_identifiers`` of this run, and the map to be the
    last run's (the erasure pass deletes rows of records whose identifiers it clears; their buckets are redone the
    next run).
    """
    identifiers = ", ".join(f"{t}_hash" for t in IDENTIFIER_TYPES)


    def bucket_of(alias: str) -> dict[str, str]:  # no null key (a record without a time): bucket joins stay hash joins
        return {"source_channel": f"{alias}.source_channel",
                "occurred_on": f"coalesce(cast({alias}.occurred_at as date), date '0001-01-01')",
                "part": f"hash({alias}.record_id) % {BUCKET_PARTS}"}

    def in_stale_bucket(alias: str) -> str:
        return "join stale_buckets b on " + " and ".join(f"b.{c} = {e}" for c, e in bucket_of(alias).items())

    conn.execute(
        f"""create or replace temp table buckets_now as
        select {", ".join(f"{e} as {c}" for c, e in bucket_of("r").items())}, count(*) as records,
               sum(hash(r.record_id, r.occurred_at, {identifiers}))::hugeint as fingerprint
        from {records} as r group by all"""
    )

    def mapped(source: str) -> str:
        return f"""select r.source_channel, r.record_id, ic.customer_id, r.occurred_at from ({_record_anchors(source)}) r
        join identity.identifier_customers ic on ic.identifier_type = r.anchor_type and ic.identifier_hash = r.anchor_hash"""

    total = conn.execute("select coalesce(sum(records), 0) from buckets_now").fetchone()[0]
    redo = total
    stored = conn.execute(
        "select string_agg(column_name || ' ' || data_type, ', ' order by ordinal_position) from information_schema.columns "
        "where table_schema = 'identity' and table_name = 'record_buckets'"
    ).fetchone()[0]
    if stored == RECORD_BUCKETS_COLUMNS and table_exists(conn, "identity", "record_customers"):
        conn.execute(
            """create or replace temp table stale_buckets as
            select distinct source_channel, occurred_on, part from (
                (select * from buckets_now except select * from identity.record_buckets)
                union all
                (select * from identity.record_buckets except select * from buckets_now)
            )"""
        )
        with_changed_identifier = "\nunion\n".join(
            f"select source_channel, record_id from {records} where {t}_hash in "
            f"(select identifier_hash from changed_identifiers where identifier_type = '{t}')"
            for t in IDENTIFIER_TYPES
        )
        conn.execute(
            f"""create or replace temp table remapped as
            select r.source_channel, r.record_id from {records} as r {in_stale_bucket("r")}
            union
            {with_changed_identifier}"""
        )
        redo = conn.execute("select count(*) from remapped").fetchone()[0]
    if redo <= MAX_REMAPPED_SHARE * total:
        # The rows to delete: the records redone, and whatever the map holds in a changed bucket (records gone).
        conn.execute(
            f"""delete from identity.record_customers as rc using (
                select source_channel, record_id from remapped
                union
                select m.source_channel, m.record_id from identity.record_customers as m {in_stale_bucket("m")}
            ) as d
            where d.source_channel = rc.source_channel and d.record_id = rc.record_id"""
        )
        redone = f"(select r.* from {records} as r join remapped m using (source_channel, record_id))"
        conn.execute(f"insert into identity.record_customers {mapped(redone)}")
    else:
        conn.execute(f"create or replace table identity.record_customers as {mapped(records)}")
    if stored == RECORD_BUCKETS_COLUMNS:
        conn.execute("delete from identity.record_buckets")
    else:  # first run, or written by a version with other buckets
        conn.execute(f"create or replace table identity.record_buckets ({RECORD_BUCKETS_COLUMNS})")
    conn.execute("insert into identity.record_buckets select * from buckets_now")
    for table in ("buckets_now", "stale_buckets", "remapped"):
        conn.execute(f"drop table if exists {table}")
    return int(redo)


def resolve_identities(
    conn: duckdb.DuckDBPyConnection,
    rules: IdentityRules | None = None,
    records: str = "intermediate.int_identifier_records",
    run_at: datetime | None = None,
) -> ResolutionResult:
    """Resolve ``records`` (one row per source record, a ``<type>_hash`` column per identifier type) into customers.

    The graph (guards, edges, nodes) is built from the records' distinct signatures: channel, name and identifiers
    with how many records carry them and when (4.8 M of 63.7 M records at a million customers), so only the
    record map reads every record, once. A record's anchor (its smallest usable identifier) is the least of its
    columns, not a group over its occurrences: grouping 93 M text-keyed occurrences spilled tens of GB.
    """
    rules = rules or IdentityRules()
    run_at = run_at or datetime.now()
    conn.execute("create schema if not exists identity")

    # ---- signatures: the graph depends only on which identifiers occur together (and the name written with them)
    conn.execute(
        f"""create or replace temp table signatures as
        select source_channel, name_hash, {", ".join(f"{t}_hash" for t in IDENTIFIER_TYPES)},
               count(*) as records, min(occurred_at) as first_seen_at, max(occurred_at) as last_seen_at
        from {records} group by all"""
    )

    # ---- guards
    caps = " ".join(f"when '{t}' then {c}" for t, c in rules.caps.items())
    co_occurring = "\nunion all\n".join(
        f"select distinct {_node(a)} as node, '{a}' as identifier_type, '{b}' as other_type, {b}_hash as other_hash "
        f"from signatures where {a}_hash is not null and {b}_hash is not null"
        for a in IDENTIFIER_TYPES for b in PERSON_LEVEL_TYPES if a != b
    )
    conn.execute(
        f"""create or replace temp table held as
        with pairs as ({co_occurring}),  -- distinct first: a device seen in 10,000 events with one account is one pair
        co as (select node, identifier_type, other_type, count(*) as n from pairs group by all),
        over_cap as (
            select node, identifier_type, split_part(node, ':', 2) as identifier_hash,
                   identifier_type || ' value joined ' || n || ' distinct ' || other_type || ' values (cap '
                   || (case identifier_type {caps} end) || ')' as reason
            from co where n > (case identifier_type {caps} end)
        ),
        names as (
            select node, identifier_type, identifier_hash,
                   identifier_type || ' value written with ' || count(distinct name_hash) || ' distinct names (cap '
                   || {rules.max_names_per_value} || ')' as reason
            from ({_occurrences("signatures", ", name_hash", " and name_hash is not null")})
            group by node, identifier_type, identifier_hash having count(distinct name_hash) > {rules.max_names_per_value}
        )
        select node, any_value(identifier_type) as identifier_type, any_value(identifier_hash) as identifier_hash,
               string_agg(reason, '; ' order by reason) as reason
        from (select * from over_cap union all select * from names)
        group by node"""
    )

    # ---- edges: every usable identifier of a record links to the record's smallest one (its anchor)
    usable = ", ".join(f"'{t}:' || {_usable_hash(t)} as {t}_node" for t in IDENTIFIER_TYPES)
    node_list = "[" + ", ".join(f"{t}_node" for t in IDENTIFIER_TYPES) + "]"
    conn.execute(
        f"""create or replace temp table anchored as
        select *, least({", ".join(f"{t}_node" for t in IDENTIFIER_TYPES)}) as anchor
        from (select source_channel, records, first_seen_at, last_seen_at, {usable} from signatures)"""
    )
    conn.execute(
        f"""create or replace table identity.identity_edges as
        select node as identifier_node, anchor as linked_to_node, 'shared_record' as rule, source_channel,
               sum(records)::bigint as records, min(first_seen_at) as first_seen_at, max(last_seen_at) as last_seen_at
        from (select source_channel, records, first_seen_at, last_seen_at, anchor, unnest({node_list}) as node
              from anchored where anchor is not null)
        where node is not null and node <> anchor
        group by all"""
    )

    # ---- connected components
    conn.execute(
        f"""create or replace temp table component_nodes as
        select distinct node from (select unnest({node_list}) as node from anchored) where node is not null;
        create or replace temp table edges as
        select distinct identifier_node as a, linked_to_node as b from identity.identity_edges"""
    )
    iterations = connected_components(conn, "component_nodes", "edges", rules.max_iterations)

    # ---- stable customer ids
    conn.execute(
        """create table if not exists identity.customer_registry (customer_id VARCHAR primary key,
        created_at TIMESTAMP, status VARCHAR, merged_into VARCHAR, updated_at TIMESTAMP);
        create table if not exists identity.merge_log (merged_at TIMESTAMP, event VARCHAR, customer_id VARCHAR,
        survivor_customer_id VARCHAR, reason VARCHAR);
        create table if not exists identity.identifier_customers (identifier_node VARCHAR, identifier_type VARCHAR,
        identifier_hash VARCHAR, customer_id VARCHAR)"""
    )
    conn.execute(
        """create or replace temp table votes as
        select l.label, p.customer_id, count(*) as nodes, r.created_at
        from labels l join identity.identifier_customers p on p.identifier_node = l.node
        left join identity.customer_registry r on r.customer_id = p.customer_id
        group by all"""
    )
    # Each component keeps the previous id most of its identifiers had (oldest id on ties);
    # an id can survive in one component only (a split gives the others new ids).
    conn.execute(
        """create or replace temp table survivors as
        with ranked as (
            select *, row_number() over (partition by label order by nodes desc, created_at, customer_id) as rank_in_label,
                      row_number() over (partition by customer_id order by nodes desc, label) as rank_of_id
            from votes
        )
        select label, customer_id from ranked where rank_in_label = 1 and rank_of_id = 1"""
    )
    conn.execute(
        """create or replace temp table component_ids as
        select c.label, coalesce(s.customer_id, 'C' || substr(sha256(c.label), 1, 16)) as customer_id,
               s.customer_id is null as is_new
        from (select distinct label from labels) c left join survivors s using (label)"""
    )
    conn.execute("begin transaction")
    try:
        conn.execute(
            """insert into identity.merge_log
            select ?, 'merge', v.customer_id, c.customer_id,
                   'identifiers of both now form one component (' || v.nodes || ' identifiers of the merged customer)'
            from votes v join component_ids c using (label)
            where v.customer_id <> c.customer_id and v.customer_id not in (select customer_id from component_ids)
            union all
            select ?, 'split', c.customer_id, v.customer_id,
                   'component separated from its earlier customer (a held-back identifier no longer links it)'
            from component_ids c join votes v using (label) where c.is_new""",
            [run_at, run_at],
        )
        conn.execute(
            """update identity.customer_registry r set status = 'merged', merged_into = m.survivor_customer_id, updated_at = ?
            from (select customer_id, any_value(survivor_customer_id) as survivor_customer_id from identity.merge_log
                  where event = 'merge' and merged_at = ? group by customer_id) m
            where r.customer_id = m.customer_id""",
            [run_at, run_at],
        )
        conn.execute(
            """insert into identity.customer_registry
            select customer_id, ?, 'active', null, ? from component_ids
            where customer_id not in (select customer_id from identity.customer_registry)""",
            [run_at, run_at],
        )
        conn.execute(
            """create or replace temp table assigned as
            select l.node as identifier_node, split_part(l.node, ':', 1) as identifier_type,
                   split_part(l.node, ':', 2) as identifier_hash, c.customer_id
            from labels l join component_ids c using (label)"""
        )
        changed = record_customer_changes(conn, "assigned", run_at)
        conn.execute("create or replace table identity.identifier_customers as select * from assigned")
        remapped = update_record_map(conn, records)
        conn.execute(
            f"""create or replace table identity.held_back_identifiers as
            select h.identifier_type, h.identifier_hash, h.reason, sum(o.records)::bigint as records
            from held h join ({_occurrences("signatures", ", records")}) o using (node) group by all"""
        )
        conn.execute(
            """create table if not exists identity.resolution_runs (run_at TIMESTAMP, iterations INTEGER,
            identifiers BIGINT, edges BIGINT, customers BIGINT, records_resolved BIGINT, records_unresolved BIGINT,
            held_back BIGINT, merges BIGINT, splits BIGINT, new_customers BIGINT)"""
        )
        merges, splits = conn.execute(
            "select count(*) filter (where event = 'merge'), count(distinct customer_id) filter (where event = 'split') "
            "from identity.merge_log where merged_at = ?",
            [run_at],
        ).fetchall()[0]
        stats = conn.execute(
            f"""select (select count(*) from labels), (select count(*) from edges), (select count(*) from component_ids),
                      (select count(*) from identity.record_customers),
                      coalesce((select sum(records) from signatures), 0)::bigint - (select count(*) from identity.record_customers),
                      (select count(*) from held),
                      (select count(*) from component_ids where is_new)"""
        ).fetchall()[0]
        result = ResolutionResult(
            iterations=iterations,
            identifiers=stats[0],
            edges=stats[1],
            customers=stats[2],
            records_resolved=stats[3],
            records_unresolved=stats[4],
            held_back=stats[5],
            merges=int(merges),
            splits=int(splits),
            new_customers=stats[6] - int(splits),
            customers_changed=changed,
            records_remapped=remapped,
        )
        conn.execute(
            "insert into identity.resolution_runs values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [run_at, result.iterations, result.identifiers, result.edges, result.customers, result.records_resolved,
             result.records_unresolved, result.held_back, result.merges, result.splits, result.new_customers],
        )
        conn.execute("commit")
    except Exception:
        conn.execute("rollback")
        raise
    for table in ("signatures", "anchored", "held", "edges", "component_nodes", "labels", "votes", "survivors", "component_ids", "assigned", "changed_identifiers"):
        conn.execute(f"drop table if exists {table}")
    return result
