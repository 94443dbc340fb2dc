"""The ledger part of an evidence bundle: which contiguous range of the log covers a period, the
subtree hashes left of it, a signed checkpoint at its end and the consistency proof with the
previous export's checkpoint.

Reads the audit app's tables directly (its public selectors give roots and proofs; the prefix
subtrees and the period-to-range mapping are ours). The checkpoint at the range's end is signed
with the ledger key (``audit.keys``) only after checking that the root is consistent with the
latest stored checkpoint, so an export never signs a root the log's own checkpoints contradict.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import Max, Min

from audit import selectors as audit_selectors
from audit import verify_core
from audit.keys import load_signer, trusted_verifiers
from audit.models import STORED_MIN_LEVEL, Checkpoint, LedgerEntry, LedgerNode


class LedgerRangeError(RuntimeError):
    """The ledger cannot back this export (inconsistent with its checkpoints, missing subtrees)."""


@dataclass(frozen=True)
class LedgerRange:
    first_seq: int
    end_seq: int  # exclusive, = the checkpoint's tree size

    @property
    def count(self) -> int:
        return self.end_seq - self.first_seq


def period_range(*, period_from: datetime | None, period_to: datetime | None) -> LedgerRange:
    """The smallest contiguous range ``[first, end)`` holding every sequenced event whose time is in
    the period. Sequence order follows commit order, which can differ from event time by the
    length of a transaction, so a few events just outside the period may sit inside the range."""
    size = audit_selectors.ledger_size()
    if period_to is None:
        end = size
    else:
        last = LedgerEntry.objects.filter(event__occurred_at__lte=period_to).aggregate(m=Max("seq"))["m"]
        end = 0 if last is None else last + 1
    if period_from is None:
        first = 0
    else:
        found = LedgerEntry.objects.filter(event__occurred_at__gte=period_from).aggregate(m=Min("seq"))["m"]
        first = end if found is None else found
    return LedgerRange(first_seq=min(first, end), end_seq=end)


def prefix_subtrees(first_seq: int) -> list[dict]:
    """The perfect subtrees covering seq ``0..first_seq-1`` (RFC 6962 split order), as
    ``{"level", "index", "hash"}``: enough, with the range's events, to rebuild the root."""
    parts = verify_core.decompose(0, first_seq)
    stored = {(lv, ix) for lv, ix in parts if lv >= STORED_MIN_LEVEL}
    nodes = {}
    for lv, ix in stored:
        row = LedgerNode.objects.filter(level=lv, index=ix).values_list("hash", flat=True).first()
        if row is None:
            raise LedgerRangeError(f"stored subtree L{lv}#{ix} is missing")
        nodes[(lv, ix)] = bytes(row)
    out = []
    for lv, ix in parts:
        if (lv, ix) in nodes:
            digest = nodes[(lv, ix)]
        else:
            start, stop = ix << lv, (ix + 1) << lv
            leaves = [
                bytes(h)
                for h in LedgerEntry.objects.filter(seq__gte=start, seq__lt=stop)
                .order_by("seq")
                .values_list("leaf_hash", flat=True)
            ]
            if len(leaves) != stop - start:
                raise LedgerRangeError(f"leaf hashes under L{lv}#{ix} are missing")
            digest = verify_core.root_from_leaves(leaves)
        out.append({"level": lv, "index": ix, "hash": verify_core.b64(digest)})
    return out


def iter_entries(rng: LedgerRange, *, chunk: int = 20_000) -> Iterator[tuple[int, bytes, bytes]]:
    """(seq, body, leaf hash) of every entry in the range, in order, read in keyset pages."""
    seq = rng.first_seq
    while seq < rng.end_seq:
        stop = min(seq + chunk, rng.end_seq)
        rows = LedgerEntry.objects.filter(seq__gte=seq, seq__lt=stop).order_by("seq").values_list("seq", "body", "leaf_hash")
        for row_seq, body, leaf in rows:
            yield row_seq, bytes(body), bytes(leaf)
        seq = stop


def _open(note: str) -> verify_core.Checkpoint:
    try:
        checkpoint, _ = verify_core.open_checkpoint(note, trusted_verifiers(), origin=settings.CUSTOS_LEDGER_ORIGIN)
    except verify_core.NoteError as exc:
        raise LedgerRangeError(f"a stored checkpoint does not verify with the trusted keys: {exc}") from exc
    return checkpoint


def _consistent(small: int, small_root: bytes, large: int, large_root: bytes) -> bool:
    if small == 0:
        return True
    proof = audit_selectors.ledger_consistency_proof(small, large).path if small != large else []
    return verify_core.verify_consistency(small, large, proof, small_root, large_root)


def checkpoint_at(size: int) -> str:
    """A signed checkpoint note for the tree of ``size`` leaves: the stored one if there is one,
    else a new note signed with the ledger key (not stored: it is the bundle's), after checking
    the root against the latest stored checkpoint."""
    stored = Checkpoint.objects.filter(tree_size=size).first()
    if stored is not None:
        _open(stored.note)
        return stored.note
    root = audit_selectors.ledger_root(size)
    latest = audit_selectors.checkpoint_latest()
    if latest is not None:
        previous = _open(latest.note)
        if previous.size <= size:
            ok = _consistent(previous.size, previous.root, size, root)
        else:
            ok = _consistent(size, root, previous.size, previous.root)
        if not ok:
            raise LedgerRangeError(f"the log is not consistent with its checkpoint at size {previous.size}; refusing to sign")
    signer = load_signer()
    return verify_core.sign_note(
        verify_core.Checkpoint(origin=settings.CUSTOS_LEDGER_ORIGIN, size=size, root=root).text(), signer
    )


def consistency_with(previous_note: str | None, note: str) -> dict:
    """``ledger/consistency.json``: the previous export's checkpoint and an RFC 9162 proof between
    its tree and this one (smaller size first), or ``previous: null``."""
    if not previous_note:
        return {"previous": None, "proof": [], "note": "no earlier evidence export: nothing to be consistent with"}
    previous = _open(previous_note)
    current = _open(note)
    small, large = sorted((previous.size, current.size))
    proof = audit_selectors.ledger_consistency_proof(small, large).path if 0 < small < large else []
    verifier = _signer_of(previous_note)
    return {
        "previous": {
            "tree_size": previous.size,
            "root": verify_core.b64(previous.root),
            "checkpoint": previous_note,
            "verifier_key": verifier,
        },
        "proof": [verify_core.b64(p) for p in proof],
        "first_size": small,
        "second_size": large,
    }


def _signer_of(note: str) -> str:
    _, verifier = verify_core.open_note(note, trusted_verifiers())
    return verifier.vkey
