"""The standalone verifier core: the transparency-dev corpus, exhaustive small trees against a
naive RFC 6962 reference, hypothesis-generated trees, keys, notes and checkpoints."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit import verify_core as vc
from tests.conftest import shared_path


def _b(value):
    return base64.b64decode(value) if value else b""


def _cases(kind):
    root = shared_path("testdata", "merkle", kind)
    return sorted(root.rglob("*.json"))


def test_it_passes_every_case_of_the_shared_merkle_corpus():
    inclusion, consistency = _cases("inclusion"), _cases("consistency")
    assert len(inclusion) + len(consistency) == 196
    failures = []
    for path in inclusion:
        case = json.loads(path.read_text())
        ok = vc.verify_inclusion(
            case["leafIdx"], case["treeSize"], _b(case["leafHash"]), [_b(p) for p in case["proof"] or []], _b(case["root"])
        )
        if ok == case["wantErr"]:
            failures.append(str(path))
    for path in consistency:
        case = json.loads(path.read_text())
        ok = vc.verify_consistency(
            case["size1"], case["size2"], [_b(p) for p in case["proof"] or []], _b(case["root1"]), _b(case["root2"])
        )
        if ok == case["wantErr"]:
            failures.append(str(path))
    assert failures == []


# --- a naive reference: RFC 6962 section 2.1 written literally ---------------------------------


def naive_mth(leaves):
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaves[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + naive_mth(leaves[:k]) + naive_mth(leaves[k:])).digest()


def naive_path(m, leaves):
    n = len(leaves)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return naive_path(m, leaves[:k]) + [naive_mth(leaves[k:])]
    return naive_path(m - k, leaves[k:]) + [naive_mth(leaves[:k])]


def naive_subproof(m, leaves, b):
    n = len(leaves)
    if m == n:
        return [] if b else [naive_mth(leaves)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return naive_subproof(m, leaves[:k], b) + [naive_mth(leaves[k:])]
    return naive_subproof(m - k, leaves[k:], False) + [naive_mth(leaves[:k])]


def _leaves(n):
    return [vc.leaf_hash(b"entry %d" % i) for i in range(n)]


def test_it_matches_the_naive_reference_on_every_tree_up_to_40_leaves():
    for n in range(41):
        leaves = _leaves(n)
        root = naive_mth(leaves)
        assert vc.root_from_leaves(leaves) == root
        provider = vc.memory_subtree(leaves)
        assert vc.range_hash(0, n, provider) == root
        for m in range(n):
            proof = vc.inclusion_proof(m, n, provider)
            assert proof == naive_path(m, leaves)
            assert vc.verify_inclusion(m, n, leaves[m], proof, root)
            assert not vc.verify_inclusion(m, n, leaves[(m + 1) % n], proof, root) or n == 1
            if proof:
                assert not vc.verify_inclusion(m, n, leaves[m], proof[:-1], root)
                assert not vc.verify_inclusion(m, n, leaves[m], proof + [root], root)
        for first in range(1, n + 1):
            proof = vc.consistency_proof(first, n, provider)
            assert proof == naive_subproof(first, leaves, True)
            first_root = naive_mth(leaves[:first])
            assert vc.verify_consistency(first, n, proof, first_root, root)
            if first < n:
                assert not vc.verify_consistency(first, n, proof, root, root)
                assert not vc.verify_consistency(first, n, proof[:-1], first_root, root)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(max_size=40), min_size=1, max_size=300), st.data())
def test_it_proves_inclusion_and_consistency_on_generated_trees(bodies, data):
    leaves = vc.leaf_hashes(bodies)
    n = len(leaves)
    provider = vc.memory_subtree(leaves)
    root = vc.root_from_leaves(leaves)
    assert root == naive_mth(leaves)
    m = data.draw(st.integers(0, n - 1))
    size = data.draw(st.integers(m + 1, n))
    sub_root = vc.root_from_leaves(leaves[:size])
    proof = vc.inclusion_proof(m, size, provider)
    assert vc.verify_inclusion(m, size, leaves[m], proof, sub_root)
    first = data.draw(st.integers(1, n))
    cproof = vc.consistency_proof(first, n, provider)
    assert vc.verify_consistency(first, n, cproof, vc.root_from_leaves(leaves[:first]), root)
    if cproof:
        flip = data.draw(st.integers(0, len(cproof) - 1))
        bad = list(cproof)
        bad[flip] = bytes([bad[flip][0] ^ 1]) + bad[flip][1:]
        assert not vc.verify_consistency(first, n, bad, vc.root_from_leaves(leaves[:first]), root)


def test_it_round_trips_keys_in_the_c2sp_formats():
    signer = vc.Signer.generate("custos.test/ledger")
    assert vc.parse_skey(signer.skey) == signer
    verifier = vc.parse_vkey(signer.verifier.vkey)
    assert verifier == signer.verifier
    name, hex_id, blob = verifier.vkey.split("+", 2)
    assert name == "custos.test/ledger" and len(bytes.fromhex(hex_id)) == 4 and base64.b64decode(blob)[0] == 1
    with pytest.raises(vc.NoteError):
        vc.parse_vkey(f"other.name+{hex_id}+{blob}")


def test_it_matches_the_go_note_package_key_id_and_signature_vector():
    # Test vector from golang.org/x/mod/sumdb/note (note_test.go, TestSign): fixed key, fixed note.
    skey = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
    vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
    signer = vc.parse_skey(skey)
    assert signer.verifier.vkey == vkey
    note = vc.sign_note(
        "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n", signer
    )
    assert note.endswith(
        "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
    )


def test_it_signs_and_opens_checkpoints_and_refuses_tampering():
    signer = vc.Signer.generate("custos.test/ledger")
    root = vc.root_from_leaves(_leaves(5))
    note = vc.sign_note(vc.Checkpoint("custos.test/ledger", 5, root).text(), signer)
    checkpoint, verifier = vc.open_checkpoint(note, [signer.verifier], origin="custos.test/ledger")
    assert (checkpoint.size, checkpoint.root, verifier) == (5, root, signer.verifier)
    with pytest.raises(vc.NoteError):
        vc.open_checkpoint(note.replace("\n5\n", "\n6\n"), [signer.verifier])
    with pytest.raises(vc.NoteError, match="trusted"):
        vc.open_checkpoint(note, [vc.Signer.generate("custos.test/ledger").verifier])
    with pytest.raises(vc.NoteError):
        vc.open_checkpoint(note, [signer.verifier], origin="elsewhere")
