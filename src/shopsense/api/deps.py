"""Dependencies, so route signatures read as plain types."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shopsense.auth.keys import Scope, allows, scope_of
from shopsense.db.session import Database
from shopsense.errors import Forbidden, Unauthorized
from shopsense.settings import Settings

_bearer = HTTPBearer(auto_error=False, description="A write or secret key.")


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


DbDep = Annotated[Database, Depends(get_db)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _authorize(needed: Scope, credentials: Credentials, db: Database, settings: Settings) -> Scope:
    if credentials is None or not credentials.credentials:
        raise Unauthorized("send 'Authorization: Bearer <key>'")
    with db.read() as conn:
        granted = scope_of(conn, credentials.credentials, settings)
    if granted is None:
        raise Unauthorized("the key is unknown or revoked")
    if not allows(granted, needed):
        raise Forbidden(f"this endpoint needs a {needed} key; a {granted} key was sent")
    return granted


def require_write(credentials: Credentials, db: DbDep, settings: SettingsDep) -> Scope:
    return _authorize("write", credentials, db, settings)


def require_secret(credentials: Credentials, db: DbDep, settings: SettingsDep) -> Scope:
    return _authorize("secret", credentials, db, settings)


WriteKey = Annotated[Scope, Depends(require_write)]
SecretKey = Annotated[Scope, Depends(require_secret)]
