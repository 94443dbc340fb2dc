"""The checkpoint signing key and the verifier keys Custos trusts.

The signing key is a C2SP/Go note signer key (``PRIVATE+KEY+<name>+<id>+<base64>``) in the file
named by ``CUSTOS_LEDGER_KEY_FILE``; it never enters the database. Trusted verifier keys are its
public key plus the vkeys listed, one a line, in ``CUSTOS_LEDGER_TRUSTED_KEYS_FILE`` (earlier keys,
appended there by ``audit_keygen --force`` on rotation). Keys found in the database are never
trusted: a log rewritten and re-signed by someone with database access fails verification.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from django.conf import settings

from audit import verify_core


class LedgerKeyMissing(RuntimeError):
    """No signing key file: run ``manage.py audit_keygen`` (or set CUSTOS_LEDGER_KEY_FILE)."""


def key_path() -> Path:
    if not settings.CUSTOS_LEDGER_KEY_FILE:
        raise LedgerKeyMissing("CUSTOS_LEDGER_KEY_FILE is not set; it is required to sign checkpoints")
    return Path(settings.CUSTOS_LEDGER_KEY_FILE)


def trusted_keys_path() -> Path | None:
    value = settings.CUSTOS_LEDGER_TRUSTED_KEYS_FILE
    return Path(value) if value else None


def load_signer() -> verify_core.Signer:
    path = key_path()
    if not path.exists():
        raise LedgerKeyMissing(f"ledger key file {path} does not exist; run `manage.py audit_keygen`")
    return verify_core.parse_skey(path.read_text(encoding="ascii"))


def trusted_verifiers() -> list[verify_core.Verifier]:
    """The current key's verifier (if the key file exists) and every previously trusted vkey."""
    out: list[verify_core.Verifier] = []
    with contextlib.suppress(LedgerKeyMissing):
        out.append(load_signer().verifier)
    path = trusted_keys_path()
    if path is not None and path.exists():
        for line in path.read_text(encoding="ascii").splitlines():
            if line.strip() and not line.startswith("#"):
                out.append(verify_core.parse_vkey(line))
    return out


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(text + "\n")
    os.replace(tmp, path)  # atomic: a reader sees the old key or the new one, never half a key


def generate_key(
    *, path: Path | None = None, name: str | None = None, force: bool = False
) -> tuple[verify_core.Signer, str | None]:
    """Write a new signing key; returns it and the retired key's vkey (on rotation) or None.

    Refuses to replace an existing key unless ``force``; on rotation the old public key is first
    appended to the trusted keys file so checkpoints it signed keep verifying.
    """
    path = path or key_path()
    retired = None
    if path.exists():
        if not force:
            raise FileExistsError(str(path))
        old = verify_core.parse_skey(path.read_text(encoding="ascii"))
        retired = old.verifier.vkey
        configured = Path(settings.CUSTOS_LEDGER_KEY_FILE) if settings.CUSTOS_LEDGER_KEY_FILE else None
        trusted = trusted_keys_path() if path == configured else path.with_name(path.name + ".trusted")
        if trusted is not None:
            existing = trusted.read_text(encoding="ascii").splitlines() if trusted.exists() else []
            if retired not in existing:
                with trusted.open("a", encoding="ascii") as handle:
                    handle.write(retired + "\n")
    signer = verify_core.Signer.generate(name or settings.CUSTOS_LEDGER_ORIGIN)
    _write_private(path, signer.skey)
    return signer, retired
