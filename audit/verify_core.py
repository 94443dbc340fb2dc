"""Custos ledger verification core: RFC 6962/9162 Merkle hashing and proofs, C2SP checkpoints,
signed notes and verifier keys.

Standalone on purpose: Python standard library plus ``cryptography`` only, no Django, no other
Custos module, so the evidence bundle's offline ``verify.py`` can embed this file verbatim and an
auditor can read all of the logic an auditor needs in one place. ``docs/ledger.md`` specifies the
same formats in prose with worked examples.

Contracts:

* leaf hash ``SHA-256(0x00 || body)``, node hash ``SHA-256(0x01 || left || right)``, the empty
  tree's root is ``SHA-256("")``; a tree of ``n`` leaves splits at the largest power of two < n.
* Proof verifiers never raise on bad input: they return ``False`` (bad base64, wrong lengths,
  sizes out of range, a proof that is too long or too short all count as "not verified").
* Proof generators take a ``subtree(level, index)`` callable returning the hash of the perfect,
  aligned subtree covering leaves ``[index * 2**level, (index + 1) * 2**level)``; the caller
  decides where those hashes come from (memory, a database of stored subtrees, ...).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

_sha256 = hashlib.sha256
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
HASH_SIZE = 32
EMPTY_ROOT = _sha256(b"").digest()

Subtree = Callable[[int, int], bytes]


# --- hashing ----------------------------------------------------------------------------------


def leaf_hash(body: bytes) -> bytes:
    """RFC 6962 leaf hash of one entry's exact bytes."""
    return _sha256(LEAF_PREFIX + body).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 6962 interior node hash."""
    return _sha256(NODE_PREFIX + left + right).digest()


def leaf_hashes(bodies: Iterable[bytes]) -> list[bytes]:
    """Leaf hashes of many bodies (a tight loop: this is the verifier's hot path)."""
    sha, prefix = _sha256, LEAF_PREFIX
    return [sha(prefix + body).digest() for body in bodies]


def perfect_levels(leaves: Sequence[bytes]) -> list[list[bytes]]:
    """Every *complete* subtree over ``leaves``, level by level: ``levels[l][i]`` is the hash of
    leaves ``[i * 2**l, (i + 1) * 2**l)``. A trailing odd node is not carried up (it is not a
    complete subtree), so ``levels[l]`` has ``len(leaves) >> l`` entries."""
    sha, prefix = _sha256, NODE_PREFIX
    levels = [list(leaves)]
    current = levels[0]
    while len(current) >= 2:
        current = [sha(prefix + a + b).digest() for a, b in zip(current[0::2], current[1::2], strict=False)]
        levels.append(current)
    return levels


def fold_right(hashes: Sequence[bytes]) -> bytes:
    """Root of adjacent perfect subtrees given left to right in strictly decreasing sizes (a
    "compact range" starting at leaf 0): ``H(h0, H(h1, H(h2, ...)))``. Empty -> the empty root."""
    if not hashes:
        return EMPTY_ROOT
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


def root_from_leaves(leaves: Sequence[bytes]) -> bytes:
    """Merkle tree hash of a list of leaf hashes (RFC 6962 MTH), computed level by level."""
    if not leaves:
        return EMPTY_ROOT
    sha, prefix = _sha256, NODE_PREFIX
    current = list(leaves)
    while len(current) > 1:
        nxt = [sha(prefix + a + b).digest() for a, b in zip(current[0::2], current[1::2], strict=False)]
        if len(current) % 2:
            nxt.append(current[-1])  # an odd last node moves up unchanged: the RFC's split rule
        current = nxt
    return current[0]


def largest_power_of_two_below(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def decompose(start: int, end: int) -> list[tuple[int, int]]:
    """The perfect aligned subtrees ``(level, index)`` that make up leaves ``[start, end)`` as the
    RFC's recursion sees them (left to right, decreasing sizes). ``start`` must be aligned to the
    largest piece, which holds for every range the RFC algorithms produce."""
    parts = []
    while start < end:
        level = (end - start).bit_length() - 1
        while start % (1 << level):
            level -= 1
        parts.append((level, start >> level))
        start += 1 << level
    return parts


def range_hash(start: int, end: int, subtree: Subtree) -> bytes:
    """MTH of leaves ``[start, end)`` from perfect subtree hashes."""
    return fold_right([subtree(level, index) for level, index in decompose(start, end)])


def memory_subtree(leaves: Sequence[bytes]) -> Subtree:
    """A ``subtree`` provider over an in-memory list of leaf hashes (tests, small tools)."""
    levels = perfect_levels(leaves)

    def subtree(level: int, index: int) -> bytes:
        return levels[level][index]

    return subtree


# --- proof generation (RFC 9162 section 2.1.3.1 and 2.1.4.1) ------------------------------------


def inclusion_proof(index: int, size: int, subtree: Subtree) -> list[bytes]:
    """PATH(index, D[0:size]): the audit path, leaf side first."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is outside a tree of size {size}")
    path: list[bytes] = []

    def walk(m: int, start: int, end: int) -> None:
        n = end - start
        if n == 1:
            return
        k = largest_power_of_two_below(n)
        if m < k:
            walk(m, start, start + k)
            path.append(range_hash(start + k, end, subtree))
        else:
            walk(m - k, start + k, end)
            path.append(range_hash(start, start + k, subtree))

    walk(index, 0, size)
    return path


def consistency_proof(first: int, second: int, subtree: Subtree) -> list[bytes]:
    """PROOF(first, D[0:second]); empty when ``first == second``. Needs ``0 < first <= second``."""
    if not 0 < first <= second:
        raise ValueError(f"no consistency proof from size {first} to size {second}")
    path: list[bytes] = []

    def sub(m: int, start: int, end: int, complete: bool) -> None:
        n = end - start
        if m == n:
            if not complete:
                path.append(range_hash(start, end, subtree))
            return
        k = largest_power_of_two_below(n)
        if m <= k:
            sub(m, start, start + k, complete)
            path.append(range_hash(start + k, end, subtree))
        else:
            sub(m - k, start + k, end, False)
            path.append(range_hash(start, start + k, subtree))

    sub(first, 0, second, True)
    return path


# --- proof verification (RFC 9162 section 2.1.3.2 and 2.1.4.2) ---------------------------------


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> bool:
    """True iff ``proof`` shows leaf hash ``leaf`` at ``index`` in the tree of ``size`` with ``root``."""
    if not (isinstance(index, int) and isinstance(size, int)) or not 0 <= index < size:
        return False
    if len(leaf) != HASH_SIZE or len(root) != HASH_SIZE or any(len(p) != HASH_SIZE for p in proof):
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(first: int, second: int, proof: Sequence[bytes], first_root: bytes, second_root: bytes) -> bool:
    """True iff ``proof`` shows the tree of size ``second`` with ``second_root`` extends the tree of
    size ``first`` with ``first_root``. A proof from the empty tree proves nothing and is refused;
    equal non-zero sizes need an empty proof and equal roots."""
    if not (isinstance(first, int) and isinstance(second, int)) or first < 1 or second < first:
        return False
    if first == second:
        return not proof and first_root == second_root
    if not proof or any(len(p) != HASH_SIZE for p in proof):
        return False
    if len(first_root) != HASH_SIZE or len(second_root) != HASH_SIZE:
        return False
    path = list(proof)
    if first & (first - 1) == 0:  # an exact power of two: the old root is itself a node of the path
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0


# --- keys: C2SP signed-note key formats -----------------------------------------------------------

ALG_ED25519 = 0x01
_KEY_NAME = re.compile(r"^[^\s+]+$")


class NoteError(ValueError):
    """A malformed key, note or checkpoint."""


def key_id(name: str, public_key: bytes) -> bytes:
    """The 4-byte key id: ``SHA-256(name || 0x0A || 0x01 || public key)[:4]``."""
    return _sha256(name.encode() + b"\n" + bytes([ALG_ED25519]) + public_key).digest()[:4]


def _check_name(name: str) -> None:
    if not name or not _KEY_NAME.match(name):
        raise NoteError("a key name must be non-empty and hold no whitespace or '+'")


@dataclass(frozen=True)
class Verifier:
    """An Ed25519 note verifier key: name, 4-byte id, 32-byte raw public key."""

    name: str
    key_id: bytes
    public_key: bytes

    @property
    def vkey(self) -> str:
        """C2SP vkey: ``<name>+<hex id>+<base64(0x01 || public key)>``."""
        return f"{self.name}+{self.key_id.hex()}+{base64.b64encode(bytes([ALG_ED25519]) + self.public_key).decode()}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True


@dataclass(frozen=True)
class Signer:
    """An Ed25519 note signer: name plus the 32-byte private seed."""

    name: str
    seed: bytes

    @classmethod
    def generate(cls, name: str) -> Signer:
        _check_name(name)
        from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

        raw = Ed25519PrivateKey.generate().private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        return cls(name=name, seed=raw)

    @property
    def _private(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self.seed)

    @property
    def verifier(self) -> Verifier:
        public = self._private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return Verifier(name=self.name, key_id=key_id(self.name, public), public_key=public)

    @property
    def skey(self) -> str:
        """C2SP/Go note private key: ``PRIVATE+KEY+<name>+<hex id>+<base64(0x01 || seed)>``."""
        v = self.verifier
        return f"PRIVATE+KEY+{self.name}+{v.key_id.hex()}+{base64.b64encode(bytes([ALG_ED25519]) + self.seed).decode()}"

    def sign(self, message: bytes) -> bytes:
        return self._private.sign(message)


def _parse_key_fields(name: str, hex_id: str, b64: str, *, size: int) -> tuple[bytes, bytes]:
    _check_name(name)
    try:
        kid = bytes.fromhex(hex_id)
        raw = base64.b64decode(b64, validate=True)
    except (ValueError, binascii.Error) as exc:
        raise NoteError("key is not valid hex/base64") from exc
    if len(kid) != 4 or len(raw) != 1 + size or raw[0] != ALG_ED25519:
        raise NoteError("key is not an Ed25519 note key")
    return kid, raw[1:]


def parse_vkey(text: str) -> Verifier:
    """Parse a C2SP vkey and check its key id."""
    parts = text.strip().split("+", 2)  # base64 may itself hold "+"
    if len(parts) != 3:
        raise NoteError("a vkey has the form <name>+<hex id>+<base64 key>")
    kid, public = _parse_key_fields(*parts, size=32)
    if key_id(parts[0], public) != kid:
        raise NoteError("vkey id does not match its name and key")
    return Verifier(name=parts[0], key_id=kid, public_key=public)


def parse_skey(text: str) -> Signer:
    """Parse a ``PRIVATE+KEY+...`` signer key and check its id against the derived public key."""
    parts = text.strip().split("+", 4)
    if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
        raise NoteError("a signer key has the form PRIVATE+KEY+<name>+<hex id>+<base64 key>")
    kid, seed = _parse_key_fields(*parts[2:], size=32)
    signer = Signer(name=parts[2], seed=seed)
    if signer.verifier.key_id != kid:
        raise NoteError("signer key id does not match its key")
    return signer


# --- signed notes and checkpoints ----------------------------------------------------------------

SIGNATURE_PREFIX = "\u2014 "  # an em dash and a space start every signature line


@dataclass(frozen=True)
class NoteSignature:
    name: str
    key_id: bytes
    signature: bytes


def sign_note(text: str, signer: Signer) -> str:
    """A C2SP signed note: ``text`` (ending in a newline), a blank line, one signature line."""
    if not text.endswith("\n") or "\n\n" in text:
        raise NoteError("note text must end with a newline and hold no blank line")
    sig = signer.sign(text.encode())
    blob = base64.b64encode(signer.verifier.key_id + sig).decode()
    return f"{text}\n{SIGNATURE_PREFIX}{signer.name} {blob}\n"


def parse_note(note: str) -> tuple[str, list[NoteSignature]]:
    """Split a signed note into its text and signature lines (signatures are not checked here)."""
    if not note.endswith("\n"):
        raise NoteError("a signed note ends with a newline")
    cut = note.rfind("\n\n")
    if cut < 0:
        raise NoteError("a signed note has a blank line between text and signatures")
    text, sig_block = note[: cut + 1], note[cut + 2 :]
    signatures = []
    for line in sig_block[:-1].split("\n"):
        if not line.startswith(SIGNATURE_PREFIX):
            raise NoteError("malformed signature line")
        try:
            name, blob = line[len(SIGNATURE_PREFIX) :].split(" ")
            raw = base64.b64decode(blob, validate=True)
        except (ValueError, binascii.Error) as exc:
            raise NoteError("malformed signature line") from exc
        if len(raw) < 5:
            raise NoteError("signature too short")
        signatures.append(NoteSignature(name=name, key_id=raw[:4], signature=raw[4:]))
    if not signatures:
        raise NoteError("a signed note has at least one signature")
    return text, signatures


def open_note(note: str, verifiers: Iterable[Verifier]) -> tuple[str, Verifier]:
    """Return the note's text and the trusted verifier whose signature on it is valid.

    Raises NoteError when no signature by any of ``verifiers`` verifies (an unknown key, a forged
    or damaged signature, a modified text all end here).
    """
    text, signatures = parse_note(note)
    known = {(v.name, v.key_id): v for v in verifiers}
    for sig in signatures:
        verifier = known.get((sig.name, sig.key_id))
        if verifier is not None and verifier.verify(text.encode(), sig.signature):
            return text, verifier
    names = ", ".join(f"{s.name}+{s.key_id.hex()}" for s in signatures)
    raise NoteError(f"no valid signature by a trusted key (note signed by {names})")


@dataclass(frozen=True)
class Checkpoint:
    """A C2SP tlog-checkpoint: origin, tree size and root hash (extension lines are kept)."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def text(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode(), *self.extensions]
        return "\n".join(lines) + "\n"


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse a checkpoint body (the text of a signed note)."""
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise NoteError("a checkpoint has an origin, a size and a root hash line, each ending in a newline")
    origin, size_line, root_line, *extensions = lines[:-1]
    if not origin or not re.fullmatch(r"0|[1-9][0-9]*", size_line):
        raise NoteError("malformed checkpoint origin or size")
    try:
        root = base64.b64decode(root_line, validate=True)
    except binascii.Error as exc:
        raise NoteError("checkpoint root is not base64") from exc
    if len(root) != HASH_SIZE:
        raise NoteError("checkpoint root is not a SHA-256 hash")
    return Checkpoint(origin=origin, size=int(size_line), root=root, extensions=tuple(extensions))


def open_checkpoint(note: str, verifiers: Iterable[Verifier], origin: str | None = None) -> tuple[Checkpoint, Verifier]:
    """Verify a signed checkpoint note and parse it; ``origin`` (if given) must match."""
    text, verifier = open_note(note, verifiers)
    checkpoint = parse_checkpoint(text)
    if origin is not None and checkpoint.origin != origin:
        raise NoteError(f"checkpoint origin {checkpoint.origin!r} is not {origin!r}")
    return checkpoint, verifier


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)
