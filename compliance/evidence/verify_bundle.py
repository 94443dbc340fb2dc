#!/usr/bin/env python3
"""verify.py -- offline verifier of a Custos evidence bundle (format ``custos-evidence/1``).

Usage::

    python verify.py BUNDLE.zip [--key VERIFIER_KEY]

Needs only the Python standard library and the ``cryptography`` package. ``VERIFIER_KEY`` is the
Custos ledger's public key in C2SP vkey form (``<name>+<hex id>+<base64>``, as served at
``/api/v1/audit/public-key``) or a file holding it. Without ``--key`` the key named inside the
bundle is used, which proves the bundle is internally consistent but not *who* signed it: pin the
key you obtained from the organisation separately.

Checks, in order (docs/evidence.md specifies each one):

1. the zip holds ``manifest.json``, ``manifest.sig`` and exactly the files the manifest lists
   (no file missing, none extra, no duplicate names);
2. ``manifest.sig`` is a valid Ed25519 signature over the exact bytes of ``manifest.json`` by the
   trusted key, and names the same key as the manifest;
3. every listed file has the SHA-256 digest and size the manifest gives;
4. the ledger events ``ledger/events.jsonl`` are the contiguous sequence range the manifest names,
   each leaf hash is ``SHA-256(0x00 || body)``, and together with the prefix subtrees
   (``ledger/prefix.json``) they rebuild the root of the signed checkpoint
   (``ledger/checkpoint.txt``, a C2SP signed note by the trusted key) exactly as RFC 6962 says;
5. the consistency proof (``ledger/consistency.json``) links that checkpoint to the checkpoint of
   the previous export, when there was one (RFC 9162 section 2.1.4.2);
6. every evidence record that cites a ledger event (``"ledger": {"seq": n, "leaf_hash": ...}``)
   cites one inside the range, with that event's leaf hash.

Exit status 0 and a one-line summary when the bundle is intact; 1 and one line per problem when
it is not; 2 for a usage error. The middle of this file is ``audit/verify_core.py`` of Custos,
verbatim (the RFC 6962 hashing, proofs, C2SP keys and signed notes).
"""

# ruff: noqa: E402, I001 -- the verification core stands where its import block is in the repository
from __future__ import annotations

# ---- BEGIN core import (compliance/evidence/verifier.py puts audit/verify_core.py here) ----
from audit.verify_core import (
    EMPTY_ROOT,
    HASH_SIZE,
    LEAF_PREFIX,
    Checkpoint,
    NoteError,
    Verifier,
    b64,
    decompose,
    fold_right,
    node_hash,
    open_checkpoint,
    parse_vkey,
    unb64,
    verify_consistency,
)
# ---- END core import ----

import argparse
import binascii
import hashlib
import json
import re
import sys
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

BUNDLE_FORMAT = "custos-evidence/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
EVENTS = "ledger/events.jsonl"
PREFIX = "ledger/prefix.json"
CHECKPOINT = "ledger/checkpoint.txt"
CONSISTENCY = "ledger/consistency.json"
EVIDENCE_DIR = "evidence/"
READ_BLOCK = 1 << 20


class BundleProblems:
    """Collects problems; verification goes on after one so that every problem is named."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, message: str) -> None:
        self.items.append(message)

    def __bool__(self) -> bool:
        return bool(self.items)


def _read(archive: zipfile.ZipFile, name: str, problems: BundleProblems) -> bytes | None:
    try:
        return archive.read(name)
    except KeyError:
        problems.add(f"{name}: missing from the bundle")
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        problems.add(f"{name}: cannot be read, the zip member is damaged ({exc})")
    return None


def _digest(archive: zipfile.ZipFile, name: str) -> tuple[str, int]:
    sha, size = hashlib.sha256(), 0
    with archive.open(name) as handle:
        while block := handle.read(READ_BLOCK):
            sha.update(block)
            size += len(block)
    return sha.hexdigest(), size


def _check_digest(archive: zipfile.ZipFile, name: str, entry: dict, problems: BundleProblems, digests: dict) -> None:
    if name not in digests:
        try:
            digests[name] = _digest(archive, name)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            problems.add(f"{name}: cannot be read, the zip member is damaged ({exc})")
            return
    digest, size = digests[name]
    if digest != entry.get("sha256") or size != entry.get("size"):
        problems.add(f"{name}: SHA-256 {digest[:16]}... / {size} bytes does not match the manifest (the file was altered)")


def _load_key(text: str) -> Verifier:
    path = Path(text)
    if len(text) < 4096 and path.is_file():
        text = path.read_text(encoding="ascii")
    return parse_vkey(text.strip())


def _check_signature(manifest_bytes: bytes, sig_bytes: bytes, manifest: dict, pinned: Verifier | None, problems: BundleProblems):
    """Return the verifier the bundle is trusted under (pinned, or the bundle's own key)."""
    try:
        sig = json.loads(sig_bytes)
        named = parse_vkey(sig["verifier_key"])
        signature = unb64(sig["signature"])
    except (ValueError, KeyError, TypeError, NoteError) as exc:
        problems.add(f"{SIGNATURE}: malformed ({type(exc).__name__}); expected JSON with verifier_key and signature")
        return pinned
    if manifest.get("signing_key") != named.vkey:
        problems.add(f"{SIGNATURE}: names key {named.name}+{named.key_id.hex()} but {MANIFEST} says it is signed by another key")
    trusted = pinned or named
    if pinned is not None and (named.key_id, named.public_key) != (pinned.key_id, pinned.public_key):
        problems.add(
            f"{SIGNATURE}: the manifest is signed by key {named.name}+{named.key_id.hex()}, "
            f"not by the trusted key {pinned.name}+{pinned.key_id.hex()}"
        )
    if not trusted.verify(manifest_bytes, signature):
        problems.add(
            f"{SIGNATURE}: the Ed25519 signature does not verify over {MANIFEST} with key {trusted.name}+{trusted.key_id.hex()}"
        )
    return trusted


_EVENT_LINE = re.compile(
    rb'\{"seq": (0|[1-9][0-9]*), "body": "([A-Za-z0-9+/]*={0,2})", "leaf_hash": "([A-Za-z0-9+/]*={0,2})"\}\n?\Z'
)


def _lines(handle, sha) -> Iterator[bytes]:
    """The lines of a zip member (each with its newline), read in large blocks; every block also
    feeds ``sha`` so the member's digest needs no second pass."""
    rest = b""
    while block := handle.read(READ_BLOCK):
        sha.update(block)
        lines = (rest + block).split(b"\n")
        rest = lines.pop()
        for line in lines:
            yield line + b"\n"
    if rest:
        yield rest


def _body_has_action(body: bytes, actions: set[str]) -> bool:
    """Whether the event body's top-level ``action`` is one of ``actions``. A canonical body
    (RFC 8785: sorted keys, no spaces) starts with its ``action`` member, so a prefix test decides
    most cases; anything else is parsed."""
    for action in actions:
        if body.startswith(b'{"action":' + json.dumps(action).encode() + b","):
            return True
    try:
        action = json.loads(body).get("action")
    except (ValueError, AttributeError):
        return False
    return action in actions


def _citations(data: bytes, found: list[dict]) -> None:
    """Every object with ``"ledger": {"seq": ...}`` in one JSON document (collected while parsing)."""

    def hook(obj: dict) -> dict:
        cited = obj.get("ledger")
        if type(cited) is dict and "seq" in cited:
            action = obj.get("action")
            found.append({**cited, "action": action} if isinstance(action, str) else cited)
        return obj

    json.loads(data, object_hook=hook)


def _check_ledger(
    archive: zipfile.ZipFile, manifest: dict, trusted: Verifier | None, problems: BundleProblems, cited: dict, digests: dict
):
    """Rebuild the checkpoint root from the prefix subtrees and the events. Returns (events, root).
    The events file is read once: its SHA-256 and size go to ``digests`` for the manifest check."""
    ledger = manifest.get("ledger")
    if not isinstance(ledger, dict):
        problems.add(f"{MANIFEST}: has no ledger section")
        return 0, None
    first, end = ledger.get("first_seq"), ledger.get("end_seq")
    if not (isinstance(first, int) and isinstance(end, int) and 0 <= first <= end):
        problems.add(f"{MANIFEST}: ledger range is malformed")
        return 0, None
    checkpoint = None
    note = _read(archive, CHECKPOINT, problems)
    if note is not None and trusted is not None:
        try:
            checkpoint, _ = open_checkpoint(note.decode("utf-8"), [trusted], origin=ledger.get("origin"))
        except (NoteError, UnicodeDecodeError) as exc:
            problems.add(f"{CHECKPOINT}: the checkpoint does not verify with key {trusted.name}+{trusted.key_id.hex()}: {exc}")
    if checkpoint is not None and checkpoint.size != end:
        problems.add(f"{CHECKPOINT}: signs a tree of {checkpoint.size} entries but the range ends at {end}")

    stack: list[tuple[int, bytes]] = []
    raw_prefix = _read(archive, PREFIX, problems)
    if raw_prefix is not None:
        try:
            prefix = json.loads(raw_prefix)
            expected = decompose(0, first)
            got = [(item["level"], item["index"]) for item in prefix["subtrees"]]
            if prefix.get("size") != first or got != expected:
                problems.add(f"{PREFIX}: does not hold exactly the subtrees covering seq 0..{first - 1}")
            else:
                stack = [(item["level"], unb64(item["hash"])) for item in prefix["subtrees"]]
                if any(len(h) != HASH_SIZE for _, h in stack):
                    problems.add(f"{PREFIX}: a subtree hash is not 32 bytes")
        except (ValueError, KeyError, TypeError) as exc:
            problems.add(f"{PREFIX}: malformed ({type(exc).__name__})")

    expected_seq, count = first, 0
    sha, size = hashlib.sha256(), 0
    sha256, leaf_prefix, a2b = hashlib.sha256, LEAF_PREFIX, binascii.a2b_base64
    try:
        with archive.open(EVENTS) as handle:
            for line_no, line in enumerate(_lines(handle, sha), start=1):
                size += len(line)
                # Fast path for the exact line shape Custos writes; any other valid JSON line is
                # parsed by json (same values: the fast path only accepts unescaped base64 strings).
                match = _EVENT_LINE.match(line)
                try:
                    if match is not None:
                        seq, body, leaf = int(match[1]), a2b(match[2]), a2b(match[3])
                    else:
                        event = json.loads(line)
                        seq, body, leaf = event["seq"], unb64(event["body"]), unb64(event["leaf_hash"])
                except (ValueError, KeyError, TypeError):
                    problems.add(f"{EVENTS}: line {line_no} is not a ledger entry (seq, body, leaf_hash)")
                    expected_seq = None
                    continue
                if expected_seq is not None and seq != expected_seq:
                    if isinstance(seq, int) and seq > expected_seq:
                        missing = f"seq {expected_seq}" if seq == expected_seq + 1 else f"seq {expected_seq}..{seq - 1}"
                        problems.add(f"{EVENTS}: {missing} missing (line {line_no} holds seq {seq}): the range is not contiguous")
                    else:
                        problems.add(
                            f"{EVENTS}: line {line_no} holds seq {seq}, expected {expected_seq} (out of order or repeated)"
                        )
                expected_seq = seq + 1 if isinstance(seq, int) else None
                computed = sha256(leaf_prefix + body).digest()
                if computed != leaf:
                    problems.add(f"{EVENTS}: seq {seq}: leaf_hash is not SHA-256(0x00 || body) (the event was altered)")
                if seq in cited:
                    expected_leaf, actions = cited.pop(seq)
                    if expected_leaf != b64(computed):
                        problems.add(f"evidence cites seq {seq} with a leaf hash that is not that event's")
                    elif actions and not _body_has_action(body, actions):
                        problems.add(
                            f"evidence cites seq {seq} as {sorted(actions)[0]!r}, but that ledger event is another action"
                        )
                level, node = 0, computed
                while stack and stack[-1][0] == level:
                    node = node_hash(stack.pop()[1], node)
                    level += 1
                stack.append((level, node))
                count += 1
    except KeyError:
        problems.add(f"{EVENTS}: missing from the bundle")
        return 0, None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        problems.add(f"{EVENTS}: cannot be read, the zip member is damaged ({exc})")
        return count, None
    digests[EVENTS] = (sha.hexdigest(), size)
    if count != end - first:
        problems.add(f"{EVENTS}: holds {count} events, the range seq {first}..{end - 1} has {end - first}")
    root = fold_right([h for _, h in stack]) if count or first else EMPTY_ROOT
    if checkpoint is not None and root != checkpoint.root:
        problems.add(
            f"ledger: the events rebuild root {b64(root)} at tree size {first + count}, "
            f"not the signed checkpoint's root {b64(checkpoint.root)} (an event was changed, dropped or added)"
        )
    if checkpoint is not None:
        _check_consistency(archive, checkpoint, trusted, problems)
    return count, root


def _check_consistency(archive: zipfile.ZipFile, checkpoint: Checkpoint, trusted: Verifier, problems: BundleProblems) -> None:
    raw = _read(archive, CONSISTENCY, problems)
    if raw is None:
        return
    try:
        data = json.loads(raw)
        previous = data.get("previous")
        if previous is None:
            return
        keys = [trusted]
        if previous.get("verifier_key"):
            keys.append(parse_vkey(previous["verifier_key"]))
        old, _ = open_checkpoint(previous["checkpoint"], keys, origin=checkpoint.origin)
        proof = [unb64(p) for p in data["proof"]]
    except (ValueError, KeyError, TypeError, AttributeError, NoteError) as exc:
        problems.add(f"{CONSISTENCY}: the previous export's checkpoint or proof does not verify ({exc})")
        return
    if old.size <= checkpoint.size:
        ok = old.size == 0 or verify_consistency(old.size, checkpoint.size, proof, old.root, checkpoint.root)
    else:
        ok = checkpoint.size == 0 or verify_consistency(checkpoint.size, old.size, proof, checkpoint.root, old.root)
    if not ok:
        problems.add(
            f"{CONSISTENCY}: the checkpoint at size {checkpoint.size} is not consistent with the previous export's "
            f"checkpoint at size {old.size} (the log was rewritten between exports)"
        )


def verify_bundle(path: str | Path, key: str | None = None) -> tuple[list[str], str]:
    """Verify one bundle. Returns (problems, summary); no problems means intact."""
    problems = BundleProblems()
    try:
        pinned = _load_key(key) if key else None
    except (NoteError, OSError, UnicodeDecodeError) as exc:
        return [f"--key: not a C2SP verifier key ({exc})"], ""
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        return [f"{path}: not a readable zip file ({exc})"], ""
    with archive:
        names = archive.namelist()
        seen: set[str] = set()
        for name in names:
            if name in seen:
                problems.add(f"{name}: appears twice in the zip")
            seen.add(name)
        manifest_bytes = _read(archive, MANIFEST, problems)
        sig_bytes = _read(archive, SIGNATURE, problems)
        if manifest_bytes is None:
            return problems.items, ""
        try:
            manifest = json.loads(manifest_bytes)
            files = {entry["path"]: entry for entry in manifest["files"]}
        except (ValueError, KeyError, TypeError) as exc:
            problems.add(f"{MANIFEST}: malformed ({type(exc).__name__}); the manifest was altered")
            return problems.items, ""
        if manifest.get("format") != BUNDLE_FORMAT:
            problems.add(f"{MANIFEST}: format is {manifest.get('format')!r}, this verifier reads {BUNDLE_FORMAT!r}")
        trusted = pinned
        if sig_bytes is not None:
            trusted = _check_signature(manifest_bytes, sig_bytes, manifest, pinned, problems)
        for name in sorted(seen - set(files) - {MANIFEST, SIGNATURE}):
            problems.add(f"{name}: extra file, not listed in the manifest")
        digests: dict[str, tuple[str, int]] = {}
        for name in sorted(files):
            if name not in seen:
                problems.add(f"{name}: missing from the bundle (the manifest lists it)")
            elif name != EVENTS:  # hashed while the ledger check reads it (one pass over the largest file)
                _check_digest(archive, name, files[name], problems, digests)
        citations: list[dict] = []
        for name in sorted(n for n in files if n.startswith(EVIDENCE_DIR) and n.endswith(".json") and n in seen):
            try:
                _citations(archive.read(name), citations)
            except (ValueError, zipfile.BadZipFile, zlib.error, EOFError, OSError):
                problems.add(f"{name}: not valid JSON")
        ledger = manifest.get("ledger") if isinstance(manifest.get("ledger"), dict) else {}
        first, end = ledger.get("first_seq", 0), ledger.get("end_seq", 0)
        cited: dict[int, tuple[str, set[str]]] = {}
        for citation in citations:
            seq = citation.get("seq")
            if not isinstance(seq, int) or not (isinstance(first, int) and isinstance(end, int) and first <= seq < end):
                problems.add(
                    f"evidence cites ledger seq {seq}, outside the exported range {first}..{end - 1 if isinstance(end, int) else end}"
                )
                continue
            leaf = citation.get("leaf_hash")  # compared as text with the base64 of the computed leaf hash
            if not isinstance(leaf, str):
                problems.add(f"evidence cites ledger seq {seq} with a malformed leaf hash")
                continue
            entry = cited.setdefault(seq, (leaf, set()))
            if entry[0] != leaf:
                problems.add(f"evidence cites ledger seq {seq} with two different leaf hashes")
            if isinstance(citation.get("action"), str):
                entry[1].add(citation["action"])
        count, root = _check_ledger(archive, manifest, trusted, problems, cited, digests)
        if EVENTS in files and EVENTS in seen:
            _check_digest(archive, EVENTS, files[EVENTS], problems, digests)
        for seq in sorted(cited):
            problems.add(f"evidence cites ledger seq {seq}, which is not in {EVENTS}")
    if problems:
        return problems.items, ""
    key_note = "pinned key" if pinned is not None else "key named in the bundle (pass --key to pin the Custos public key)"
    summary = (
        f"OK {Path(path).name}: {len(files)} files match the signed manifest; ledger seq {first}..{end - 1} "
        f"({count} events) rebuild checkpoint root {b64(root) if root else '-'} at tree size {end}; "
        f"{len(citations)} evidence citations in range; signed by {trusted.name}+{trusted.key_id.hex()} ({key_note})"
    )
    return [], summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="verify.py", description="Verify a Custos evidence bundle offline.")
    parser.add_argument("bundle", help="the evidence bundle (.zip)")
    parser.add_argument("--key", help="the Custos ledger verifier key (C2SP vkey) or a file holding it")
    args = parser.parse_args(argv)
    problems, summary = verify_bundle(args.bundle, args.key)
    if problems:
        print(f"FAILED {Path(args.bundle).name}: {len(problems)} problem(s)")
        for problem in problems:
            print(f"- {problem}")
        return 1
    print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
