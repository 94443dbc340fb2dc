"""Batch RFC 6962 hashing for the verifier's hot path: native when built, pure Python otherwise.

``audit_verify`` hashes every entry of the log (its leaf) and every interior node. hashlib's
per-call overhead is about twice the cost of SHA-256 itself, so ``audit._merkle`` (a small C
module over OpenSSL, built by ``make install``) does these loops in C. When it is not built (no
compiler, OpenSSL or SQLite headers), or ``CUSTOS_MERKLE_NATIVE=0``, the pure-Python functions below
compute exactly the same values. ``tests/audit/test_fast_merkle.py`` checks that both agree.

A level is the concatenation of its 32-byte hashes (one bytes object, not a list of them: that
is what makes comparing a whole level with the stored one a single ``==``).
"""

from __future__ import annotations

import hashlib
import os

HASH_SIZE = 32


def py_leaf_level(rows: list[tuple], first_seq: int) -> tuple[bytes, tuple[str, int] | None]:
    """Leaf hashes of ``(seq, body, leaf_hash)`` rows given in seq order, concatenated, and the
    first problem: ``("seq", i)`` when ``rows[i]`` is not seq ``first_seq + i`` (the leaves are
    then ``b""``), ``("leaf", i)`` when its stored leaf hash is not the recomputed one or its body
    is not bytes (that body's leaf is 32 zero bytes), or None."""
    if not rows:
        return b"", None
    # One transpose in C instead of three Python loops over the rows.
    seqs, bodies, stored = zip(*rows, strict=True)
    if seqs != tuple(range(first_seq, first_seq + len(rows))):
        bad = next(i for i, seq in enumerate(seqs) if seq != first_seq + i)
        return b"", ("seq", bad)
    sha = hashlib.sha256
    try:
        leaves = [sha(b"\x00" + body).digest() for body in bodies]
    except TypeError:  # a body that is not bytes: only in a tampered copy, checked row by row
        return _py_leaf_level_row_by_row(bodies, stored)
    if leaves != list(stored):
        bad = next(i for i, (leaf, kept) in enumerate(zip(leaves, stored, strict=True)) if leaf != kept)
        return b"".join(leaves), ("leaf", bad)
    return b"".join(leaves), None


def _py_leaf_level_row_by_row(bodies: tuple, stored: tuple) -> tuple[bytes, tuple[str, int] | None]:
    """py_leaf_level's hashing when some body is not bytes (NULL or text in a tampered copy):
    such a body has no leaf (32 zero bytes) and is its row's problem."""
    leaves, bad = [], None
    for i, (body, kept) in enumerate(zip(bodies, stored, strict=True)):
        leaf = hashlib.sha256(b"\x00" + body).digest() if isinstance(body, bytes) else None
        if bad is None and (leaf is None or leaf != kept):
            bad = i
        leaves.append(leaf or bytes(HASH_SIZE))
    return b"".join(leaves), (None if bad is None else ("leaf", bad))


def py_node_level(hashes: bytes) -> bytes:
    """The parents ``SHA-256(0x01 || left || right)`` of consecutive pairs of a level; an odd
    last hash has no complete parent and is dropped."""
    if len(hashes) % HASH_SIZE:
        raise ValueError("node_level: the level's length is not a multiple of 32")
    sha, pair = hashlib.sha256, 2 * HASH_SIZE
    return b"".join(sha(b"\x01" + hashes[i : i + pair]).digest() for i in range(0, len(hashes) - pair + 1, pair))


def _native():
    if os.environ.get("CUSTOS_MERKLE_NATIVE", "1") == "0":
        return None
    try:
        from audit import _merkle
    except ImportError:
        return None
    return _merkle


_merkle = _native()
NATIVE = _merkle is not None
leaf_level = _merkle.leaf_level if _merkle else py_leaf_level
node_level = _merkle.node_level if _merkle else py_node_level
# leaf_level over the ledger rows [first_seq, end_seq) read straight from a SQLite file (the
# rows' Python objects cost more than the hashing); None without the native module.
sqlite_leaf_level = _merkle.sqlite_leaf_level if _merkle else None


def perfect_levels(leaves: bytes) -> list[bytes]:
    """Every complete subtree over a leaf level, level by level: ``levels[l]`` holds the hashes
    of leaves ``[i * 2**l, (i + 1) * 2**l)`` for each ``i``, concatenated."""
    levels = [leaves]
    while len(levels[-1]) >= 2 * HASH_SIZE:
        levels.append(node_level(levels[-1]))  # the module's, looked up now (tests swap it)
    return levels


def hash_at(level: bytes, index: int) -> bytes:
    """The ``index``-th 32-byte hash of a concatenated level."""
    return level[index * HASH_SIZE : (index + 1) * HASH_SIZE]
