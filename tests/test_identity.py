"""Identity resolution on a hand-made graph: chains converge, guards hold values back, ids stay stable, merges are logged."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import duckdb

from orchestration.identity.accuracy import measure_accuracy
from orchestration.identity.resolve import IDENTIFIER_TYPES, resolve_identities

OCCURRENCES = [
    # A chain of four records that only together link e1 .. a1 .. l1 .. p1: one person.
    ("crm", "r1", "email", "e1", None), ("crm", "r1", "account_id", "a1", None),
    ("web", "r2", "account_id", "a1", None), ("web", "r2", "device_id", "d1", None),
    ("pos", "r3", "loyalty_id", "l1", "n1"), ("pos", "r3", "email", "e1", "n1"),
    ("pos", "r4", "phone", "p1", "n1"), ("pos", "r4", "loyalty_id", "l1", "n1"),
    # Another person sharing a family tablet (t1) with the first: t1 must not merge them.
    ("web", "r5", "account_id", "a2", None), ("web", "r5", "device_id", "t1", None),
    ("web", "r6", "account_id", "a1", None), ("web", "r6", "device_id", "t1", None),
    # A shop phone typed for three walk-ins with three different names: held back, records unresolved.
    ("pos", "r7", "phone", "shop", "n7"), ("pos", "r8", "phone", "shop", "n8"), ("pos", "r9", "phone", "shop", "n9"),
    # The shop phone beside the first person's loyalty card: the record is theirs, through the card.
    ("pos", "r10", "phone", "shop", "n1"), ("pos", "r10", "loyalty_id", "l1", "n1"),
]


def _conn(rows: list[tuple]) -> duckdb.DuckDBPyConnection:
    """``occ_input`` holds the occurrences as listed; ``records_input`` is their record grain, as dbt builds it."""
    conn = duckdb.connect()
    conn.execute(
        "create table occ_input (source_channel varchar, record_id varchar, identifier_type varchar, "
        "identifier_hash varchar, name_hash varchar, occurred_at timestamp default now())"
    )
    if rows:
        conn.executemany("insert into occ_input (source_channel, record_id, identifier_type, identifier_hash, name_hash) values (?, ?, ?, ?, ?)", rows)
    hashes = ", ".join(f"max(identifier_hash) filter (where identifier_type = '{t}') as {t}_hash" for t in IDENTIFIER_TYPES)
    conn.execute(
        f"""create view records_input as
        select source_channel, record_id, min(occurred_at) as occurred_at, max(name_hash) as name_hash, {hashes}
        from occ_input group by all"""
    )
    return conn


def _customer_of(conn: duckdb.DuckDBPyConnection, channel: str, record: str) -> str | None:
    row = conn.execute(
        "select customer_id from identity.record_customers where source_channel = ? and record_id = ?", [channel, record]
    ).fetchone()
    return row[0] if row else None


def test_components_guards_and_stable_ids() -> None:
    conn = _conn(OCCURRENCES)
    first = resolve_identities(conn, records="records_input")
    person = {
        _customer_of(conn, c, r) for c, r in [("crm", "r1"), ("web", "r2"), ("pos", "r3"), ("pos", "r4"), ("web", "r6"), ("pos", "r10")]
    }
    assert len(person) == 1 and None not in person
    assert _customer_of(conn, "web", "r5") not in person
    held = dict(conn.execute("select identifier_hash, reason from identity.held_back_identifiers").fetchall())
    assert "account_id" in held["t1"] and "names" in held["shop"]
    assert _customer_of(conn, "pos", "r7") is None
    assert first.records_unresolved == 3
    assert first.iterations >= 1 and first.merges == 0
    assert first.customers_changed == first.customers  # a first resolution changes every customer

    second = resolve_identities(conn, records="records_input")
    assert {_customer_of(conn, "crm", "r1")} == person
    assert second.new_customers == 0 and second.merges == 0
    assert second.customers_changed == 0  # nothing for the incremental marts to re-stitch


def test_a_new_link_merges_and_is_logged() -> None:
    conn = _conn(OCCURRENCES)
    resolve_identities(conn, records="records_input")
    older, other = _customer_of(conn, "crm", "r1"), _customer_of(conn, "web", "r5")
    conn.execute("insert into occ_input (source_channel, record_id, identifier_type, identifier_hash) values "
                 "('crm', 'r10', 'email', 'e1'), ('crm', 'r10', 'account_id', 'a2')")
    result = resolve_identities(conn, records="records_input")
    assert result.merges == 1
    survivor = _customer_of(conn, "web", "r5")
    assert survivor == _customer_of(conn, "crm", "r1") == older  # the id with more identifiers survives
    log = conn.execute("select event, customer_id, survivor_customer_id from identity.merge_log").fetchall()
    assert log == [("merge", other, older)]
    status = conn.execute("select status, merged_into from identity.customer_registry where customer_id = ?", [other]).fetchone()
    assert status == ("merged", older)
    assert result.customers_changed == 2
    changed_now = "select customer_id from identity.customer_changes where changed_at = (select max(changed_at) from identity.customer_changes)"
    assert {c for c, in conn.execute(changed_now).fetchall()} == {older, other}


def test_every_record_that_changes_hands_has_its_customers_stamped() -> None:
    """The incremental marts re-stitch only the customers identity.customer_changes names: whatever a night brings
    (new links, a value that becomes shared and is held back, new people), every record whose customer differs
    from the last run's must have its old and its new customer stamped, and an unchanged customer must not be."""
    rng = random.Random(7)
    rows = [(f"c{i % 5}", f"r{i}", t, f"{t[0]}{rng.randrange(60)}", f"n{rng.randrange(40)}")
            for i in range(300) for t in rng.sample(IDENTIFIER_TYPES, 2)]
    conn = _conn(rows)
    resolve_identities(conn, records="records_input")
    for night in range(3):
        conn.execute("create or replace table before as select * from identity.record_customers")
        extra = [(f"c{i % 5}", f"n{night}r{i}", t, f"{t[0]}{rng.randrange(80)}", f"n{rng.randrange(40)}")
                 for i in range(25) for t in rng.sample(IDENTIFIER_TYPES, 2)]
        conn.executemany("insert into occ_input (source_channel, record_id, identifier_type, identifier_hash, name_hash) "
                         "values (?, ?, ?, ?, ?)", extra)
        result = resolve_identities(conn, records="records_input")
        stamped = {c for c, in conn.execute("select customer_id from identity.customer_changes where changed_at = "
                                            "(select max(changed_at) from identity.customer_changes)").fetchall()}
        moved = conn.execute(
            """select b.customer_id, a.customer_id from before b
            full join identity.record_customers a using (source_channel, record_id)
            where b.customer_id is distinct from a.customer_id and b.record_id is not null""").fetchall()
        assert moved, "the night should move some records"
        assert {c for pair in moved for c in pair if c is not None} <= stamped
        assert 0 < result.customers_changed < result.customers


def test_the_record_map_redone_by_bucket_equals_a_whole_rewrite() -> None:
    """The record map redoes only the records of changed channel-day buckets and of identifiers that changed customer
    or held status. Night after night of new, gone, re-timed and re-keyed records, a value that becomes shared and
    held back, and erased people (their rows deleted from the map, their identifiers cleared), it must equal the
    map a whole rewrite gives on the same state, while rewriting only part of it."""
    rng = random.Random(11)
    day = [datetime(2026, 1, 1, 10) + timedelta(days=d) for d in range(60)]
    rows = [(f"c{i % 3}", f"r{i}", t, f"{t[0]}{rng.randrange(90)}", f"n{rng.randrange(60)}", rng.choice(day))
            for i in range(400) for t in rng.sample(IDENTIFIER_TYPES, 2)]
    insert = ("insert into occ_input (source_channel, record_id, identifier_type, identifier_hash, name_hash, occurred_at) "
              "values (?, ?, ?, ?, ?, ?)")
    incremental, whole = _conn([]), _conn([])
    for conn in (incremental, whole):
        conn.executemany(insert, rows)
    run_at = datetime(2026, 3, 2)
    for night in range(5):
        if night:
            new = [(f"c{i % 3}", f"n{night}r{i}", t, f"{t[0]}{rng.randrange(120)}", f"n{rng.randrange(60)}", day[-1])
                   for i in range(20) for t in rng.sample(IDENTIFIER_TYPES, 2)]
            gone, retimed, rekeyed = (f"r{rng.randrange(400)}" for _ in range(3))
            shared = [f"r{rng.randrange(400)}" for _ in range(3)]
            erased_customer = incremental.execute(
                "select customer_id from identity.record_customers order by hash(customer_id, ?) limit 1", [night]
            ).fetchone()[0]
            for conn in (incremental, whole):
                conn.executemany(insert, new)
                conn.execute("delete from occ_input where record_id = ?", [gone])
                conn.execute("update occ_input set occurred_at = ? where record_id = ?", [day[night], retimed])
                conn.execute("update occ_input set identifier_hash = identifier_hash || 'x' where record_id = ?", [rekeyed])
                # One phone typed into three records under different names: held back from tonight.
                conn.executemany(insert, [("pos", r, "phone", f"shared{night}", f"name{r}", day[0]) for r in shared])
                # An erasure: the person's rows leave the map, every identifier of theirs leaves their records.
                conn.execute(
                    """delete from occ_input o where (source_channel, record_id) in (
                           select source_channel, record_id from identity.record_customers where customer_id = ?)""",
                    [erased_customer],
                )
                conn.execute("delete from identity.record_customers where customer_id = ?", [erased_customer])
        whole.execute("drop table if exists identity.record_buckets")
        remapped = resolve_identities(incremental, records="records_input", run_at=run_at).records_remapped
        resolve_identities(whole, records="records_input", run_at=run_at)
        run_at += timedelta(days=1)
        records = incremental.execute("select count(*) from records_input").fetchone()[0]
        if night:
            assert 0 < remapped < records / 4, (night, remapped, records)
        mine = incremental.execute("select * from identity.record_customers order by all").fetchall()
        expected = whole.execute("select * from identity.record_customers order by all").fetchall()
        assert len(expected) > 250 and mine == expected, night
    held = incremental.execute("select count(*) from identity.held_back_identifiers where identifier_hash like 'shared%'")
    assert held.fetchone()[0] == 4


def test_accuracy_counts_pairs_against_a_known_truth(tmp_path) -> None:
    """Resolution joined r1-r4 and r6 (person A) and kept r5 (person B) apart; r7-r9 stay unresolved."""
    conn = _conn(OCCURRENCES)
    resolve_identities(conn, records="records_input")
    truth = {"r1": "A", "r2": "A", "r3": "A", "r4": "A", "r6": "A", "r5": "B", "r7": "C", "r8": "C", "r9": "D"}
    channels = {r: c for c, r, *_ in OCCURRENCES}
    conn.execute("create table truth (channel varchar, record_id varchar, person_id varchar)")
    conn.executemany("insert into truth values (?, ?, ?)", [(channels[r], r, p) for r, p in truth.items()])
    conn.execute(f"copy truth to '{tmp_path / 'truth.parquet'}' (format parquet)")

    scored = measure_accuracy(conn, tmp_path / "truth.parquet", records="records_input")
    # A's 5 records form 10 true pairs, all found; C's two walk-ins (r7, r8) form a pair nobody could find.
    assert (scored.true_pairs, scored.predicted_pairs, scored.correct_pairs) == (11, 10, 10)
    assert scored.precision == 1.0 and scored.recall == 10 / 11
    assert scored.records_unresolved == 3 and scored.under_merged_persons == 1 and scored.over_merged_customers == 0
    # The shop phone is shared evidence, so an unguarded resolver could join r7 and r8 (and r9, wrongly).
    assert scored.recall_ceiling == 1.0

    # Merging the two people by hand is caught as over-merging.
    conn.execute("update identity.record_customers set customer_id = 'X'")
    merged = measure_accuracy(conn, tmp_path / "truth.parquet", records="records_input")
    assert merged.over_merged_customers == 1 and merged.over_merged_persons == 2
    assert merged.predicted_pairs == 15 and merged.correct_pairs == 10
