"""API keys: two scopes, random tokens, only SHA-256 hashes stored.

``secret`` keys may do everything; ``write`` keys only what a browser may (tracking,
recommendations, bundles). The two bootstrap keys from the settings need no CLI step.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import Connection, select, update

from shopsense.clock import utcnow
from shopsense.db.models import api_keys_table as KEYS
from shopsense.errors import NotFound
from shopsense.settings import Settings

Scope = Literal["write", "secret"]
SCOPES: tuple[Scope, ...] = ("write", "secret")
_PREFIX: dict[str, str] = {"write": "ss_wk_", "secret": "ss_sk_"}


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class KeyInfo:
    id: int
    prefix: str
    scope: str
    name: str | None
    created_at: datetime
    revoked_at: datetime | None


def create_key(conn: Connection, scope: Scope, name: str | None = None) -> str:
    """A new key of ``scope``; the key itself is returned once and never stored."""
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {SCOPES}")
    key = _PREFIX[scope] + secrets.token_urlsafe(32)
    conn.execute(
        KEYS.insert().values(
            prefix=key[:12],
            key_hash=hash_key(key),
            scope=scope,
            name=name,
            created_at=utcnow(),
        )
    )
    return key


def list_keys(conn: Connection) -> list[KeyInfo]:
    rows = conn.execute(select(KEYS).order_by(KEYS.c.id)).mappings()
    return [
        KeyInfo(r["id"], r["prefix"], r["scope"], r["name"], r["created_at"], r["revoked_at"])
        for r in rows
    ]


def revoke_key(conn: Connection, key_or_prefix: str) -> int:
    """Revoke by id, full key or printed prefix; answers how many keys were revoked."""
    cond = (
        KEYS.c.id == int(key_or_prefix)
        if key_or_prefix.isdigit()
        else (KEYS.c.key_hash == hash_key(key_or_prefix)) | (KEYS.c.prefix == key_or_prefix)
    )
    result = conn.execute(
        update(KEYS).where(cond & KEYS.c.revoked_at.is_(None)).values(revoked_at=utcnow())
    )
    if result.rowcount == 0:
        raise NotFound(f"no active key matches {key_or_prefix!r}")
    return int(result.rowcount)


def scope_of(conn: Connection, key: str, settings: Settings) -> Scope | None:
    """The scope a presented key grants, or None when it is unknown or revoked."""
    for scope, configured in (("secret", settings.secret_key), ("write", settings.write_key)):
        if configured is not None and hmac.compare_digest(
            key.encode(), configured.get_secret_value().encode()
        ):
            return scope  # type: ignore[return-value]
    row = conn.execute(
        select(KEYS.c.scope).where(KEYS.c.key_hash == hash_key(key), KEYS.c.revoked_at.is_(None))
    ).first()
    return row[0] if row else None


def allows(granted: Scope, needed: Scope) -> bool:
    return granted == "secret" or granted == needed
