"""The web dashboard's sign-in: a secret-scope key exchanged for a signed session cookie.

The cookie never holds the key. It names which key signed in (``b`` for the bootstrap key
of the settings, else the id of a row of ``api_keys``) and when the session ends, signed with
HMAC-SHA256 under a secret derived from that key's stored hash. Checking a cookie therefore
needs the server's key table: a forged or altered cookie fails, and revoking the key (or
changing the bootstrap key) ends its sessions at once.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass

from sqlalchemy import Connection, select

from shopsense.auth.keys import hash_key, scope_of
from shopsense.db.models import api_keys_table as KEYS
from shopsense.settings import Settings

COOKIE_NAME = "shopsense_ui"
SESSION_SECONDS = 12 * 3600
_VERSION = "v1"
_BOOTSTRAP = "b"


@dataclass(frozen=True)
class SessionKey:
    """The key a session was opened with: its id in the cookie and its stored hash."""

    kid: str
    key_hash: str


def _signature(key_hash: str, payload: str) -> str:
    secret = hmac.new(key_hash.encode(), b"shopsense-ui-session", hashlib.sha256).digest()
    return hmac.new(secret, payload.encode(), hashlib.sha256).hexdigest()


def sign_in(conn: Connection, key: str, settings: Settings) -> SessionKey | None:
    """The session key for a presented key when it grants the secret scope, else None."""
    if scope_of(conn, key, settings) != "secret":
        return None
    configured = settings.secret_key
    if configured is not None and hmac.compare_digest(
        key.encode(), configured.get_secret_value().encode()
    ):
        return SessionKey(_BOOTSTRAP, hash_key(key))
    row = conn.execute(
        select(KEYS.c.id, KEYS.c.key_hash).where(
            KEYS.c.key_hash == hash_key(key), KEYS.c.revoked_at.is_(None)
        )
    ).first()
    return SessionKey(str(row[0]), row[1]) if row else None


def issue(session: SessionKey, now: float | None = None) -> str:
    """A cookie value for ``session``, valid for ``SESSION_SECONDS``."""
    expires = int((time.time() if now is None else now) + SESSION_SECONDS)
    payload = f"{_VERSION}.{session.kid}.{expires}"
    return f"{payload}.{_signature(session.key_hash, payload)}"


def _current_hash(conn: Connection, kid: str, settings: Settings) -> str | None:
    if kid == _BOOTSTRAP:
        configured = settings.secret_key
        return hash_key(configured.get_secret_value()) if configured is not None else None
    if not kid.isdigit():
        return None
    row = conn.execute(
        select(KEYS.c.key_hash).where(
            KEYS.c.id == int(kid), KEYS.c.scope == "secret", KEYS.c.revoked_at.is_(None)
        )
    ).first()
    return str(row[0]) if row else None


def verify(
    conn: Connection, cookie: str | None, settings: Settings, now: float | None = None
) -> bool:
    """Whether ``cookie`` is an unexpired session of a secret key that is still valid."""
    if not cookie:
        return False
    parts = cookie.split(".")
    if len(parts) != 4 or parts[0] != _VERSION or not parts[2].isdigit():
        return False
    _, kid, expires, signature = parts
    if int(expires) < (time.time() if now is None else now):
        return False
    key_hash = _current_hash(conn, kid, settings)
    if key_hash is None:
        return False
    expected = _signature(key_hash, f"{_VERSION}.{kid}.{expires}")
    return hmac.compare_digest(expected.encode(), signature.encode())


__all__ = ["COOKIE_NAME", "SESSION_SECONDS", "SessionKey", "issue", "sign_in", "verify"]
