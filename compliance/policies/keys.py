"""Managed keys for tokens and encryption, kept outside the database.

A key ring is a directory (``settings.CUSTOS_POLICY_KEY_DIR``; under ``var/`` in demo, development
and test) holding one file per key id (``<kid>.key``, 64 random bytes, base64, mode 0600) and an
``ACTIVE`` file naming the key new tokens are made with. Rotation adds a key and makes it active;
old keys stay so earlier ciphertexts can still be decrypted by authorised users. Per-purpose
subkeys are derived with HKDF-SHA256, so one master never serves two algorithms.

Output formats (contracts):

* HMAC token: ``tok_<kid>_<hex>``; deterministic per key, so equal inputs join.
* AES-SIV (deterministic, RFC 5297): ``siv:<kid>:<base64url>``.
* AES-GCM (randomised, 96-bit nonce prepended): ``gcm:<kid>:<base64url(nonce || ciphertext)>``.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, AESSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.utils import timezone

KID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{2,40}$")
CIPHER_RE = re.compile(r"^(siv|gcm):([a-z0-9-]{3,41}):([A-Za-z0-9_-]+)$")


class KeyError_(Exception):
    """A key ring problem: missing directory, unknown key id, bad ciphertext."""


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class ManagedKey:
    kid: str
    master: bytes

    @functools.cached_property
    def _subkeys(self) -> dict[str, bytes]:
        def derive(info: bytes, length: int) -> bytes:
            return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=b"custos/" + info).derive(self.master)

        return {
            "hmac": derive(b"hmac", 32),
            "siv": derive(b"aes-siv", 64),
            "gcm": derive(b"aes-gcm", 32),
            "shift": derive(b"shift", 32),
        }

    def subkey(self, purpose: str) -> bytes:
        return self._subkeys[purpose]

    def mac(self, purpose: str, data: bytes) -> bytes:
        return hmac.new(self.subkey(purpose), data, hashlib.sha256).digest()


class KeyRing:
    """The keys in one directory. Reads are cached per (directory, active key id)."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)

    # --- reading -------------------------------------------------------------------------------
    def active_kid(self) -> str:
        active = self.directory / "ACTIVE"
        if not active.exists():
            raise KeyError_(f"no active key in the key ring {self.directory} (run: manage.py policy_keys --rotate)")
        return active.read_text().strip()

    def active(self) -> ManagedKey:
        return self.get(self.active_kid())

    def get(self, kid: str) -> ManagedKey:
        if not KID_RE.match(kid):
            raise KeyError_("malformed key id")
        path = self.directory / f"{kid}.key"
        if not path.exists():
            raise KeyError_(f"unknown key id {kid}")
        return ManagedKey(kid=kid, master=base64.b64decode(path.read_text().strip()))

    def kids(self) -> list[str]:
        return sorted(p.stem for p in self.directory.glob("*.key")) if self.directory.exists() else []

    # --- writing (callers audit: services.key_rotate) -------------------------------------------
    def rotate(self) -> str:
        """Create a new key, make it active and return its id."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        kid = "k" + timezone.now().strftime("%Y%m%d%H%M%S") + "-" + secrets.token_hex(3)
        path = self.directory / f"{kid}.key"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(base64.b64encode(secrets.token_bytes(64)).decode("ascii") + "\n")
        tmp = self.directory / "ACTIVE.tmp"
        tmp.write_text(kid + "\n")
        tmp.replace(self.directory / "ACTIVE")
        return kid

    def ensure(self) -> ManagedKey:
        """The active key, creating the first one in local profiles (never in production)."""
        try:
            return self.active()
        except KeyError_:
            if not getattr(settings, "LOCAL_PROFILE", False):
                raise
            self.rotate()
            return self.active()

    # --- primitives ----------------------------------------------------------------------------
    def hmac_token(self, values: list[str], *, length: int = 20, key: ManagedKey | None = None) -> list[str]:
        key = key or self.ensure()
        sub = key.subkey("hmac")
        prefix = f"tok_{key.kid}_"
        return [prefix + hmac.new(sub, v.encode("utf-8"), hashlib.sha256).hexdigest()[:length] for v in values]

    def encrypt_siv(self, values: list[str], *, key: ManagedKey | None = None) -> list[str]:
        key = key or self.ensure()
        siv = AESSIV(key.subkey("siv"))
        prefix = f"siv:{key.kid}:"
        return [prefix + _b64e(siv.encrypt(v.encode("utf-8"), None)) for v in values]

    def encrypt_gcm(self, values: list[str], *, key: ManagedKey | None = None) -> list[str]:
        key = key or self.ensure()
        gcm = AESGCM(key.subkey("gcm"))
        prefix = f"gcm:{key.kid}:"
        out = []
        for v in values:
            nonce = secrets.token_bytes(12)
            out.append(prefix + _b64e(nonce + gcm.encrypt(nonce, v.encode("utf-8"), None)))
        return out

    def decrypt(self, token: str) -> str:
        """Decrypt an ``siv:`` or ``gcm:`` token. Callers must authorise and audit (services.token_reveal)."""
        match = CIPHER_RE.match(token.strip())
        if not match:
            raise KeyError_("not a Custos ciphertext (expected siv:<kid>:... or gcm:<kid>:...)")
        scheme, kid, body = match.groups()
        key = self.get(kid)
        raw = _b64d(body)
        try:
            if scheme == "siv":
                return AESSIV(key.subkey("siv")).decrypt(raw, None).decode("utf-8")
            return AESGCM(key.subkey("gcm")).decrypt(raw[:12], raw[12:], None).decode("utf-8")
        except Exception as exc:  # InvalidTag and friends: never echo the token
            raise KeyError_("ciphertext does not verify under its key") from exc

    def keyed_hash(self, value: str) -> str:
        """A short keyed hash for logs and audit details (never the value itself)."""
        return self.hmac_token([value], length=16)[0]


def keyring() -> KeyRing:
    directory = getattr(settings, "CUSTOS_POLICY_KEY_DIR", None)
    if not directory:
        raise KeyError_("CUSTOS_POLICY_KEY_DIR is not set: point it at the directory of the policy key ring")
    return KeyRing(Path(directory))
