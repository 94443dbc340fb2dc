"""audit.fast_merkle: the native module and the pure-Python fallback compute the same things, and
both agree with the reference in audit.verify_core (itself checked against the shared corpus)."""

from __future__ import annotations

import hashlib
import os
import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit import fast_merkle
from audit import verify_core as vc
from tests.audit.conftest import NATIVE_MISSING

native = pytest.mark.skipif(not fast_merkle.NATIVE, reason=NATIVE_MISSING)


def test_the_native_module_is_built_in_ci():
    """CI measures audit_verify with the native module: a build that silently fell back to
    pure Python would pass every other test and miss the speed target."""
    if not os.environ.get("CI"):
        pytest.skip("only required in CI (.ci/run sets CI); elsewhere the pure-Python fallback is allowed")
    assert fast_merkle.NATIVE, NATIVE_MISSING


def _rows(bodies: list[bytes], first: int = 0) -> list[tuple[int, bytes, bytes]]:
    return [(first + i, body, vc.leaf_hash(body)) for i, body in enumerate(bodies)]


BODIES = st.lists(st.binary(max_size=300), max_size=40)


@given(bodies=BODIES, first=st.integers(0, 2**40))
@settings(max_examples=150, deadline=None)
def test_leaf_level_of_intact_rows_is_the_reference_leaves(bodies, first):
    expected = b"".join(vc.leaf_hashes(bodies))
    assert fast_merkle.py_leaf_level(_rows(bodies, first), first) == (expected, None)
    if fast_merkle.NATIVE:
        assert fast_merkle.leaf_level(_rows(bodies, first), first) == (expected, None)


@native
@given(
    bodies=st.lists(st.binary(max_size=80), min_size=1, max_size=30),
    data=st.data(),
)
@settings(max_examples=300, deadline=None)
def test_native_and_python_leaf_level_report_the_same_first_problem(bodies, data):
    rows = _rows(bodies, 7)
    for _ in range(data.draw(st.integers(1, 3), label="changes")):
        i = data.draw(st.integers(0, len(rows) - 1), label="row")
        seq, body, leaf = rows[i]
        change = data.draw(
            st.sampled_from(["seq", "body", "leaf", "short leaf", "delete", "null body", "text body", "null leaf"]),
            label="change",
        )
        if (change in ("body", "text body") and not isinstance(body, bytes)) or (change == "short leaf" and leaf is None):
            continue  # already not bytes
        if change == "null body":
            rows[i] = (seq, None, leaf)
        elif change == "text body":
            rows[i] = (seq, body.decode("latin-1"), leaf)
        elif change == "null leaf":
            rows[i] = (seq, body, None)
        elif change == "seq":
            rows[i] = (seq + data.draw(st.integers(1, 5)), body, leaf)
        elif change == "body":
            rows[i] = (seq, body + b"x", leaf)
        elif change == "leaf":
            rows[i] = (seq, body, bytes(32))
        elif change == "short leaf":
            rows[i] = (seq, body, leaf[:31])
        elif len(rows) > 1:
            del rows[i]
    assert fast_merkle.leaf_level(rows, 7) == fast_merkle.py_leaf_level(rows, 7)


@native
def test_a_body_that_is_not_bytes_has_no_leaf_and_is_its_rows_problem():
    rows = [(0, b"a", vc.leaf_hash(b"a")), (1, "text", vc.leaf_hash(b"text")), (2, None, b"")]
    expected = (vc.leaf_hash(b"a") + bytes(32) * 2, ("leaf", 1))
    assert fast_merkle.leaf_level(rows, 0) == fast_merkle.py_leaf_level(rows, 0) == expected


@native
def test_native_leaf_level_refuses_what_is_not_a_row():
    with pytest.raises(TypeError, match="row 1 is not a"):
        fast_merkle.leaf_level([(0, b"", vc.leaf_hash(b"")), (1, b"")], 0)


@given(count=st.integers(0, 70))
@settings(max_examples=71, deadline=None)
def test_perfect_levels_match_the_reference_on_both_paths(count):
    leaves = [hashlib.sha256(b"%d" % i).digest() for i in range(count)]
    expected = [b"".join(level) for level in vc.perfect_levels(leaves)] if leaves else [b""]
    assert [fast_merkle.py_node_level(level) for level in expected[:-1]] == expected[1:]
    assert fast_merkle.perfect_levels(b"".join(leaves)) == expected


@given(hashes=st.integers(0, 9).flatmap(lambda n: st.binary(min_size=32 * n, max_size=32 * n)))
@settings(max_examples=100, deadline=None)
def test_node_level_pairs_hashes_like_the_rfc_and_drops_an_odd_last_one(hashes):
    expected = b"".join(vc.node_hash(hashes[i : i + 32], hashes[i + 32 : i + 64]) for i in range(0, len(hashes) - 63, 64))
    assert fast_merkle.py_node_level(hashes) == expected
    if fast_merkle.NATIVE:
        assert fast_merkle.node_level(hashes) == expected


@pytest.mark.parametrize("node_level", [fast_merkle.py_node_level, fast_merkle.node_level])
def test_node_level_refuses_a_level_that_is_not_whole_hashes(node_level):
    with pytest.raises(ValueError, match="multiple of 32"):
        node_level(b"\x00" * 33)


# --- the native reader of a SQLite file -------------------------------------------------------


@pytest.fixture
def ledger_file(tmp_path):
    """A SQLite file with the ledger table's columns and 100 intact entries."""
    path = tmp_path / "ledger.sqlite3"
    conn = sqlite3.connect(path)
    # No NOT NULL: the attacker's copy need not keep the constraints.
    conn.execute("CREATE TABLE audit_ledgerentry (seq bigint NOT NULL PRIMARY KEY, body BLOB, leaf_hash BLOB)")
    conn.executemany("INSERT INTO audit_ledgerentry VALUES (?, ?, ?)", _rows([b'{"i":%d}' % i for i in range(100)]))
    conn.commit()
    yield path, conn
    conn.close()


def _python_reading(conn, first, end):
    rows = conn.execute(
        "SELECT seq, body, leaf_hash FROM audit_ledgerentry WHERE seq >= ? AND seq < ? ORDER BY seq", (first, end)
    ).fetchall()
    return fast_merkle.py_leaf_level(rows, first)


@native
@pytest.mark.parametrize(("first", "end"), [(0, 100), (0, 64), (37, 38), (90, 130), (100, 200), (5, 5)])
def test_the_native_file_reader_reads_what_sqlite3_reads(ledger_file, first, end):
    path, conn = ledger_file
    assert fast_merkle.sqlite_leaf_level(str(path), first, end) == _python_reading(conn, first, end)


@native
@pytest.mark.parametrize(
    "tamper",
    [
        "DELETE FROM audit_ledgerentry WHERE seq = 40",
        "UPDATE audit_ledgerentry SET body = x'00' WHERE seq = 41",
        "UPDATE audit_ledgerentry SET leaf_hash = x'00' WHERE seq = 42",
        "UPDATE audit_ledgerentry SET seq = 1000 WHERE seq = 43",
        "UPDATE audit_ledgerentry SET seq = 'forty-four' WHERE seq = 44",
        "UPDATE audit_ledgerentry SET body = NULL WHERE seq = 45",
        "UPDATE audit_ledgerentry SET body = CAST(body AS TEXT) WHERE seq = 46",
        "UPDATE audit_ledgerentry SET leaf_hash = NULL WHERE seq = 47",
    ],
)
def test_the_native_file_reader_reports_tampering_like_the_python_path(ledger_file, tamper):
    path, conn = ledger_file
    conn.execute(tamper)
    conn.commit()
    native_result = fast_merkle.sqlite_leaf_level(str(path), 32, 64)
    assert native_result == _python_reading(conn, 32, 64)
    assert native_result[1] is not None or len(native_result[0]) < 32 * 32


@native
def test_the_native_file_reader_says_what_it_cannot_open(tmp_path):
    with pytest.raises(OSError, match="unable to open database file"):
        fast_merkle.sqlite_leaf_level(str(tmp_path / "absent.sqlite3"), 0, 10)
    with pytest.raises(ValueError, match="end_seq is before first_seq"):
        fast_merkle.sqlite_leaf_level(str(tmp_path / "absent.sqlite3"), 10, 0)
