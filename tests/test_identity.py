"""Identity resolution on a hand-made graph: chains converge, guards hold values back, ids stay stable, merges are logged."""

from __future__ import annotations

import duckdb

from orchestration.identity.resolve import resolve_identities

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
]


def _conn(rows: list[tuple]) -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect()
    conn.execute(
        "create table occ_input (source_channel varchar, record_id varchar, identifier_type varchar, "
        "identifier_hash varchar, name_hash varchar, occurred_at timestamp default now())"
    )
    conn.executemany("insert into occ_input (source_channel, record_id, identifier_type, identifier_hash, name_hash) values (?, ?, ?, ?, ?)", rows)
    return conn


def _customer_of(conn: duckdb.DuckDBPyConnection, channel: str, record: str) -> str | None:
    row = conn.execute(
        "select customer_id from identity.record_customers where source_channel = ? and record_id = ?", [channel, record]
    ).fetchone()
    return row[0] if row else None


def test_components_guards_and_stable_ids() -> None:
    conn = _conn(OCCURRENCES)
    first = resolve_identities(conn, occurrences="occ_input")
    person = {_customer_of(conn, c, r) for c, r in [("crm", "r1"), ("web", "r2"), ("pos", "r3"), ("pos", "r4"), ("web", "r6")]}
    assert len(person) == 1 and None not in person
    assert _customer_of(conn, "web", "r5") not in person
    held = dict(conn.execute("select identifier_hash, reason from identity.held_back_identifiers").fetchall())
    assert "account_id" in held["t1"] and "names" in held["shop"]
    assert _customer_of(conn, "pos", "r7") is None
    assert first.records_unresolved == 3
    assert first.iterations >= 1 and first.merges == 0

    second = resolve_identities(conn, occurrences="occ_input")
    assert {_customer_of(conn, "crm", "r1")} == person
    assert second.new_customers == 0 and second.merges == 0


def test_a_new_link_merges_and_is_logged() -> None:
    conn = _conn(OCCURRENCES)
    resolve_identities(conn, occurrences="occ_input")
    older, other = _customer_of(conn, "crm", "r1"), _customer_of(conn, "web", "r5")
    conn.execute("insert into occ_input (source_channel, record_id, identifier_type, identifier_hash) values "
                 "('crm', 'r10', 'email', 'e1'), ('crm', 'r10', 'account_id', 'a2')")
    result = resolve_identities(conn, occurrences="occ_input")
    assert result.merges == 1
    survivor = _customer_of(conn, "web", "r5")
    assert survivor == _customer_of(conn, "crm", "r1") == older  # the id with more identifiers survives
    log = conn.execute("select event, customer_id, survivor_customer_id from identity.merge_log").fetchall()
    assert log == [("merge", other, older)]
    status = conn.execute("select status, merged_into from identity.customer_registry where customer_id = ?", [other]).fetchone()
    assert status == ("merged", older)
