"""Surrogate vaults: random re-identification codes that stay the same across runs and tables.

HIPAA 164.514(c) allows a re-identification code that is not derived from the individual's
information and is kept separately. A vault is a SQLite file in the policy key ring directory
(``<CUSTOS_POLICY_KEY_DIR>/surrogates/<name>.sqlite3``), never in the Custos database. It maps a
keyed digest of each original value (HMAC-SHA256 under a random secret stored in the vault) to a
random token; the original values are not stored. The code given out is the random token.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import os
import re
import sqlite3
from pathlib import Path

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class SurrogateVault:
    def __init__(self, directory: Path, name: str):
        if not NAME_RE.match(name):
            raise ValueError("a vault name is lower-case letters, digits, - and _")
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = directory / f"{name}.sqlite3"
        fresh = not path.exists()
        self.conn = sqlite3.connect(path)
        if fresh:
            os.chmod(path, 0o600)
        self.conn.execute("CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v BLOB)")
        self.conn.execute("CREATE TABLE IF NOT EXISTS codes (digest TEXT PRIMARY KEY, token TEXT NOT NULL)")
        row = self.conn.execute("SELECT v FROM meta WHERE k = 'secret'").fetchone()
        if row is None:
            self.conn.execute("INSERT INTO meta VALUES ('secret', ?)", (os.urandom(32),))
            self.conn.commit()
            row = self.conn.execute("SELECT v FROM meta WHERE k = 'secret'").fetchone()
        self.secret = bytes(row[0])

    def _digest(self, value: str) -> str:
        return hmac.new(self.secret, value.encode("utf-8"), hashlib.sha256).hexdigest()[:32]

    def tokens(self, values: list[str], prefix: str) -> list[str]:
        """The code of each value, new random ones for values never seen."""
        digests = [self._digest(v) for v in values]
        known: dict[str, str] = {}
        for start in range(0, len(digests), 900):
            batch = digests[start : start + 900]
            marks = ",".join("?" * len(batch))
            known.update(self.conn.execute(f"SELECT digest, token FROM codes WHERE digest IN ({marks})", batch))  # noqa: S608 - placeholders
        missing = [d for d in dict.fromkeys(digests) if d not in known]
        if missing:
            raw = binascii.hexlify(os.urandom(8 * len(missing))).decode("ascii")
            fresh = {d: prefix + raw[i * 16 : (i + 1) * 16] for i, d in enumerate(missing)}
            self.conn.executemany("INSERT INTO codes VALUES (?, ?)", fresh.items())
            known.update(fresh)
        return [known[d] for d in digests]

    def close(self) -> None:
        self.conn.commit()
        self.conn.close()
