"""The HMAC key: from CLIENTELE_HASH_KEY, else a key file (the demo creates one on first run)."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path
from typing import Any

BLOCK_SIZE = 64  # SHA-256 block size in bytes (RFC 2104)


class MissingHashKey(RuntimeError):
    pass


def load_key(key_file: Path | None = None) -> bytes:
    """The key bytes; an environment value wins over the file."""
    value = os.environ.get("CLIENTELE_HASH_KEY")
    if value:
        return value.encode("utf-8")
    path = key_file or (Path(os.environ["CLIENTELE_HASH_KEY_FILE"]) if os.environ.get("CLIENTELE_HASH_KEY_FILE") else None)
    if path is None or not path.exists():
        raise MissingHashKey(
            "No pseudonymisation key: set CLIENTELE_HASH_KEY, or CLIENTELE_HASH_KEY_FILE to a file holding it "
            "(`clientele init-key` creates one)."
        )
    return path.read_bytes().strip()


def create_key_file(path: Path) -> bool:
    """Create a random key file readable by its owner only; False if it already exists."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_hex(32) + "\n")
    return True


def hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    """(K xor ipad, K xor opad): with these, HMAC is two plain SHA-256 calls (see dbt macro pseudonymize)."""
    if len(key) > BLOCK_SIZE:
        key = hashlib.sha256(key).digest()
    key = key.ljust(BLOCK_SIZE, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def set_hmac_pads(conn: Any, pads: tuple[bytes, bytes]) -> None:
    """Put the pads into a DuckDB connection's session variables, where compiled dbt SQL reads them
    (``getvariable('clientele_hmac_inner')``): the key never appears in SQL text."""
    conn.execute("set variable clientele_hmac_inner = ?::BLOB", [pads[0]])
    conn.execute("set variable clientele_hmac_outer = ?::BLOB", [pads[1]])


def pseudonymize(value: str, key: bytes) -> str:
    """The Python twin of the dbt macro, for tests and tools."""
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()
