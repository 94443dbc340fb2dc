"""docs/ledger.md is a specification: its worked example must be exactly what the code produces,
and its independent-verifier snippet must verify that example."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import rfc8785

from audit import verify_core as vc

DOC = (Path(__file__).resolve().parents[2] / "docs" / "ledger.md").read_text()
EVENTS = [
    (
        1795708800000000,
        "user",
        "3",
        "catalog.asset.register",
        "catalog.dataasset",
        "12",
        "",
        {"fields": ["name", "qualified_name", "source"]},
    ),
    (
        1795708800250000,
        "system",
        "scanner",
        "catalog.classification.suggest",
        "catalog.classification",
        "40",
        "",
        {"column_id": 7, "confidence": "0.93", "entity_type": "EMAIL_ADDRESS"},
    ),
    (
        1795708861000000,
        "user",
        "5",
        "catalog.classification.confirm",
        "catalog.classification",
        "40",
        "checked sample",
        {"state": {"from": "suggested", "to": "confirmed"}},
    ),
]


def _example():
    from audit.canonical import event_body

    bodies = [
        event_body(time_us=t, actor_type=at, actor_id=ai, action=a, target_type=tt, target_id=ti, reason=r, details=d)
        for t, at, ai, a, tt, ti, r, d in EVENTS
    ]
    signer = vc.Signer(
        name="custos.example/ledger", seed=hashlib.sha256(b"custos documentation example key (never use)").digest()
    )
    return bodies, signer


def test_the_documented_bodies_hashes_proofs_and_signed_checkpoint_are_exact():
    bodies, signer = _example()
    leaves = [vc.leaf_hash(b) for b in bodies]
    root = vc.root_from_leaves(leaves)
    provider = vc.memory_subtree(leaves)
    for body in bodies:
        assert body.decode() in DOC and rfc8785.dumps(json.loads(body)) == body
    for value in [*leaves, vc.node_hash(*leaves[:2]), root]:
        assert value.hex() in DOC and vc.b64(value) in DOC
    for proof in (vc.inclusion_proof(1, 3, provider), vc.inclusion_proof(2, 3, provider), vc.consistency_proof(1, 3, provider)):
        assert json.dumps([vc.b64(h) for h in proof]).replace(", ", ",") in DOC.replace(",\n  ", ",").replace(", ", ",")
    assert signer.skey in DOC and signer.verifier.vkey in DOC
    note = vc.sign_note(vc.Checkpoint("custos.example/ledger", 3, root).text(), signer)
    assert note.rstrip("\n") in DOC


def test_the_independent_verifier_snippet_verifies_the_example(tmp_path, monkeypatch):
    bodies, signer = _example()
    leaves = [vc.leaf_hash(b) for b in bodies]
    export = tmp_path / "export.jsonl"
    export.write_text(
        "".join(
            json.dumps({"seq": i, "body": base64.b64encode(b).decode(), "leaf_hash": vc.b64(leaves[i])}) + "\n"
            for i, b in enumerate(bodies)
        )
    )
    snippet = re.search(r"```python\n(.*?)```", DOC, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    note = vc.sign_note(vc.Checkpoint("custos.example/ledger", 3, vc.root_from_leaves(leaves)).text(), signer)
    exec(compile(snippet, "docs/ledger.md", "exec"), {"vkey": signer.verifier.vkey, "note": note})  # noqa: S102
    bad = note.replace("\n3\n", "\n2\n")
    try:
        exec(compile(snippet, "docs/ledger.md", "exec"), {"vkey": signer.verifier.vkey, "note": bad})  # noqa: S102
    except Exception:  # noqa: BLE001 - the snippet signals failure by raising
        return
    raise AssertionError("the snippet accepted a modified checkpoint")
