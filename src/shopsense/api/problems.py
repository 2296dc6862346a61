"""Every error as RFC 9457 ``application/problem+json``, mapped in one place."""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from shopsense.errors import ServiceUnavailable, ShopsenseError

log = logging.getLogger("shopsense.api")
PROBLEM = "application/problem+json"


def _slug(title: str) -> str:
    return "/problems/" + title.lower().replace(" ", "-")


def problem(
    status: int, title: str, detail: str, errors: list[dict[str, Any]] | None = None
) -> JSONResponse:
    body: dict[str, Any] = {"type": _slug(title), "title": title, "status": status}
    body["detail"] = detail
    if errors:
        body["errors"] = errors
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _clean(errors: Any) -> list[dict[str, Any]]:
    return [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type", "")}
        for e in errors
    ]


def install(app: FastAPI) -> None:
    @app.exception_handler(ShopsenseError)
    async def _shopsense(_: Request, exc: ShopsenseError) -> JSONResponse:
        return problem(exc.status, exc.title, exc.detail, exc.errors)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _clean(exc.errors())
        where = ", ".join(".".join(map(str, e["loc"])) + ": " + e["msg"] for e in errors[:3])
        return problem(422, "Validation failed", where or "invalid request", errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {404: "Not found", 405: "Method not allowed"}
        title = titles.get(exc.status_code, "HTTP error")
        return problem(exc.status_code, title, str(exc.detail))

    @app.exception_handler(OperationalError)
    @app.exception_handler(psycopg.OperationalError)
    async def _database(_: Request, exc: Exception) -> JSONResponse:
        log.error("database unavailable: %s", exc)
        err = ServiceUnavailable("the database is unavailable; retry later")
        return problem(err.status, err.title, err.detail)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=exc)
        return problem(500, "Internal server error", "an unexpected error was logged")
